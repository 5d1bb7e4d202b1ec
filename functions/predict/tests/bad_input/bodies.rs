//! Cases that break the body as a whole: truncated, malformed or invalid UTF-8 JSON, empty, huge and deeply nested
//! bodies, wrong content types, a top level that is not an object.

use super::*;

/// Values that are not JSON at all, but sit where a field's value belongs.
pub(crate) const SYNTAX_VALUES: [&str; 26] = [
    "+1",
    "01",
    "00.5",
    ".5",
    "5.",
    "1e",
    "1e+",
    "-",
    "--1",
    "1.2.3",
    "0x10",
    "1_000",
    "1 2",
    "True",
    "False",
    "None",
    "undefined",
    "nul",
    "tru",
    "'1.5'",
    "[1,",
    "{\"a\"}",
    "{1:2}",
    "[1 2]",
    "\"\\x\"",
    "\"\\ud800\"",
];

/// Every prefix of a valid body, at every byte offset.
pub(crate) fn truncated(cases: &mut Cases, base: &Obj, rows: &[Vec<f64>]) {
    let bodies = [
        ("/predict", base.render()),
        ("/predict", base.pretty()),
        ("/predict/batch", batch(&[base.render(), Obj::from_values(&rows[1]).render()])),
    ];
    for (path, body) in bodies {
        for cut in 0..body.len() {
            if body.is_char_boundary(cut) && !body[..cut].trim_end().ends_with('}') {
                cases.refuse(
                    "truncated",
                    format!("{path} cut at byte {cut}"),
                    post(path, body[..cut].into()),
                    Some(400),
                    &[],
                );
            }
        }
    }
}

pub(crate) fn malformed(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "malformed_json";
    for name in FEATURE_NAMES.iter().chain(&["Time", "transaction_id"]) {
        for raw in SYNTAX_VALUES {
            let mut o = base.clone();
            o.set(name, raw);
            cases.refuse(c, format!("{name}: {raw}"), post("/predict", o.render()), Some(400), &[name]);
        }
    }
    let body = base.render();
    let structural: Vec<(String, String)> = vec![
        ("trailing comma".into(), body.replacen('}', ",}", 1)),
        ("extra closing brace".into(), format!("{body}}}")),
        ("missing closing brace".into(), body[..body.len() - 1].into()),
        ("trailing garbage".into(), format!("{body} x")),
        ("two objects".into(), format!("{body}{body}")),
        ("two objects, newline-delimited".into(), format!("{body}\n{body}\n")),
        ("line comment".into(), format!("// a comment\n{body}")),
        ("block comment".into(), format!("/* c */{body}")),
        ("byte order mark".into(), format!("\u{feff}{body}")),
        ("JSONP".into(), format!("callback({body})")),
        ("leading garbage".into(), format!("x{body}")),
        ("NUL after the object".into(), format!("{body}\0")),
        ("NUL inside".into(), body.replacen(',', ",\0", 1)),
        ("line separator outside strings".into(), body.replacen(',', ",\u{2028}", 1)),
        ("raw control character in a key".into(), body.replacen("\"V3\"", "\"V\u{1}3\"", 1)),
        ("raw newline in a key".into(), body.replacen("\"V3\"", "\"V\n3\"", 1)),
        ("unterminated key".into(), body.replacen("\"V3\"", "\"V3", 1)),
        ("single-quoted object".into(), body.replace('"', "'")),
        ("keys without quotes".into(), body.replace('"', "")),
        ("equals instead of colon".into(), body.replace(':', "=")),
        ("semicolons instead of commas".into(), body.replace(',', ";")),
        ("square brackets".into(), body.replace('{', "[").replace('}', "]")),
        ("YAML".into(), base.0.iter().map(|(k, v)| format!("{}: {v}\n", k.trim_matches('"'))).collect()),
        (
            "form encoding".into(),
            base.0.iter().map(|(k, v)| format!("{}={v}", k.trim_matches('"'))).collect::<Vec<_>>().join("&"),
        ),
        ("CSV".into(), base.0.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>().join(",")),
    ];
    for (label, body) in structural {
        cases.refuse(c, label, post("/predict", body), None, &[]);
    }
    // Broken between fields: a missing comma, colon, or quote, at every field.
    for i in 0..base.0.len() {
        let (k, v) = &base.0[i];
        let name = k.trim_matches('"');
        let mut no_comma = base.clone();
        if i + 1 < base.0.len() {
            no_comma.0[i].1 = format!("{v} ");
            let rendered = no_comma.render().replacen(&format!("{v} ,"), &format!("{v} "), 1);
            cases.refuse(c, format!("no comma after {name}"), post("/predict", rendered), Some(400), &[]);
        }
        let no_colon = base.render().replacen(&format!("{k}:"), &format!("{k} "), 1);
        cases.refuse(c, format!("no colon after {name}"), post("/predict", no_colon), Some(400), &[]);
        let unquoted = base.render().replacen(&format!("{k}:"), &format!("{name}:"), 1);
        cases.refuse(c, format!("{name} unquoted"), post("/predict", unquoted), Some(400), &[]);
        let single = base.render().replacen(&format!("{k}:"), &format!("'{name}':"), 1);
        cases.refuse(c, format!("{name} single-quoted"), post("/predict", single), Some(400), &[]);
        let double_colon = base.render().replacen(&format!("{k}:"), &format!("{k}::"), 1);
        cases.refuse(c, format!("{name} double colon"), post("/predict", double_colon), Some(400), &[name]);
    }
    // A random structural character dropped or doubled somewhere in the body.
    let structural_positions: Vec<usize> =
        body.bytes().enumerate().filter(|(_, b)| b"{}[]:,\"".contains(b)).map(|(i, _)| i).collect();
    for n in 0..200 {
        let at = *rng.pick(&structural_positions);
        let mut bytes = body.clone().into_bytes();
        let label = if n % 2 == 0 {
            bytes.remove(at);
            format!("byte {at} ({:?}) dropped", body.as_bytes()[at] as char)
        } else {
            bytes.insert(at, *rng.pick(b"{}[]:,\""));
            format!("byte inserted at {at}")
        };
        let text = String::from_utf8(bytes).unwrap();
        // Usually a syntax error (400), but e.g. a `"` put first makes a string: the wrong shape (422).
        if serde_json::from_str::<Value>(&text).is_err() {
            cases.refuse(c, label, post("/predict", text), None, &[]);
        }
    }
}

pub(crate) fn empty_bodies(cases: &mut Cases) {
    let c = "empty_body";
    for path in ["/predict", "/predict/batch"] {
        for body in ["", " ", "\n", "\r\n", "\t \t", "   \n\n  ", "\u{feff}", "\u{feff} ", "\0", "\u{a0}", "\u{3000}"] {
            cases.refuse(c, format!("{path} {body:?}"), post(path, body.into()), Some(400), &[]);
            cases.refuse(
                c,
                format!("{path} {body:?} base64"),
                post_bytes(path, body.as_bytes().to_vec()),
                Some(400),
                &[],
            );
        }
        cases.refuse(
            c,
            format!("{path} no body at all"),
            Req { payload: Payload::Absent, ..post(path, String::new()) },
            Some(400),
            &[],
        );
    }
}

/// Over the size limit, and under it but built to make the error response or the work huge.
pub(crate) fn huge(cases: &mut Cases, base: &Obj) {
    let c = "huge_body";
    let padded = |total: usize| {
        let body = base.render();
        format!("{}{}", " ".repeat(total - body.len()), body)
    };
    cases.refuse(c, "valid, whitespace-padded to MAX+1", post("/predict", padded(MAX_BODY_BYTES + 1)), Some(413), &[]);
    cases.refuse(c, "valid, padded to 2×MAX", post("/predict", padded(2 * MAX_BODY_BYTES)), Some(413), &[]);
    cases.refuse(c, "MAX+1 of garbage", post("/predict", "x".repeat(MAX_BODY_BYTES + 1)), Some(413), &[]);
    cases.refuse(c, "MAX+1 base64", post_bytes("/predict", padded(MAX_BODY_BYTES + 1).into_bytes()), Some(413), &[]);
    cases.refuse(
        c,
        "MAX+1 batch",
        post("/predict/batch", format!("{}{}", " ".repeat(MAX_BODY_BYTES), batch(&[base.render()]))),
        Some(413),
        &[],
    );
    let mut wrong_type = post("/predict", padded(MAX_BODY_BYTES + 1));
    wrong_type.content_type = Some("text/plain".into());
    cases.refuse(c, "MAX+1 and text/plain", wrong_type, None, &[]);
    let huge_id = format!("{{\"transaction_id\":{}}}", string(&"x".repeat(MAX_BODY_BYTES)));
    cases.refuse(c, "a transaction_id of MAX bytes", post("/predict", huge_id), Some(413), &[]);

    let c = "amplification";
    let limit = MAX_BODY_BYTES - 1024;
    let mut keys = String::from("{");
    for i in 0.. {
        if keys.len() > limit {
            break;
        }
        keys.push_str(&format!("\"k{i}\":0,"));
    }
    keys.pop();
    keys.push('}');
    cases.refuse(c, "~1 MiB of distinct unknown keys", post("/predict", keys), Some(422), &["k0"]);
    let mut near = String::from("{");
    for i in 0.. {
        if near.len() > limit {
            break;
        }
        near.push_str(&format!("\"Amoun{}\":0,", i % 10));
    }
    near.pop();
    near.push('}');
    cases.refuse(c, "~1 MiB of near-miss keys (suggestion work)", post("/predict", near), Some(422), &["Amoun0"]);
    let dup = format!("{{{}}}", vec!["\"V1\":0"; limit / 7].join(","));
    cases.refuse(c, "~1 MiB of one duplicated key", post("/predict", dup), Some(422), &["V1"]);
    let one_key = format!("{{{}:0}}", key(&"V".repeat(limit)));
    cases.refuse(c, "one unknown key of ~1 MiB", post("/predict", one_key), Some(422), &[]);
    let empties = batch(&vec!["{}".to_string(); MAX_BATCH_SIZE]);
    cases.refuse(
        c,
        "a full batch of empty objects",
        post("/predict/batch", empties),
        Some(422),
        &["transactions[0].V1"],
    );
    let all_null = format!("{{{}}}", FEATURE_NAMES.map(|n| format!("\"{n}\":null")).join(","));
    let nulls = batch(&vec![all_null; MAX_BATCH_SIZE]);
    cases.refuse(
        c,
        "a full batch of all-null transactions",
        post("/predict/batch", nulls),
        Some(422),
        &["transactions[0].V1"],
    );
}

pub(crate) fn content_types(cases: &mut Cases, base: &Obj) {
    let c = "content_type";
    let refused = [
        "text/plain",
        "text/json",
        "text/html",
        "application/jsonp",
        "application/json-seq",
        "application/x-json",
        "application/ld+json",
        "application/problem+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=----x",
        "multipart/mixed",
        "application/octet-stream",
        "application/xml",
        "",
        " ",
        ";",
        "; charset=utf-8",
        "application",
        "json",
        "*/*",
        "application/*",
        "charset=utf-8; application/json",
        "application/json, text/plain",
        "application/jso",
        "application/jsonx",
        "applicationjson",
        "application/ json",
        "application\\json",
        "APPLICATION/JSONP",
    ];
    for path in ["/predict", "/predict/batch"] {
        let body = if path == "/predict" { base.render() } else { batch(&[base.render()]) };
        for ct in refused {
            let req = Req { content_type: Some(ct.into()), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path} {ct:?}"), req, Some(415), &[]);
        }
        cases.refuse(
            c,
            format!("{path} no content-type"),
            Req { content_type: None, ..post(path, body.clone()) },
            Some(415),
            &[],
        );
        let req = Req {
            content_type: Some("text/plain".into()),
            payload: Payload::Binary(body.into_bytes()),
            ..post(path, String::new())
        };
        cases.refuse(c, format!("{path} text/plain, base64"), req, Some(415), &[]);
    }
}

pub(crate) fn invalid_utf8(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "invalid_utf8";
    const BAD: [&[u8]; 10] = [
        b"\xff",
        b"\xfe",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\xc3",
        b"\xe2\x82",
        b"\x80",
        b"\xf4\x90\x80\x80",
        b"\xef\xbf",
    ];
    let mut full = base.clone();
    full.set("transaction_id", "\"order-77\"");
    let body = full.render().into_bytes();
    for n in 0..400 {
        let mut bytes = body.clone();
        let at = rng.below(bytes.len());
        let bad = *rng.pick(&BAD);
        let how = if n % 2 == 0 {
            bytes.splice(at..at + 1, bad.iter().copied());
            "replaces"
        } else {
            bytes.splice(at..at, bad.iter().copied());
            "inserted before"
        };
        cases.refuse(c, format!("{bad:x?} {how} byte {at}"), post_bytes("/predict", bytes), Some(400), &[]);
    }
    // Inside a key, a string value, and an unknown key: each bad sequence.
    let text = String::from_utf8(body).unwrap();
    for bad in BAD {
        for (label, anchor) in
            [("key V5", "\"V5\""), ("transaction_id value", "order-77"), ("key Amount", "\"Amount\"")]
        {
            let at = text.find(anchor).unwrap() + 2;
            let mut bytes = text.clone().into_bytes();
            bytes.splice(at..at, bad.iter().copied());
            cases.refuse(c, format!("{bad:x?} in {label}"), post_bytes("/predict", bytes), Some(400), &[]);
        }
        let mut bytes = b"{\"".to_vec();
        bytes.extend_from_slice(bad);
        bytes.extend_from_slice(b"\":1}");
        cases.refuse(c, format!("{bad:x?} as a whole key"), post_bytes("/predict", bytes), Some(400), &[]);
        let mut bytes = batch(std::slice::from_ref(&text)).into_bytes();
        bytes.splice(5..5, bad.iter().copied());
        cases.refuse(c, format!("{bad:x?} in the batch key"), post_bytes("/predict/batch", bytes), Some(400), &[]);
    }
    // UTF-16 and Latin-1 encodings of a valid body.
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    cases.refuse(c, "UTF-16LE body", post_bytes("/predict", utf16), Some(400), &[]);
    let mut latin1 = base.clone();
    latin1.set("transaction_id", "\"caf\u{e9}\"");
    let bytes: Vec<u8> = latin1.render().chars().map(|ch| ch as u32 as u8).collect();
    cases.refuse(c, "Latin-1 body", post_bytes("/predict", bytes), Some(400), &[]);
}

pub(crate) fn deep_nesting(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "deep_nesting";
    let nest = |depth: usize, object: bool| {
        if object {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        } else {
            format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
        }
    };
    let unclosed = |depth: usize, object: bool| if object { "{\"a\":".repeat(depth) } else { "[".repeat(depth) };
    for depth in [2, 64, 126, 127, 128, 129, 200, 1_000, 10_000, 100_000] {
        for object in [false, true] {
            let kind = if object { "objects" } else { "arrays" };
            let random_feature = FEATURE_NAMES[rng.below(FEATURE_NAMES.len())];
            for field in ["V1", "Amount", random_feature, "Time", "transaction_id"] {
                let mut o = base.clone();
                o.set(field, nest(depth, object));
                cases.refuse(c, format!("{field}: {depth} {kind}"), post("/predict", o.render()), None, &[field]);
                let mut o = base.clone();
                o.set(field, unclosed(depth, object));
                cases.refuse(
                    c,
                    format!("{field}: {depth} unclosed {kind}"),
                    post("/predict", o.render()),
                    Some(400),
                    &[field],
                );
            }
            let mut o = base.clone();
            o.insert(5, key("extra"), nest(depth, object));
            cases.refuse(c, format!("unknown key: {depth} {kind}"), post("/predict", o.render()), None, &["extra"]);
            cases.refuse(c, format!("top level: {depth} {kind}"), post("/predict", nest(depth, object)), None, &[]);
            cases.refuse(
                c,
                format!("top level: {depth} unclosed {kind}"),
                post("/predict", unclosed(depth, object)),
                None,
                &[],
            );
            cases.refuse(
                c,
                format!("batch item: {depth} {kind}"),
                post("/predict/batch", batch(&[nest(depth, object)])),
                None,
                &[],
            );
            let mut o = base.clone();
            o.set("V2", nest(depth, object));
            cases.refuse(
                c,
                format!("batch item V2: {depth} {kind}"),
                post("/predict/batch", batch(&[base.render(), o.render()])),
                None,
                &["transactions[1].V2"],
            );
            cases.refuse(
                c,
                format!("transactions: {depth} {kind}"),
                post("/predict/batch", format!("{{\"transactions\":{}}}", nest(depth, object))),
                None,
                &[],
            );
        }
    }
}

pub(crate) fn top_level(cases: &mut Cases, base: &Obj) {
    let c = "top_level";
    let valid = base.render();
    let bodies = [
        "[]".to_string(),
        format!("[{valid}]"),
        "null".into(),
        "true".into(),
        "false".into(),
        "0".into(),
        "42".into(),
        "-1".into(),
        "1.5".into(),
        "1e309".into(),
        "NaN".into(),
        "\"str\"".into(),
        string(&valid),
        "[[]]".into(),
        format!("[{valid},{valid}]"),
        "\"\"".into(),
        format!("[[{valid}]]"),
        format!("[[{valid}], 1]"),
    ];
    for path in ["/predict", "/predict/batch"] {
        for body in &bodies {
            let shown: String = body.chars().take(30).collect();
            cases.refuse(c, format!("{path} {shown}"), post(path, body.clone()), None, &[]);
        }
    }
}

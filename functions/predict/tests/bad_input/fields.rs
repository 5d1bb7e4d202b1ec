//! Cases that break one field of a transaction: wrong types, numbers as strings, non-finite values, missing,
//! duplicated, misspelled and unknown fields. The response must name the field.

use super::*;

pub(crate) const NON_FINITE: [&str; 26] = [
    "NaN",
    "nan",
    "NAN",
    "-NaN",
    "+NaN",
    "Infinity",
    "-Infinity",
    "+Infinity",
    "infinity",
    "INFINITY",
    "inf",
    "-inf",
    "+inf",
    "Inf",
    "INF",
    "1e309",
    "-1e309",
    "1e400",
    "2e308",
    "1.8e308",
    "1e39",
    "-1e39",
    "3.5e38",
    "-3.5e38",
    "3.4028236e38",
    "123456789012345678901234567890123456789012",
];

pub(crate) const WRONG_TYPES: [&str; 10] =
    ["null", "true", "false", "\"x\"", "\"\"", "[]", "[1.5]", "{}", "{\"value\":1.5}", "[null]"];

pub(crate) const NUMBER_STRINGS: [&str; 9] =
    ["\"1.5\"", "\" 1.5 \"", "\"-0.5\"", "\"1e5\"", "\"0\"", "\"149.62\"", "\"1,5\"", "\"0x10\"", "\"١٢\""];

/// Misspellings of `name` that are not themselves a known field.
pub(crate) fn misspellings(name: &str) -> Vec<String> {
    let mut out = vec![
        name.to_lowercase(),
        name.to_uppercase(),
        format!(" {name}"),
        format!("{name} "),
        format!("\t{name}"),
        format!("{name}\n"),
        format!("{}\u{200b}{}", &name[..1], &name[1..]),
        format!("{} {}", &name[..1], &name[1..]),
        format!("Ｖ{}", &name[1..]),
        format!("{name}_"),
        format!("{name}{name}"),
    ];
    match name.strip_prefix('V') {
        Some(digits) => {
            let n: i32 = digits.parse().unwrap();
            out.extend([
                format!("V{}", n - 28),
                format!("V{}", n + 28),
                format!("V0{n}"),
                format!("V{n}.0"),
                format!("V-{n}"),
            ]);
            out.extend(["V0".to_string(), "V29".to_string(), "V".to_string()]);
        }
        None => out.extend(["Amonut", "Ammount", "Amt", "amount_usd", "Amounts", "\u{410}mount"].map(String::from)),
    }
    out.retain(|m| !is_known_field(m));
    out.sort();
    out.dedup();
    out
}

pub(crate) fn wrong_types(cases: &mut Cases, base: &Obj) {
    let c = "wrong_type";
    for name in FEATURE_NAMES {
        for raw in WRONG_TYPES {
            let mut o = base.clone();
            o.set(name, raw);
            cases.refuse(c, format!("{name}: {raw}"), post("/predict", o.render()), Some(422), &[name]);
        }
    }
    let long = |n: usize| string(&"x".repeat(n));
    let optional: Vec<(&str, String)> =
        ["\"0\"", "\"now\"", "null", "true", "[]", "{}", "-1", "-0.001", "[0]", "\"2026-11-22T00:00:00Z\""]
            .iter()
            .map(|v| ("Time", v.to_string()))
            .chain(
                ["1", "1.5", "-7", "null", "true", "false", "[]", "{}", "[\"a\"]", "{\"id\":\"a\"}"]
                    .iter()
                    .map(|v| ("transaction_id", v.to_string())),
            )
            .chain([
                ("transaction_id", long(MAX_TRANSACTION_ID_BYTES + 1)),
                ("transaction_id", long(10_000)),
                ("transaction_id", string(&"é".repeat(MAX_TRANSACTION_ID_BYTES / 2 + 1))),
            ])
            .collect();
    for (name, raw) in optional {
        let mut o = base.clone();
        o.set(name, raw.clone());
        let shown: String = raw.chars().take(40).collect();
        cases.refuse(c, format!("{name}: {shown}"), post("/predict", o.render()), Some(422), &[name]);
    }
}

pub(crate) fn numbers_as_strings(cases: &mut Cases, base: &Obj) {
    for name in FEATURE_NAMES.iter().chain(&["Time"]) {
        for raw in NUMBER_STRINGS {
            let mut o = base.clone();
            o.set(name, raw);
            cases.refuse(
                "number_as_string",
                format!("{name}: {raw}"),
                post("/predict", o.render()),
                Some(422),
                &[name],
            );
        }
        let mut o = base.clone();
        let original = if *name == "Time" { "406".to_string() } else { base.value(name) };
        o.set(name, string(&original));
        cases.refuse(
            "number_as_string",
            format!("{name}: its own value quoted"),
            post("/predict", o.render()),
            Some(422),
            &[name],
        );
    }
}

pub(crate) fn non_finite(cases: &mut Cases, base: &Obj) {
    for name in FEATURE_NAMES.iter().chain(&["Time"]) {
        for spelling in NON_FINITE {
            // Time is a float64: 1e39 and friends are legal there.
            let finite_f64 = spelling.parse::<f64>().is_ok_and(f64::is_finite);
            for raw in [spelling.to_string(), string(spelling)] {
                if *name == "Time" && finite_f64 && !raw.starts_with('"') && !spelling.starts_with('-') {
                    continue;
                }
                let mut o = base.clone();
                o.set(name, raw.clone());
                cases.refuse("non_finite", format!("{name}: {raw}"), post("/predict", o.render()), None, &[name]);
            }
        }
    }
}

pub(crate) fn missing(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "missing_field";
    for name in FEATURE_NAMES {
        let mut o = base.clone();
        o.remove(name);
        cases.refuse(c, format!("without {name}"), post("/predict", o.render()), Some(422), &[name]);
    }
    cases.refuse(c, "{}", post("/predict", "{}".into()), Some(422), &FEATURE_NAMES);
    cases.refuse(
        c,
        "only optional fields",
        post("/predict", "{\"Time\":1,\"transaction_id\":\"a\"}".into()),
        Some(422),
        &FEATURE_NAMES,
    );
    for n in 0..150 {
        let mut names = FEATURE_NAMES.to_vec();
        rng.shuffle(&mut names);
        names.truncate(2 + n % 27);
        let mut o = base.clone();
        for name in &names {
            o.remove(name);
        }
        cases.refuse(c, format!("without {}", names.join(",")), post("/predict", o.render()), Some(422), &names);
    }
}

pub(crate) fn duplicates(cases: &mut Cases, base: &Obj) {
    let c = "duplicate_field";
    let mut full = base.clone();
    full.set("Time", "406").set("transaction_id", "\"tx-1\"");
    for name in FEATURE_NAMES.iter().chain(&["Time", "transaction_id"]) {
        let value = full.value(name);
        let variants = [
            ("same value, at the end", full.0.len(), value.clone()),
            ("other value, at the start", 0, if *name == "transaction_id" { "\"tx-2\"".into() } else { "1.0".into() }),
            ("null, in the middle", full.0.len() / 2, "null".into()),
        ];
        for (label, at, raw) in variants {
            let mut o = full.clone();
            o.insert(at, key(name), raw);
            cases.refuse(c, format!("{name} twice: {label}"), post("/predict", o.render()), Some(422), &[name]);
        }
        // The same key, once written with escapes.
        let escaped: String = name.chars().map(|ch| format!("\\u{:04x}", ch as u32)).collect();
        let mut o = full.clone();
        o.insert(full.0.len(), format!("\"{escaped}\""), value.clone());
        cases.refuse(c, format!("{name} twice, once escaped"), post("/predict", o.render()), Some(422), &[name]);
        let mut o = full.clone();
        for _ in 0..50 {
            o.insert(0, key(name), value.clone());
        }
        cases.refuse(c, format!("{name} 51 times"), post("/predict", o.render()), Some(422), &[name]);
    }
}

pub(crate) fn misspelled(cases: &mut Cases, base: &Obj) {
    let c = "misspelled_field";
    for name in FEATURE_NAMES {
        for wrong in misspellings(name) {
            let mut o = base.clone();
            o.rename(name, key(&wrong));
            cases.refuse(c, format!("{name} as {wrong:?}"), post("/predict", o.render()), Some(422), &[&wrong, name]);
        }
    }
    for (name, wrongs) in [
        ("Time", &["time", "TIME", "Time ", "timestamp", "Tim", "Times"][..]),
        ("transaction_id", &["transactionId", "transaction-id", "TransactionID", "transaction_ID", "txn_id", "id"][..]),
    ] {
        for wrong in wrongs {
            let mut o = base.clone();
            o.set(name, if name == "Time" { "406" } else { "\"tx-1\"" });
            o.rename(name, key(wrong));
            cases.refuse(c, format!("{name} as {wrong:?}"), post("/predict", o.render()), Some(422), &[wrong]);
        }
    }
}

pub(crate) fn unknown_fields(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "unknown_field";
    let long_key = "k".repeat(1_000);
    let keys: Vec<&str> = vec![
        "merchant",
        "Class",
        "class",
        "label",
        "V30",
        "V100",
        "",
        "  ",
        "id",
        "Time2",
        "__proto__",
        "constructor",
        "prototype",
        "amount_usd",
        "fraud",
        "is_fraud",
        "expected_probability",
        "fraud_probability",
        "🙂",
        "\u{0}",
        "a\"b",
        "back\\slash",
        "V1.0",
        "$where",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        &long_key,
    ];
    let values = ["1", "\"x\"", "null", "{\"a\":[1,{\"b\":null}]}", "[1,2,3]"];
    for k in &keys {
        for v in values {
            let mut o = base.clone();
            let at = rng.below(o.0.len() + 1);
            o.insert(at, key(k), v.into());
            let shown: String = k.chars().take(30).collect();
            cases.refuse(c, format!("{shown:?}: {v}"), post("/predict", o.render()), Some(422), &[k]);
        }
    }
    const POOL: [char; 20] = [
        'a', 'Z', 'q', '7', '0', ' ', '_', '-', '.', 'é', '中', '🙂', '\0', '\n', '"', '\\', '\u{200b}', 'V', 'm', '$',
    ];
    let mut made = 0;
    while made < 300 {
        let k: String = (0..1 + rng.below(16)).map(|_| *rng.pick(&POOL)).collect();
        if is_known_field(&k) {
            continue;
        }
        let mut o = base.clone();
        let at = rng.below(o.0.len() + 1);
        o.insert(at, key(&k), rng.pick(&values).to_string());
        cases.refuse(c, format!("random key {k:?}"), post("/predict", o.render()), Some(422), &[&k]);
        made += 1;
    }
}

//! A generated bad-input suite: well over 10,000 hostile or broken requests, built deterministically
//! (seeded) from a real held-out transaction (the first row of `model/parity.csv`), fed to the predict
//! handler as real API Gateway HTTP API (payload v2) events.
//!
//! Every refused case must come back as a 4xx (never a 5xx, never a panic) with a small JSON body
//! `{error, detail}` whose detail is not empty, and — where the case breaks one particular field — the
//! detail or `fields[]` must name that field. A second test checks that valid-but-unusual inputs are
//! accepted. Set `FRAUDWATCH_BAD_INPUT_SEED` to explore other seeds; `--nocapture` shows the summary.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::schema::{feature_index, FEATURE_NAMES, MAX_TRANSACTION_ID_BYTES};
use fraudwatch_model::locate_onnx_runtime;
use futures::FutureExt;
use predict::api::{App, MAX_BATCH_SIZE, MAX_BODY_BYTES};
use predict::log_sink::{Delivery, PredictionLogSink};
use serde_json::{json, Value};

/// Error responses stay small whatever the input (Lambda refuses responses over 6 MB, which API Gateway
/// would turn into a 5xx, and a huge echo is an amplification vector).
const MAX_ERROR_RESPONSE_BYTES: usize = 256 * 1024;
const MIN_CASES: usize = 10_000;
const DEFAULT_SEED: u64 = 0x00F4_A0D0_5EED;

#[derive(Default)]
struct KeptRecords(Mutex<Vec<PredictionLogRecord>>);

impl PredictionLogSink for KeptRecords {
    async fn submit(&self, records: &[PredictionLogRecord]) -> Delivery {
        self.0.lock().unwrap().extend_from_slice(records);
        Delivery { queued: records.len(), ..Delivery::default() }
    }
}

impl KeptRecords {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// The app as production builds it from the embedded model: with its explainer.
fn app() -> App<KeptRecords> {
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    App::new(model, KeptRecords::default()).with_explainer(Some(predict::embedded_explainer().unwrap()))
}

// ---------------------------------------------------------------------------------------------------
// Deterministic randomness (SplitMix64): the same seed always generates the same cases.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }
}

fn seed() -> u64 {
    std::env::var("FRAUDWATCH_BAD_INPUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED)
}

// ---------------------------------------------------------------------------------------------------
// Transactions as raw JSON text, so that invalid JSON, duplicate keys and escaped keys can be written.

/// A JSON object as (raw key including quotes, raw value) pairs, in order.
#[derive(Clone)]
struct Obj(Vec<(String, String)>);

fn key(name: &str) -> String {
    serde_json::to_string(name).unwrap()
}

fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn number(x: f64) -> String {
    Value::from(x).to_string()
}

impl Obj {
    fn from_values(values: &[f64]) -> Obj {
        Obj(FEATURE_NAMES.iter().zip(values).map(|(n, v)| (key(n), number(*v))).collect())
    }
    fn position(&self, name: &str) -> Option<usize> {
        let k = key(name);
        self.0.iter().position(|(raw, _)| *raw == k)
    }
    /// Replaces the value of `name`, or appends the field.
    fn set(&mut self, name: &str, raw_value: impl Into<String>) -> &mut Self {
        let raw_value = raw_value.into();
        match self.position(name) {
            Some(i) => self.0[i].1 = raw_value,
            None => self.0.push((key(name), raw_value)),
        }
        self
    }
    fn value(&self, name: &str) -> String {
        self.0[self.position(name).unwrap()].1.clone()
    }
    fn remove(&mut self, name: &str) -> &mut Self {
        let i = self.position(name).unwrap();
        self.0.remove(i);
        self
    }
    fn rename(&mut self, name: &str, raw_key: String) -> &mut Self {
        let i = self.position(name).unwrap();
        self.0[i].0 = raw_key;
        self
    }
    fn insert(&mut self, at: usize, raw_key: String, raw_value: String) -> &mut Self {
        self.0.insert(at.min(self.0.len()), (raw_key, raw_value));
        self
    }
    fn render(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", fields.join(","))
    }
    /// Rendered with random (valid) whitespace between every token.
    fn render_spaced(&self, rng: &mut Rng) -> String {
        const WS: [&str; 6] = ["", "", " ", "\n", "\t", "\r\n  "];
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            for part in [*rng.pick(&WS), k, *rng.pick(&WS), ":", *rng.pick(&WS), v, *rng.pick(&WS)] {
                s.push_str(part);
            }
        }
        s.push('}');
        s
    }
    fn pretty(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|(k, v)| format!("  {k}: {v}")).collect();
        format!("{{\n{}\n}}\n", fields.join(",\n"))
    }
}

fn batch(items: &[String]) -> String {
    format!("{{\"transactions\":[{}]}}", items.join(","))
}

/// Real held-out transactions (feature values in model order).
fn parity_rows(n: usize) -> Vec<Vec<f64>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/parity.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let columns: Vec<usize> =
        FEATURE_NAMES.iter().map(|name| headers.iter().position(|h| h == *name).unwrap()).collect();
    reader
        .records()
        .take(n)
        .map(|r| {
            let r = r.unwrap();
            columns.iter().map(|&i| r[i].parse::<f64>().unwrap()).collect()
        })
        .collect()
}

fn is_known_field(name: &str) -> bool {
    feature_index(name).is_some() || name == "Time" || name == "transaction_id"
}

// ---------------------------------------------------------------------------------------------------
// Requests and expectations.

enum Payload {
    Text(String),
    /// Sent base64-encoded (`isBase64Encoded: true`), which is how arbitrary bytes reach the handler.
    Binary(Vec<u8>),
    /// No `body` in the event at all.
    Absent,
}

struct Req {
    method: String,
    path: String,
    /// `rawQueryString`, as API Gateway passes it (still percent-encoded).
    query: String,
    content_type: Option<String>,
    payload: Payload,
}

fn post(path: &str, body: String) -> Req {
    Req {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        content_type: Some("application/json".into()),
        payload: Payload::Text(body),
    }
}

fn post_bytes(path: &str, body: Vec<u8>) -> Req {
    Req { payload: Payload::Binary(body), ..post(path, String::new()) }
}

enum Expect {
    /// A 4xx (exactly `status` if given) whose detail or `fields[]` names every one of `named`.
    Refused { status: Option<u16>, named: Vec<String> },
    /// 200 with `n` predictions (`None`: a single-transaction response).
    Accepted(Option<usize>),
}

struct Case {
    category: &'static str,
    label: String,
    req: Req,
    expect: Expect,
}

#[derive(Default)]
struct Cases(Vec<Case>);

impl Cases {
    fn refuse(
        &mut self,
        category: &'static str,
        label: impl Into<String>,
        req: Req,
        status: Option<u16>,
        named: &[&str],
    ) {
        let named = named.iter().map(|s| s.to_string()).collect();
        self.0.push(Case { category, label: label.into(), req, expect: Expect::Refused { status, named } });
    }
    fn refuse_named(
        &mut self,
        category: &'static str,
        label: impl Into<String>,
        req: Req,
        status: Option<u16>,
        named: Vec<String>,
    ) {
        self.0.push(Case { category, label: label.into(), req, expect: Expect::Refused { status, named } });
    }
    fn accept(&mut self, category: &'static str, label: impl Into<String>, req: Req, n: Option<usize>) {
        self.0.push(Case { category, label: label.into(), req, expect: Expect::Accepted(n) });
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request as API Gateway would deliver it, through lambda_http's own event parser.
fn event(template: &Value, req: &Req) -> lambda_http::Request {
    let mut e = template.clone();
    e["rawPath"] = json!(req.path);
    e["rawQueryString"] = json!(req.query);
    e["requestContext"]["http"]["path"] = json!(req.path);
    e["requestContext"]["http"]["method"] = json!(req.method);
    let headers = e["headers"].as_object_mut().unwrap();
    match &req.content_type {
        Some(ct) => {
            headers.insert("content-type".into(), json!(ct));
        }
        None => {
            headers.remove("content-type");
        }
    }
    let object = e.as_object_mut().unwrap();
    match &req.payload {
        Payload::Text(s) => {
            object.insert("body".into(), json!(s));
            object.insert("isBase64Encoded".into(), json!(false));
        }
        Payload::Binary(b) => {
            object.insert("body".into(), json!(base64(b)));
            object.insert("isBase64Encoded".into(), json!(true));
        }
        Payload::Absent => {
            object.remove("body");
            object.insert("isBase64Encoded".into(), json!(false));
        }
    }
    lambda_http::request::from_str(&e.to_string()).expect("a well-formed API Gateway v2 event")
}

fn template() -> Value {
    serde_json::from_str(include_str!("fixtures/apigw-v2-request.json")).unwrap()
}

/// Whether the error response names `want`: a `fields[].field` equal to it (or, for very long names,
/// a shown prefix ending in `…`), or the detail quoting it as `` `want` `` (a syntax error's location
/// may continue into the value: `` `V1[0]… ``).
fn names(body: &Value, detail: &str, want: &str) -> bool {
    let in_fields = body["fields"].as_array().is_some_and(|fields| {
        fields.iter().any(|f| {
            let got = f["field"].as_str().unwrap_or_default();
            got == want || got.strip_suffix('…').is_some_and(|prefix| want.starts_with(prefix))
        })
    });
    in_fields || ['`', '[', '.'].iter().any(|end| detail.contains(&format!("`{want}{end}")))
}

/// Checks one response; `Err` says what is wrong with it.
fn check(expect: &Expect, status: u16, content_type: &str, raw: &[u8]) -> Result<(), String> {
    let body: Value = serde_json::from_slice(raw).map_err(|e| {
        format!("status {status}: body is not JSON ({e}): {:?}", String::from_utf8_lossy(&raw[..raw.len().min(300)]))
    })?;
    if !content_type.starts_with("application/json") {
        return Err(format!("status {status}: content-type {content_type:?}"));
    }
    match expect {
        Expect::Accepted(n) => {
            if status != 200 {
                return Err(format!("expected 200, got {status}: {body}"));
            }
            let probabilities: Vec<&Value> = match n {
                None => vec![&body],
                Some(n) => {
                    let predictions = body["predictions"].as_array().ok_or("no predictions[]")?;
                    if predictions.len() != *n {
                        return Err(format!("{} predictions, expected {n}", predictions.len()));
                    }
                    predictions.iter().collect()
                }
            };
            for p in probabilities {
                let x = p["fraud_probability"].as_f64().ok_or_else(|| format!("no fraud_probability: {p}"))?;
                if !(0.0..=1.0).contains(&x) {
                    return Err(format!("fraud_probability {x}"));
                }
            }
            Ok(())
        }
        Expect::Refused { status: want_status, named } => {
            if !(400..500).contains(&status) || want_status.is_some_and(|s| s != status) {
                return Err(format!(
                    "expected {}, got {status}: {body}",
                    want_status.map_or("4xx".into(), |s| s.to_string())
                ));
            }
            if raw.len() > MAX_ERROR_RESPONSE_BYTES {
                return Err(format!("status {status}: error response is {} bytes", raw.len()));
            }
            let error = body["error"].as_str().unwrap_or_default();
            let detail = body["detail"].as_str().unwrap_or_default();
            if error.is_empty() || detail.trim().is_empty() {
                return Err(format!("status {status}: no error code or empty detail: {body}"));
            }
            if let Some(fields) = body.get("fields") {
                let ok = fields.as_array().is_some_and(|fs| {
                    !fs.is_empty()
                        && fs
                            .iter()
                            .all(|f| f["field"].is_string() && f["problem"].as_str().is_some_and(|p| !p.is_empty()))
                });
                if !ok {
                    return Err(format!("malformed fields[]: {fields}"));
                }
            }
            for want in named {
                if !names(&body, detail, want) {
                    let shown: String = body.to_string().chars().take(600).collect();
                    return Err(format!("status {status}: the response does not name {want:?}: {shown}"));
                }
            }
            Ok(())
        }
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    failures: usize,
    statuses: BTreeMap<u16, usize>,
    slowest: Duration,
}

/// Runs every case; returns the per-category tally and the failure messages.
async fn run_all(app: &App<KeptRecords>, cases: Vec<Case>) -> (BTreeMap<&'static str, Tally>, Vec<String>) {
    let template = template();
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let request = event(&template, &case.req);
        let logged_before = app.log_sink.len();
        let started = Instant::now();
        let outcome = AssertUnwindSafe(app.handle(request)).catch_unwind().await;
        let elapsed = started.elapsed();
        let tally = tallies.entry(case.category).or_default();
        tally.cases += 1;
        tally.slowest = tally.slowest.max(elapsed);
        let result = match outcome {
            Err(_) => Err("the handler panicked".to_string()),
            Ok(response) => {
                let status = response.status().as_u16();
                *tally.statuses.entry(status).or_default() += 1;
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let logged = app.log_sink.len() - logged_before;
                check(&case.expect, status, &content_type, response.body().as_ref()).and_then(|()| {
                    let want = match case.expect {
                        Expect::Refused { .. } => 0,
                        Expect::Accepted(n) => n.unwrap_or(1),
                    };
                    if logged == want {
                        Ok(())
                    } else {
                        Err(format!("{logged} records logged, expected {want}"))
                    }
                })
            }
        };
        if let Err(e) = result {
            tally.failures += 1;
            failures.push(format!("[{}] {}: {e}", case.category, case.label));
        }
    }
    (tallies, failures)
}

fn summarise(title: &str, tallies: &BTreeMap<&'static str, Tally>) -> usize {
    println!("\n{title}");
    println!("{:<22} {:>7} {:>9} {:>10}  statuses", "category", "cases", "failures", "slowest");
    let mut total = 0;
    for (category, t) in tallies {
        let statuses: Vec<String> = t.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        println!(
            "{category:<22} {:>7} {:>9} {:>8.1}ms  {}",
            t.cases,
            t.failures,
            t.slowest.as_secs_f64() * 1e3,
            statuses.join(" ")
        );
        total += t.cases;
    }
    println!("{:<22} {total:>7}", "TOTAL");
    total
}

fn report(failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    // A few examples of each category, so that one noisy category does not hide the others.
    let mut shown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in failures {
        let category = f.split(']').next().unwrap_or_default();
        let examples = shown.entry(category).or_default();
        if examples.len() < 4 {
            examples.push(f);
        }
    }
    let text: Vec<&str> = shown.into_values().flatten().collect();
    panic!("{} case(s) failed; examples:\n{}", failures.len(), text.join("\n"));
}

// ---------------------------------------------------------------------------------------------------
// The generators. `named` paths are those the response must mention.

const NON_FINITE: [&str; 26] = [
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

/// Values that are not JSON at all, but sit where a field's value belongs.
const SYNTAX_VALUES: [&str; 26] = [
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

const WRONG_TYPES: [&str; 10] =
    ["null", "true", "false", "\"x\"", "\"\"", "[]", "[1.5]", "{}", "{\"value\":1.5}", "[null]"];

const NUMBER_STRINGS: [&str; 9] =
    ["\"1.5\"", "\" 1.5 \"", "\"-0.5\"", "\"1e5\"", "\"0\"", "\"149.62\"", "\"1,5\"", "\"0x10\"", "\"١٢\""];

/// Misspellings of `name` that are not themselves a known field.
fn misspellings(name: &str) -> Vec<String> {
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

/// Every prefix of a valid body, at every byte offset.
fn truncated(cases: &mut Cases, base: &Obj, rows: &[Vec<f64>]) {
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

fn malformed(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
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

fn wrong_types(cases: &mut Cases, base: &Obj) {
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

fn numbers_as_strings(cases: &mut Cases, base: &Obj) {
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

fn non_finite(cases: &mut Cases, base: &Obj) {
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

fn missing(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
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

fn duplicates(cases: &mut Cases, base: &Obj) {
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

fn misspelled(cases: &mut Cases, base: &Obj) {
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

fn unknown_fields(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
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

fn empty_bodies(cases: &mut Cases) {
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
fn huge(cases: &mut Cases, base: &Obj) {
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

fn content_types(cases: &mut Cases, base: &Obj) {
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

fn batches(cases: &mut Cases, base: &Obj, rows: &[Vec<f64>], rng: &mut Rng) {
    let c = "batch";
    let small = Obj::from_values(&[0.0; 29]).render();
    for n in [MAX_BATCH_SIZE + 1, MAX_BATCH_SIZE + 2, 1_000, 3_000] {
        cases.refuse(
            c,
            format!("{n} transactions"),
            post("/predict/batch", batch(&vec![small.clone(); n])),
            Some(422),
            &[],
        );
    }
    cases.refuse(c, "no transactions", post("/predict/batch", batch(&[])), Some(422), &[]);
    let shapes = [
        ("transactions null", "{\"transactions\":null}".to_string()),
        ("no transactions key", "{}".to_string()),
        ("transactions an object", format!("{{\"transactions\":{}}}", base.render())),
        ("transactions a string", "{\"transactions\":\"[]\"}".to_string()),
        ("transactions a number", "{\"transactions\":1}".to_string()),
        ("an extra top-level key", format!("{{\"transactions\":[{}],\"extra\":1}}", base.render())),
        ("Transactions", format!("{{\"Transactions\":[{}]}}", base.render())),
        ("transactions twice", format!("{{\"transactions\":[{0}],\"transactions\":[{0}]}}", base.render())),
        ("a bare array", format!("[{}]", base.render())),
        ("a single transaction", base.render()),
        ("nested batches", format!("{{\"transactions\":[{}]}}", batch(&[base.render()]))),
    ];
    for (label, body) in shapes {
        cases.refuse(c, label, post("/predict/batch", body), Some(422), &[]);
    }
    cases.refuse(
        c,
        "a batch posted to /predict",
        post("/predict", batch(&[base.render()])),
        Some(422),
        &["transactions"],
    );

    // One bad item among good ones, at every position.
    type Fault = Box<dyn Fn(&mut Obj) -> Option<String>>;
    let faults: Vec<(&str, Fault, u16)> = vec![
        (
            "without V3",
            Box::new(|o: &mut Obj| {
                o.remove("V3");
                Some("V3".into())
            }),
            422,
        ),
        (
            "V3 a string",
            Box::new(|o: &mut Obj| {
                o.set("V3", "\"0.5\"");
                Some("V3".into())
            }),
            422,
        ),
        (
            "V3 null",
            Box::new(|o: &mut Obj| {
                o.set("V3", "null");
                Some("V3".into())
            }),
            422,
        ),
        (
            "Amount negative",
            Box::new(|o: &mut Obj| {
                o.set("Amount", "-0.01");
                Some("Amount".into())
            }),
            422,
        ),
        (
            "an unknown key",
            Box::new(|o: &mut Obj| {
                o.insert(3, key("merchant"), "1".into());
                Some("merchant".into())
            }),
            422,
        ),
        (
            "V9 twice",
            Box::new(|o: &mut Obj| {
                o.insert(0, key("V9"), "1".into());
                Some("V9".into())
            }),
            422,
        ),
        (
            "V7 1e39",
            Box::new(|o: &mut Obj| {
                o.set("V7", "1e39");
                Some("V7".into())
            }),
            422,
        ),
        (
            "Time a string",
            Box::new(|o: &mut Obj| {
                o.set("Time", "\"0\"");
                Some("Time".into())
            }),
            422,
        ),
        (
            "V12 NaN",
            Box::new(|o: &mut Obj| {
                o.set("V12", "NaN");
                Some("V12".into())
            }),
            400,
        ),
        (
            "V12 1e309",
            Box::new(|o: &mut Obj| {
                o.set("V12", "1e309");
                Some("V12".into())
            }),
            400,
        ),
        (
            "V12 deeply nested",
            Box::new(|o: &mut Obj| {
                o.set("V12", "[".repeat(500));
                Some("V12".into())
            }),
            400,
        ),
        (
            "empty object",
            Box::new(|o: &mut Obj| {
                o.0.clear();
                Some("V1".into())
            }),
            422,
        ),
    ];
    let items: Vec<Obj> = rows.iter().take(5).map(|r| Obj::from_values(r)).collect();
    for (label, fault, status) in &faults {
        for at in 0..items.len() {
            let mut bad = items[at].clone();
            let field = fault(&mut bad);
            let mut rendered: Vec<String> = items.iter().map(Obj::render).collect();
            rendered[at] = bad.render();
            let named: Vec<String> = field.map(|f| format!("transactions[{at}].{f}")).into_iter().collect();
            cases.refuse_named(
                c,
                format!("item {at} of 5: {label}"),
                post("/predict/batch", batch(&rendered)),
                Some(*status),
                named,
            );
        }
    }
    for raw_item in ["null", "42", "\"x\"", "[]", "[1,2]", "true"] {
        for at in 0..3 {
            let mut rendered: Vec<String> = items.iter().take(3).map(Obj::render).collect();
            rendered[at] = raw_item.into();
            cases.refuse(
                c,
                format!("item {at} of 3 is {raw_item}"),
                post("/predict/batch", batch(&rendered)),
                Some(422),
                &[],
            );
        }
    }
    // A full-size batch with one bad item somewhere.
    let full: Vec<String> = (0..MAX_BATCH_SIZE).map(|i| Obj::from_values(&rows[i % rows.len()]).render()).collect();
    for _ in 0..12 {
        let at = rng.below(MAX_BATCH_SIZE);
        let (label, fault, status) = &faults[rng.below(faults.len())];
        let mut bad = Obj::from_values(&rows[at % rows.len()]);
        let field = fault(&mut bad);
        let mut rendered = full.clone();
        rendered[at] = bad.render();
        let named: Vec<String> = field.map(|f| format!("transactions[{at}].{f}")).into_iter().collect();
        cases.refuse_named(
            c,
            format!("item {at} of {MAX_BATCH_SIZE}: {label}"),
            post("/predict/batch", batch(&rendered)),
            Some(*status),
            named,
        );
    }
    let _ = base;
}

fn invalid_utf8(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
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

fn deep_nesting(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
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

fn methods_and_paths(cases: &mut Cases, base: &Obj) {
    let c = "method_path";
    let body = base.render();
    for path in ["/predict", "/predict/batch", "/predict/", "/predict/batch/"] {
        for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "post", "Post", "FOO"] {
            let req = Req { method: method.into(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{method} {path}"), req, Some(405), &[]);
        }
    }
    for path in ["/", "/health", "/model"] {
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            let req = Req { method: method.into(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{method} {path}"), req, Some(405), &[]);
        }
    }
    let long = format!("/{}", "a".repeat(4_000));
    let unknown = [
        "/predict2",
        "/Predict",
        "/PREDICT",
        "/predict/batch/extra",
        "/predict/batch2",
        "/predictions",
        "/predict/../health",
        "/predict%2Fbatch",
        "/health/x",
        "/models",
        "/v1/predict",
        "/api/predict",
        "//predict",
        "/predict/./batch",
        "/.env",
        "/admin",
        "/%00",
        "/predict;jsessionid=1",
        "/predict%20",
        "/%E2%80%8Bpredict",
        "/predict/batch%00",
        "/predict//batch",
        "/..",
        "/model/../predict",
        &long,
    ];
    for path in unknown {
        for method in ["GET", "POST"] {
            let shown: String = path.chars().take(40).collect();
            cases.refuse(
                c,
                format!("{method} {shown}"),
                Req { method: method.into(), ..post(path, body.clone()) },
                Some(404),
                &[],
            );
        }
    }
}

fn top_level(cases: &mut Cases, base: &Obj) {
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

/// Query strings the predict routes refuse: `explain` with any value but true/false, given twice or empty, and
/// any other parameter (percent-encoded, unicode, huge, empty names), alone or next to a valid `explain`. As
/// API Gateway passes them: percent-encoded (lambda_http cannot build a request whose query holds characters a
/// URI may not, such as a raw space or non-ASCII).
fn query_parameters(cases: &mut Cases, base: &Obj, rng: &mut Rng) {
    let c = "query_parameters";
    let body = base.render();
    let bad_values = [
        "yes",
        "no",
        "1",
        "0",
        "TRUE",
        "True",
        "False",
        "t",
        "on",
        "",
        "%20true",
        "true%20",
        "+true",
        "tru",
        "truee",
        "null",
        "%00",
        "%FF",
        "%ZZ",
        "true%00",
        "%F0%9F%99%82",
        "%22true%22",
        "%5Btrue%5D",
    ];
    for path in ["/predict", "/predict/batch"] {
        for value in bad_values {
            let req = Req { query: format!("explain={value}"), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path}?explain={value}"), req, Some(400), &["explain"]);
        }
        for query in
            ["explain", "explain=", "explain=true&explain=true", "explain=true&explain=false", "explain&explain"]
        {
            let req = Req { query: query.into(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path}?{query}"), req, Some(400), &["explain"]);
        }
        for name in ["explian", "Explain", "EXPLAIN", "explain_", "debug", "reasons", "top", "v", "x1"] {
            for query in [format!("{name}=true"), format!("explain=true&{name}=1"), format!("{name}&explain=false")] {
                let req = Req { query: query.clone(), ..post(path, body.clone()) };
                cases.refuse(c, format!("{path}?{query}"), req, Some(400), &[name]);
            }
        }
        // Names that are not plain text: a 400 whose detail is short whatever the name.
        let long = "n".repeat(10_000);
        for query in ["=true", "&&=&", "%3D=true", "%26=1", "%00=1", "%FF%FE=1", "a%20b=1", "%F0%9F%99%82=1", &long] {
            let req = Req { query: query.to_string(), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path}?{}", query.chars().take(20).collect::<String>()), req, Some(400), &[]);
        }
        for n in 0..40 {
            let mut pairs: Vec<String> =
                (0..1 + rng.below(6)).map(|_| format!("p{}={}", rng.below(100), rng.below(100))).collect();
            if rng.chance(50) {
                pairs.insert(rng.below(pairs.len() + 1), "explain=true".into());
            }
            let req = Req { query: pairs.join("&"), ..post(path, body.clone()) };
            cases.refuse(c, format!("{path} random #{n}"), req, Some(400), &[]);
        }
    }
}

/// A random mix of one to four faults on distinct fields, in random formatting, sometimes inside a batch.
fn random_multi_fault(cases: &mut Cases, rows: &[Vec<f64>], rng: &mut Rng, count: usize) {
    let c = "random_multi_fault";
    let targets: Vec<&str> = FEATURE_NAMES.iter().copied().chain(["Time", "transaction_id"]).collect();
    for n in 0..count {
        let row = rng.below(rows.len());
        let mut o = Obj::from_values(&rows[row]);
        if rng.chance(50) {
            o.set("Time", number(rng.below(172_792) as f64));
        }
        if rng.chance(50) {
            o.set("transaction_id", string(&format!("tx-{n}")));
        }
        rng.shuffle(&mut o.0);
        let mut chosen = targets.clone();
        rng.shuffle(&mut chosen);
        chosen.truncate(1 + rng.below(4));
        let mut named: Vec<String> = Vec::new();
        let mut syntax_fields: Vec<String> = Vec::new();
        let mut labels = Vec::new();
        for target in chosen {
            let optional = target == "Time" || target == "transaction_id";
            if o.position(target).is_none() {
                o.set(target, if target == "Time" { "0".into() } else { string("tx") });
            }
            let fault = rng.below(9);
            let label = match fault {
                0 => {
                    let raw = *rng.pick(&WRONG_TYPES);
                    let raw = if target == "transaction_id" && raw.starts_with('"') { "1.5" } else { raw };
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                1 if target != "transaction_id" => {
                    let raw = *rng.pick(&NUMBER_STRINGS);
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                2 if target != "transaction_id" => {
                    let raw = *rng.pick(&NON_FINITE[..20]);
                    o.set(target, raw);
                    syntax_fields.push(target.into());
                    format!("{target}={raw}")
                }
                3 if !optional => {
                    let raw = *rng.pick(&["1e39", "-1e39", "3.5e38", "-3.5e38"]);
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                4 if !optional => {
                    o.remove(target);
                    named.push(target.into());
                    format!("no {target}")
                }
                5 => {
                    let at = rng.below(o.0.len() + 1);
                    let value = o.value(target);
                    o.insert(at, key(target), value);
                    named.push(target.into());
                    format!("{target} twice")
                }
                6 if !optional => {
                    let wrongs = misspellings(target);
                    let wrong = rng.pick(&wrongs).clone();
                    o.rename(target, key(&wrong));
                    named.push(wrong.clone());
                    named.push(target.into());
                    format!("{target} as {wrong:?}")
                }
                7 if target == "Amount" || target == "Time" => {
                    let raw = *rng.pick(&["-0.01", "-1", "-1e-30", "-149.62"]);
                    o.set(target, raw);
                    named.push(target.into());
                    format!("{target}={raw}")
                }
                _ => {
                    let raw = *rng.pick(&SYNTAX_VALUES);
                    o.set(target, raw);
                    syntax_fields.push(target.into());
                    format!("{target}={raw}")
                }
            };
            labels.push(label);
        }
        if rng.chance(30) {
            let k = format!("extra_{}", rng.below(1000));
            let at = rng.below(o.0.len() + 1);
            o.insert(at, key(&k), "1".into());
            named.push(k);
        }
        let rendered = if rng.chance(50) { o.render() } else { o.render_spaced(rng) };
        // A syntax error stops parsing at the first one in body order: only that field can be named.
        let first_syntax =
            o.0.iter()
                .map(|(k, _)| serde_json::from_str::<String>(k).unwrap())
                .find(|k| syntax_fields.contains(k) && o.position(k).is_some());
        // Every fault in `syntax_fields` is a JSON syntax error (400); without one, field errors (422).
        let (status, named) = match first_syntax {
            Some(field) => (400, vec![field]),
            None => (422, named),
        };
        let in_batch = rng.chance(30);
        let (path, body, named) = if in_batch {
            let others = 1 + rng.below(4);
            let at = rng.below(others + 1);
            let mut items: Vec<String> =
                (0..others).map(|i| Obj::from_values(&rows[(row + 1 + i) % rows.len()]).render()).collect();
            items.insert(at, rendered);
            let named = named.into_iter().map(|f| format!("transactions[{at}].{f}")).collect();
            ("/predict/batch", batch(&items), named)
        } else {
            ("/predict", rendered, named)
        };
        cases.refuse_named(c, format!("#{n} {path}: {}", labels.join(", ")), post(path, body), Some(status), named);
    }
}

// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn generated_bad_inputs_are_refused_with_a_clear_4xx_naming_the_field() {
    let started = Instant::now();
    let app = app();
    let rows = parity_rows(64);
    let base = Obj::from_values(&rows[0]);
    let mut rng = Rng(seed());
    let mut cases = Cases::default();
    truncated(&mut cases, &base, &rows);
    malformed(&mut cases, &base, &mut rng);
    wrong_types(&mut cases, &base);
    numbers_as_strings(&mut cases, &base);
    non_finite(&mut cases, &base);
    missing(&mut cases, &base, &mut rng);
    duplicates(&mut cases, &base);
    misspelled(&mut cases, &base);
    unknown_fields(&mut cases, &base, &mut rng);
    empty_bodies(&mut cases);
    huge(&mut cases, &base);
    content_types(&mut cases, &base);
    batches(&mut cases, &base, &rows, &mut rng);
    invalid_utf8(&mut cases, &base, &mut rng);
    deep_nesting(&mut cases, &base, &mut rng);
    methods_and_paths(&mut cases, &base);
    top_level(&mut cases, &base);
    query_parameters(&mut cases, &base, &mut rng);
    let systematic = cases.0.len();
    random_multi_fault(&mut cases, &rows, &mut rng, (MIN_CASES + 2_000).saturating_sub(systematic).max(2_000));
    let generated = started.elapsed();

    let (tallies, failures) = run_all(&app, cases.0).await;
    let total = summarise(
        &format!("bad inputs (seed {:#x}), generated in {generated:.1?}, total {:.1?}", seed(), started.elapsed()),
        &tallies,
    );
    report(&failures);
    assert!(total >= MIN_CASES, "only {total} cases generated");
    assert_eq!(app.log_sink.len(), 0, "refused requests are never logged");
}

#[tokio::test]
async fn valid_but_unusual_inputs_are_accepted() {
    let app = app();
    let rows = parity_rows(MAX_BATCH_SIZE);
    let base = Obj::from_values(&rows[0]);
    let mut rng = Rng(seed() ^ 1);
    let mut cases = Cases::default();
    let c = "accepted_edge";
    let mut with = |label: &str, edit: &dyn Fn(&mut Obj)| {
        let mut o = base.clone();
        edit(&mut o);
        cases.accept(c, label, post("/predict", o.render()), None);
    };
    with("as is", &|_| {});
    for amount in ["0", "0.0", "-0.0", "-0", "0e0", "0E-10", "1e-320", "-1e-50", "3.4028234e38", "12345678901234567890"]
    {
        with(&format!("Amount {amount}"), &|o| {
            o.set("Amount", amount);
        });
    }
    with("negative V values everywhere", &|o| {
        for name in &FEATURE_NAMES[..28] {
            o.set(name, "-3.25");
        }
    });
    with("integers everywhere", &|o| {
        for (name, v) in FEATURE_NAMES.iter().zip(&rows[0]) {
            o.set(name, format!("{}", v.round() as i64));
        }
    });
    with("exponent notation everywhere", &|o| {
        for (name, v) in FEATURE_NAMES.iter().zip(&rows[0]) {
            o.set(name, format!("{v:e}"));
        }
    });
    for raw in ["1e-5", "1E-5", "1.5e+2", "-2.5E+1", "1e-45", "1e-50", "-3.4028234e38", "3.4028234e38", "-0.0"] {
        with(&format!("V1 {raw}"), &|o| {
            o.set("V1", raw);
        });
    }
    for (label, raw) in
        [("Time 0", "0"), ("Time 1e39 (float64)", "1e39"), ("Time integer", "172792"), ("Time 1e300", "1e300")]
    {
        with(label, &|o| {
            o.set("Time", raw);
        });
    }
    let max_id = string(&"x".repeat(MAX_TRANSACTION_ID_BYTES));
    let multibyte_id = string(&"é".repeat(MAX_TRANSACTION_ID_BYTES / 2));
    for (label, raw) in [
        ("empty transaction_id", "\"\"".to_string()),
        ("transaction_id of the maximum length", max_id),
        ("multibyte transaction_id at the maximum", multibyte_id),
        ("transaction_id with escapes", "\"a\\\"b\\\\c\\u00e9\\n\"".to_string()),
        ("transaction_id with emoji", string("🙂-order")),
    ] {
        with(label, &|o| {
            o.set("transaction_id", raw.clone());
        });
    }
    with("every key unicode-escaped", &|o| {
        for (k, _) in o.0.iter_mut() {
            let name = serde_json::from_str::<String>(k).unwrap();
            *k = format!("\"{}\"", name.chars().map(|ch| format!("\\u{:04X}", ch as u32)).collect::<String>());
        }
    });
    with("\\u0056\\u0031 and \\u0041mount", &|o| {
        o.rename("V1", "\"\\u0056\\u0031\"".into());
        o.rename("Amount", "\"\\u0041mount\"".into());
    });
    for n in 0..20 {
        let mut o = base.clone();
        rng.shuffle(&mut o.0);
        let body = if n % 2 == 0 { o.render() } else { o.render_spaced(&mut rng) };
        cases.accept(c, format!("shuffled #{n}"), post("/predict", body), None);
    }
    cases.accept(c, "pretty-printed", post("/predict", base.pretty()), None);
    cases.accept(c, "surrounded by whitespace", post("/predict", format!(" \n\t{}\r\n ", base.render())), None);
    cases.accept(c, "base64-encoded body", post_bytes("/predict", base.render().into_bytes()), None);
    let body = base.render();
    cases.accept(
        c,
        "padded to exactly MAX_BODY_BYTES",
        post("/predict", format!("{}{body}", " ".repeat(MAX_BODY_BYTES - body.len()))),
        None,
    );
    cases.accept(c, "trailing slash", post("/predict/", base.render()), None);
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/JSON; charset=utf-8",
        "Application/Json",
        "APPLICATION/JSON",
        "application/json;charset=UTF-8",
        "application/json ; charset=utf-8",
        " application/json",
        "application/json; charset=utf-8; foo=bar",
    ] {
        cases.accept(
            c,
            format!("content-type {ct:?}"),
            Req { content_type: Some(ct.into()), ..post("/predict", base.render()) },
            None,
        );
    }
    cases.accept(c, "a batch of one", post("/predict/batch", batch(&[base.render()])), Some(1));
    let full: Vec<String> = rows.iter().map(|r| Obj::from_values(r).render()).collect();
    assert_eq!(full.len(), MAX_BATCH_SIZE);
    cases.accept(c, "a batch of exactly MAX_BATCH_SIZE", post("/predict/batch", batch(&full)), Some(MAX_BATCH_SIZE));
    let shuffled: Vec<String> = rows
        .iter()
        .take(10)
        .map(|r| {
            let mut o = Obj::from_values(r);
            rng.shuffle(&mut o.0);
            o.render_spaced(&mut rng)
        })
        .collect();
    cases.accept(c, "a batch of shuffled, spaced items", post("/predict/batch", batch(&shuffled)), Some(10));
    cases.accept(
        c,
        "a batch with the key escaped",
        post("/predict/batch", format!("{{\"\\u0074ransactions\":[{}]}}", base.render())),
        Some(1),
    );
    for query in ["explain=true", "explain=false", "explain=tru%65", "", "&", "explain=true&"] {
        cases.accept(c, format!("?{query}"), Req { query: query.into(), ..post("/predict", base.render()) }, None);
    }
    cases.accept(
        c,
        "a batch of exactly MAX_BATCH_SIZE, every one explained",
        Req { query: "explain=true".into(), ..post("/predict/batch", batch(&full)) },
        Some(MAX_BATCH_SIZE),
    );

    let (tallies, failures) = run_all(&app, cases.0).await;
    let total = summarise("valid edge inputs", &tallies);
    report(&failures);
    assert!(total >= 60, "{total}");
}

//! Requests and expectations: the cases, the API Gateway events they become, the checks of each answer and the tally.

use super::*;
use predict::test_util::ApiGatewayEvent;

pub(crate) enum Payload {
    Text(String),
    /// Sent base64-encoded (`isBase64Encoded: true`), which is how arbitrary bytes reach the handler.
    Binary(Vec<u8>),
    /// No `body` in the event at all.
    Absent,
}

pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    /// `rawQueryString`, as API Gateway passes it (still percent-encoded).
    pub(crate) query: String,
    pub(crate) content_type: Option<String>,
    pub(crate) payload: Payload,
}

pub(crate) fn post(path: &str, body: String) -> Req {
    Req {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        content_type: Some("application/json".into()),
        payload: Payload::Text(body),
    }
}

pub(crate) fn post_bytes(path: &str, body: Vec<u8>) -> Req {
    Req { payload: Payload::Binary(body), ..post(path, String::new()) }
}

pub(crate) enum Expect {
    /// A 4xx (exactly `status` if given) whose detail or `fields[]` names every one of `named`.
    Refused { status: Option<u16>, named: Vec<String> },
    /// 200 with `n` predictions (`None`: a single-transaction response).
    Accepted(Option<usize>),
}

pub(crate) struct Case {
    pub(crate) category: &'static str,
    pub(crate) label: String,
    pub(crate) req: Req,
    pub(crate) expect: Expect,
}

#[derive(Default)]
pub(crate) struct Cases(pub(crate) Vec<Case>);

impl Cases {
    pub(crate) fn refuse(
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
    pub(crate) fn refuse_named(
        &mut self,
        category: &'static str,
        label: impl Into<String>,
        req: Req,
        status: Option<u16>,
        named: Vec<String>,
    ) {
        self.0.push(Case { category, label: label.into(), req, expect: Expect::Refused { status, named } });
    }
    pub(crate) fn accept(&mut self, category: &'static str, label: impl Into<String>, req: Req, n: Option<usize>) {
        self.0.push(Case { category, label: label.into(), req, expect: Expect::Accepted(n) });
    }
}

pub(crate) fn base64(bytes: &[u8]) -> String {
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
pub(crate) fn event(req: &Req) -> lambda_http::Request {
    let event =
        ApiGatewayEvent::new(&req.method, &req.path).query(&req.query).content_type(req.content_type.as_deref());
    match &req.payload {
        Payload::Text(s) => event.body(s),
        Payload::Binary(b) => event.base64_body(&base64(b)),
        Payload::Absent => event,
    }
    .request()
}

/// Whether the error response names `want`: a `fields[].field` equal to it (or, for very long names,
/// a shown prefix ending in `…`), or the detail quoting it as `` `want` `` (a syntax error's location
/// may continue into the value: `` `V1[0]… ``).
pub(crate) fn names(body: &Value, detail: &str, want: &str) -> bool {
    let in_fields = body["fields"].as_array().is_some_and(|fields| {
        fields.iter().any(|f| {
            let got = f["field"].as_str().unwrap_or_default();
            got == want || got.strip_suffix('…').is_some_and(|prefix| !prefix.is_empty() && want.starts_with(prefix))
        })
    });
    in_fields || ['`', '[', '.'].iter().any(|end| detail.contains(&format!("`{want}{end}")))
}

/// Checks one response; `Err` says what is wrong with it.
pub(crate) fn check(expect: &Expect, status: u16, content_type: &str, raw: &[u8]) -> Result<(), String> {
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
pub(crate) struct Tally {
    pub(crate) cases: usize,
    pub(crate) failures: usize,
    pub(crate) statuses: BTreeMap<u16, usize>,
    pub(crate) slowest: Duration,
}

/// Runs every case; returns the per-category tally and the failure messages.
pub(crate) async fn run_all(app: &App<KeptRecords>, cases: Vec<Case>) -> (BTreeMap<&'static str, Tally>, Vec<String>) {
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let request = event(&case.req);
        let logged_before = app.log_sink.0.lock().unwrap().len();
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
                let logged = app.log_sink.0.lock().unwrap().len() - logged_before;
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

pub(crate) fn summarise(title: &str, tallies: &BTreeMap<&'static str, Tally>) -> usize {
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

pub(crate) fn report(failures: &[String]) {
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

//! The transaction schema: the single source of truth for the model's 29 features, their order, and
//! what makes a scoring request valid.
//!
//! Requests are flat JSON objects shaped like a row of the Kaggle data set:
//! `{"V1": -1.35, ..., "V28": -0.02, "Amount": 149.62, "Time": 0, "transaction_id": "abc"}`.
//!
//! Rules (each broken rule is reported, all at once, naming the field):
//! - every one of the 29 features is present exactly once, as a JSON number (a number written as a
//!   string is refused, never coerced);
//! - the value is finite once converted to the model's float32 (`1e39` overflows float32 and is refused);
//! - `Amount` is ≥ 0;
//! - `Time` (optional) is a finite number ≥ 0, `transaction_id` (optional) a string of at most 128 bytes;
//! - any other field is refused, with a suggestion when it looks like a misspelt feature. A caller who
//!   misspells `V14` as `v14` learns so, instead of the model silently scoring a missing value.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Number of model features.
pub const FEATURE_COUNT: usize = 29;

/// The model's input features, in the order of the ONNX input tensor's columns.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12", "V13", "V14", "V15", "V16", "V17",
    "V18", "V19", "V20", "V21", "V22", "V23", "V24", "V25", "V26", "V27", "V28", "Amount",
];

/// Index of `Amount` in [`FEATURE_NAMES`].
pub const AMOUNT_INDEX: usize = 28;

/// Longest accepted caller-supplied `transaction_id`, in bytes.
pub const MAX_TRANSACTION_ID_BYTES: usize = 128;

/// One feature vector, in [`FEATURE_NAMES`] order.
pub type Features = [f32; FEATURE_COUNT];

/// The position of `name` in [`FEATURE_NAMES`].
pub fn feature_index(name: &str) -> Option<usize> {
    // The names are V1..V28 then Amount: parse instead of scanning, this runs 29 times per request.
    if name == "Amount" {
        return Some(AMOUNT_INDEX);
    }
    let digits = name.strip_prefix('V')?;
    if digits.starts_with('0') {
        return None;
    }
    match digits.parse::<usize>() {
        Ok(n @ 1..=28) => Some(n - 1),
        _ => None,
    }
}

/// A validated transaction, ready to score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    pub features: Features,
    /// Seconds since the first transaction of the data set (informational, not a model feature).
    pub time: Option<f64>,
    /// The caller's own id, echoed back and logged.
    pub transaction_id: Option<String>,
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's path, e.g. `V14` or `transactions[3].Amount`.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Why a body could not be read as a scoring request.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    /// Not JSON at all (syntax error, truncated, invalid UTF-8, nested too deep).
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not the shape of a request (e.g. an array where an object belongs).
    #[error("body has the wrong shape: {0}")]
    WrongShape(String),
    /// The right shape, but one or more fields are missing or invalid.
    #[error("{} invalid field(s): {}", .0.len(), join_field_errors(.0))]
    InvalidFields(Vec<FieldError>),
    /// A batch with more transactions than allowed, or none.
    #[error("batch must hold 1 to {max} transactions, got {got}")]
    BatchSize { got: usize, max: usize },
}

fn join_field_errors(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl From<serde_json::Error> for RequestError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => RequestError::WrongShape(e.to_string()),
            Category::Syntax | Category::Eof | Category::Io => RequestError::MalformedJson(e.to_string()),
        }
    }
}

/// Parses and validates one transaction from a JSON body.
pub fn parse_transaction(body: &[u8]) -> Result<Transaction, RequestError> {
    let checked: CheckedTransaction = serde_json::from_slice(body)?;
    checked.into_result("").map_err(RequestError::InvalidFields)
}

/// Parses and validates a batch body `{"transactions": [ {...}, ... ]}` of at most `max` transactions.
/// Field errors are reported for every transaction at once, as `transactions[i].FIELD`.
pub fn parse_batch(body: &[u8], max: usize) -> Result<Vec<Transaction>, RequestError> {
    let batch: CheckedBatch = serde_json::from_slice(body)?;
    let got = batch.transactions.len();
    if got == 0 || got > max {
        return Err(RequestError::BatchSize { got, max });
    }
    let mut transactions = Vec::with_capacity(got);
    let mut errors = Vec::new();
    for (i, checked) in batch.transactions.into_iter().enumerate() {
        match checked.into_result(&format!("transactions[{i}].")) {
            Ok(t) => transactions.push(t),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(transactions)
    } else {
        Err(RequestError::InvalidFields(errors))
    }
}

/// A transaction object read field by field, keeping every problem instead of stopping at the first.
struct CheckedTransaction {
    features: [Option<f32>; FEATURE_COUNT],
    time: Option<f64>,
    transaction_id: Option<String>,
    errors: Vec<FieldError>,
}

impl CheckedTransaction {
    fn into_result(self, path: &str) -> Result<Transaction, Vec<FieldError>> {
        let mut errors = self.errors;
        let mut features = [0f32; FEATURE_COUNT];
        for (i, value) in self.features.iter().enumerate() {
            match value {
                Some(v) => features[i] = *v,
                // Only complain about a missing feature if it was not already reported as invalid.
                None if !errors.iter().any(|e| e.field == FEATURE_NAMES[i]) => errors.push(FieldError {
                    field: FEATURE_NAMES[i].to_string(),
                    problem: "is required but missing".to_string(),
                }),
                None => {}
            }
        }
        if !errors.is_empty() {
            for e in &mut errors {
                e.field.insert_str(0, path);
            }
            return Err(errors);
        }
        Ok(Transaction { features, time: self.time, transaction_id: self.transaction_id })
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a feature's JSON value; `Err` is the problem to report.
fn feature_value(index: usize, value: &Value) -> Result<f32, String> {
    let Value::Number(n) = value else {
        let hint = match value {
            Value::String(s) if s.trim().parse::<f64>().is_ok() => " (write the number without quotes)",
            _ => "",
        };
        return Err(format!("must be a JSON number, got {}{hint}", json_type_name(value)));
    };
    let wide = n.as_f64().ok_or_else(|| "is not representable as a number".to_string())?;
    let narrow = wide as f32;
    if !narrow.is_finite() {
        return Err(format!("{wide} is outside the float32 range the model accepts (about ±3.4e38)"));
    }
    if index == AMOUNT_INDEX && narrow < 0.0 {
        return Err(format!("must be ≥ 0, got {wide}"));
    }
    Ok(narrow)
}

/// The known field whose name is closest to `unknown`, if it is plausibly a typo of it.
fn suggest_field(unknown: &str) -> Option<&'static str> {
    let optional = ["Time", "transaction_id"];
    let candidates = FEATURE_NAMES.iter().chain(optional.iter()).copied();
    let lower = unknown.trim().to_ascii_lowercase();
    if let Some(exact) = candidates.clone().find(|c| c.to_ascii_lowercase() == lower) {
        return Some(exact);
    }
    candidates
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 1 || (*d <= 2 && c.len() > 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

impl<'de> Deserialize<'de> for CheckedTransaction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TransactionVisitor)
    }
}

struct TransactionVisitor;

impl<'de> Visitor<'de> for TransactionVisitor {
    type Value = CheckedTransaction;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with the 29 features V1..V28 and Amount")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = CheckedTransaction {
            features: [None; FEATURE_COUNT],
            time: None,
            transaction_id: None,
            errors: Vec::new(),
        };
        let mut seen = [false; FEATURE_COUNT + 2];
        let problem = |out: &mut CheckedTransaction, field: &str, problem: String| {
            out.errors.push(FieldError { field: field.to_string(), problem });
        };
        // Keys may be escaped in JSON, so they are read as owned strings when needed (Cow).
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value: Value = map.next_value()?;
            let slot = match key.as_ref() {
                "Time" => FEATURE_COUNT,
                "transaction_id" => FEATURE_COUNT + 1,
                name => {
                    match feature_index(name) {
                        Some(i) => i,
                        None => {
                            let hint = match suggest_field(name) {
                            Some(known) => format!("is not a known field; did you mean `{known}`?"),
                            None => "is not a known field (expected V1..V28, Amount, and optionally Time, transaction_id)".to_string(),
                        };
                            problem(&mut out, name, hint);
                            continue;
                        }
                    }
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                problem(&mut out, &key, "appears more than once".to_string());
                continue;
            }
            match slot {
                i if i < FEATURE_COUNT => match feature_value(i, &value) {
                    Ok(v) => out.features[i] = Some(v),
                    Err(p) => problem(&mut out, &key, p),
                },
                s if s == FEATURE_COUNT => match value.as_f64() {
                    Some(t) if t >= 0.0 => out.time = Some(t),
                    Some(t) => problem(&mut out, "Time", format!("must be ≥ 0, got {t}")),
                    None => problem(&mut out, "Time", format!("must be a JSON number, got {}", json_type_name(&value))),
                },
                _ => match value {
                    Value::String(s) if s.len() <= MAX_TRANSACTION_ID_BYTES => out.transaction_id = Some(s),
                    Value::String(s) => problem(
                        &mut out,
                        "transaction_id",
                        format!("must be at most {MAX_TRANSACTION_ID_BYTES} bytes, got {}", s.len()),
                    ),
                    other => {
                        problem(&mut out, "transaction_id", format!("must be a string, got {}", json_type_name(&other)))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// `{"transactions": [...]}`; any other top-level key is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckedBatch {
    #[serde(deserialize_with = "deserialize_transactions")]
    transactions: Vec<CheckedTransaction>,
}

fn deserialize_transactions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CheckedTransaction>, D::Error> {
    struct ListVisitor;
    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<CheckedTransaction>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of transaction objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(t) = seq.next_element()? {
                out.push(t);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(ListVisitor).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            m.insert(name.to_string(), json!(i as f64 * 0.5 - 3.0));
        }
        m.insert("Amount".into(), json!(149.62));
        m
    }

    fn body(m: &serde_json::Map<String, Value>) -> Vec<u8> {
        serde_json::to_vec(m).unwrap()
    }

    fn field_errors(r: Result<Transaction, RequestError>) -> Vec<FieldError> {
        match r {
            Err(RequestError::InvalidFields(e)) => e,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn feature_index_matches_the_name_table() {
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            assert_eq!(feature_index(name), Some(i), "{name}");
        }
        for bad in ["V0", "V29", "V01", "v1", "amount", "V", "", "V1 ", "Time"] {
            assert_eq!(feature_index(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_complete_transaction_parses_in_feature_order() {
        let mut m = valid();
        m.insert("Time".into(), json!(406));
        m.insert("transaction_id".into(), json!("tx-1"));
        let t = parse_transaction(&body(&m)).unwrap();
        assert_eq!(t.features[0], -3.0);
        assert_eq!(t.features[27], 27.0 * 0.5 - 3.0);
        assert_eq!(t.features[AMOUNT_INDEX], 149.62f32);
        assert_eq!(t.time, Some(406.0));
        assert_eq!(t.transaction_id.as_deref(), Some("tx-1"));
    }

    #[test]
    fn a_missing_feature_is_named_and_never_defaults_to_zero() {
        let mut m = valid();
        m.remove("V14");
        let errors = field_errors(parse_transaction(&body(&m)));
        assert_eq!(errors, vec![FieldError { field: "V14".into(), problem: "is required but missing".into() }]);
    }

    #[test]
    fn a_misspelt_feature_is_refused_with_a_suggestion() {
        let mut m = valid();
        let v = m.remove("V14").unwrap();
        m.insert("v14".into(), v);
        let errors = field_errors(parse_transaction(&body(&m)));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].field, "v14");
        assert!(errors[0].problem.contains("did you mean `V14`"), "{}", errors[0].problem);
        assert_eq!(errors[1].field, "V14");
        let mut m = valid();
        m.insert("Amonut".into(), json!(1));
        let errors = field_errors(parse_transaction(&body(&m)));
        assert!(errors[0].problem.contains("did you mean `Amount`"), "{errors:?}");
        let mut m = valid();
        m.insert("merchant".into(), json!("x"));
        let errors = field_errors(parse_transaction(&body(&m)));
        assert!(errors[0].problem.contains("not a known field (expected"), "{errors:?}");
    }

    #[test]
    fn wrong_types_and_ranges_name_the_field_and_the_reason() {
        let mut m = valid();
        m.insert("V1".into(), json!("1.5"));
        m.insert("V2".into(), json!(null));
        m.insert("V3".into(), json!(true));
        m.insert("V4".into(), json!([1]));
        m.insert("Amount".into(), json!(-0.01));
        m.insert("Time".into(), json!("now"));
        m.insert("transaction_id".into(), json!(7));
        let errors = field_errors(parse_transaction(&body(&m)));
        let problem = |f: &str| errors.iter().find(|e| e.field == f).map(|e| e.problem.clone()).unwrap();
        assert_eq!(problem("V1"), "must be a JSON number, got a string (write the number without quotes)");
        assert_eq!(problem("V2"), "must be a JSON number, got null");
        assert_eq!(problem("V3"), "must be a JSON number, got a boolean");
        assert_eq!(problem("V4"), "must be a JSON number, got an array");
        assert_eq!(problem("Amount"), "must be ≥ 0, got -0.01");
        assert_eq!(problem("Time"), "must be a JSON number, got a string");
        assert_eq!(problem("transaction_id"), "must be a string, got a number");
        assert_eq!(errors.len(), 7, "no extra 'missing' errors for fields already reported: {errors:?}");
    }

    #[test]
    fn values_that_overflow_float32_are_refused() {
        let text = String::from_utf8(body(&valid())).unwrap().replacen("149.62", "1e39", 1);
        let errors = field_errors(parse_transaction(text.as_bytes()));
        assert_eq!(errors[0].field, "Amount");
        assert!(errors[0].problem.contains("float32"), "{errors:?}");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let text = String::from_utf8(body(&valid())).unwrap().replacen("{", "{\"V7\":1.0,", 1);
        let errors = field_errors(parse_transaction(text.as_bytes()));
        assert_eq!(errors, vec![FieldError { field: "V7".into(), problem: "appears more than once".into() }]);
    }

    #[test]
    fn json_errors_are_classified() {
        assert!(matches!(parse_transaction(b"{\"V1\": 1,"), Err(RequestError::MalformedJson(_))));
        assert!(matches!(parse_transaction(b"{\"V1\": NaN}"), Err(RequestError::MalformedJson(_))));
        assert!(matches!(parse_transaction(b"{\"V1\": 1e309}"), Err(RequestError::MalformedJson(_))));
        assert!(matches!(parse_transaction(b"\xff\xfe"), Err(RequestError::MalformedJson(_))));
        assert!(matches!(parse_transaction(b""), Err(RequestError::MalformedJson(_))));
        assert!(matches!(parse_transaction(b"[1,2]"), Err(RequestError::WrongShape(_))));
        assert!(matches!(parse_transaction(b"42"), Err(RequestError::WrongShape(_))));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_transaction(deep.as_bytes()),
            Err(RequestError::WrongShape(_) | RequestError::MalformedJson(_))
        ));
    }

    #[test]
    fn batches_report_errors_per_item_and_enforce_the_limit() {
        let good = Value::Object(valid());
        let mut bad = valid();
        bad.remove("Amount");
        let b = json!({"transactions": [good, Value::Object(bad)]});
        match parse_batch(&serde_json::to_vec(&b).unwrap(), 10) {
            Err(RequestError::InvalidFields(e)) => assert_eq!(e[0].field, "transactions[1].Amount"),
            other => panic!("{other:?}"),
        }
        let b = json!({"transactions": [good, good, good]});
        assert_eq!(parse_batch(&serde_json::to_vec(&b).unwrap(), 3).unwrap().len(), 3);
        assert_eq!(parse_batch(&serde_json::to_vec(&b).unwrap(), 2), Err(RequestError::BatchSize { got: 3, max: 2 }));
        assert_eq!(parse_batch(br#"{"transactions": []}"#, 2), Err(RequestError::BatchSize { got: 0, max: 2 }));
        assert!(matches!(parse_batch(br#"{"transactions": [], "x": 1}"#, 2), Err(RequestError::WrongShape(_))));
        assert!(matches!(parse_batch(br#"{"transactions": {}}"#, 2), Err(RequestError::WrongShape(_))));
    }
}

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
//!   misspells `V14` as `v14` learns so, instead of the model silently scoring a missing value;
//! - at most [`MAX_FIELD_ERRORS`] problems are listed (the rest are counted), so that a body made of
//!   thousands of bad keys cannot turn into an error response of many megabytes;
//! - a JSON syntax error says where it is (`… (in `V5`)`), so that e.g. a bare `NaN` names its field.

use std::fmt;

mod checked;
mod location;
mod suggest;

use serde::{Deserialize, Serialize};

use crate::body::BodyError;

/// "a number", "an object", …: what a JSON value is, for error messages.
pub(crate) use checked::json_type_name;
use checked::{CheckedBatch, CheckedTransaction};

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

/// Most field problems listed for one request; the rest are counted in a last `…` entry. Above the 31
/// known fields, so a transaction with every field wrong is still reported in full.
pub const MAX_FIELD_ERRORS: usize = 50;

/// Longest field name echoed back in an error, in characters; longer ones are cut and end in `…`.
pub(crate) const MAX_SHOWN_NAME_CHARS: usize = 64;

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
    /// Not JSON, not the shape of a request, or a batch of too many transactions or none.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The right shape, but one or more fields are missing or invalid.
    #[error("{} invalid field(s): {}", .0.len(), join_field_errors(.0))]
    InvalidFields(Vec<FieldError>),
}

fn join_field_errors(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Parses and validates one transaction from a JSON body.
pub fn parse_transaction(body: &[u8]) -> Result<Transaction, RequestError> {
    let checked: CheckedTransaction = serde_json::from_slice(body).map_err(|e| located(e, body))?;
    checked.into_result("").map_err(|(errors, omitted)| invalid_fields(errors, omitted))
}

/// Parses and validates a batch body `{"transactions": [ {...}, ... ]}` of at most `max` transactions.
/// Field errors are reported for every transaction at once, as `transactions[i].FIELD`.
pub fn parse_batch(body: &[u8], max: usize) -> Result<Vec<Transaction>, RequestError> {
    let batch: CheckedBatch = serde_json::from_slice(body).map_err(|e| located(e, body))?;
    let got = batch.transactions.len();
    if got == 0 || got > max {
        return Err(BodyError::BatchSize { items: "transactions", got, max }.into());
    }
    let mut transactions = Vec::with_capacity(got);
    let mut errors = Vec::new();
    let mut omitted = 0;
    for (i, checked) in batch.transactions.into_iter().enumerate() {
        match checked.into_result(&format!("transactions[{i}].")) {
            Ok(t) => transactions.push(t),
            Err((item_errors, item_omitted)) => {
                let room = MAX_FIELD_ERRORS.saturating_sub(errors.len()).min(item_errors.len());
                omitted += item_omitted + item_errors.len() - room;
                errors.extend(item_errors.into_iter().take(room));
            }
        }
    }
    if errors.is_empty() {
        Ok(transactions)
    } else {
        Err(invalid_fields(errors, omitted))
    }
}

fn invalid_fields(mut errors: Vec<FieldError>, omitted: usize) -> RequestError {
    if omitted > 0 {
        let problem = format!("and {omitted} more problem(s), not listed");
        errors.push(FieldError { field: "…".to_string(), problem });
    }
    RequestError::InvalidFields(errors)
}

/// `name` as an error echoes it: cut to [`MAX_SHOWN_NAME_CHARS`] characters.
pub fn shown_name(name: &str) -> String {
    match name.char_indices().nth(MAX_SHOWN_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_string(),
    }
}

/// A JSON error with where it happened appended, as a path like `V5` or `transactions[3].Amount`.
fn located(e: serde_json::Error, body: &[u8]) -> RequestError {
    let message = match location::json_path_at(body, e.line(), e.column()) {
        Some(path) => format!("{e} (in `{path}`)"),
        None => e.to_string(),
    };
    let located = match BodyError::from(e) {
        BodyError::WrongShape(_) => BodyError::WrongShape(message),
        _ => BodyError::MalformedJson(message),
    };
    located.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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
        assert!(matches!(parse_transaction(b"{\"V1\": 1,"), Err(RequestError::Body(BodyError::MalformedJson(_)))));
        assert!(matches!(parse_transaction(b"{\"V1\": NaN}"), Err(RequestError::Body(BodyError::MalformedJson(_)))));
        assert!(matches!(parse_transaction(b"{\"V1\": 1e309}"), Err(RequestError::Body(BodyError::MalformedJson(_)))));
        assert!(matches!(parse_transaction(b"\xff\xfe"), Err(RequestError::Body(BodyError::MalformedJson(_)))));
        assert!(matches!(parse_transaction(b""), Err(RequestError::Body(BodyError::MalformedJson(_)))));
        assert!(matches!(parse_transaction(b"[1,2]"), Err(RequestError::Body(BodyError::WrongShape(_)))));
        assert!(matches!(parse_transaction(b"42"), Err(RequestError::Body(BodyError::WrongShape(_)))));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_transaction(deep.as_bytes()),
            Err(RequestError::Body(BodyError::WrongShape(_) | BodyError::MalformedJson(_)))
        ));
    }

    #[test]
    fn a_syntax_error_names_the_field_it_is_in() {
        let text = String::from_utf8(body(&valid())).unwrap();
        for (bad, path) in
            [("NaN", "V5"), ("1e309", "V5"), ("[[[", "V5[0][0]"), ("+1", "V5"), ("5.", "V5"), ("tru", "V5")]
        {
            let broken = text.replacen("\"V5\":-1.0", &format!("\"V5\":{bad}"), 1);
            match parse_transaction(broken.as_bytes()) {
                Err(RequestError::Body(BodyError::MalformedJson(m))) => {
                    assert!(m.ends_with(&format!("(in `{path}`)")), "{bad}: {m}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let deep = format!("{{\"V2\": {}}}", "[".repeat(1000));
        let Err(RequestError::Body(BodyError::MalformedJson(m))) = parse_transaction(deep.as_bytes()) else { panic!() };
        assert!(m.contains("recursion limit") && m.ends_with("(in `V2[0][0]`)"), "{m}");
        let b = format!("{{\"transactions\": [{text}, {}]}}", text.replacen("\"V5\":-1.0", "\"V5\":NaN", 1));
        let Err(RequestError::Body(BodyError::MalformedJson(m))) = parse_batch(b.as_bytes(), 10) else { panic!() };
        assert!(m.ends_with("(in `transactions[1].V5`)"), "{m}");
        let Err(RequestError::Body(BodyError::MalformedJson(m))) = parse_transaction(b"{\"V1\" NaN}") else { panic!() };
        assert!(!m.contains("(in"), "a key without its value yet: nothing to name: {m}");
        assert_eq!(location::json_path_at(b"[1, NaN]", 1, 6), None, "nothing to name at the top level");
    }

    #[test]
    fn a_syntax_error_in_a_batch_is_malformed_json_not_a_wrong_shape() {
        let text = String::from_utf8(body(&valid())).unwrap();
        let b = format!("{{\"transactions\": [{text}, {text}]}}");
        for cut in 1..b.len() - 1 {
            assert!(
                matches!(parse_batch(&b.as_bytes()[..cut], 10), Err(RequestError::Body(BodyError::MalformedJson(_)))),
                "cut {cut}"
            );
        }
        assert!(matches!(
            parse_batch(format!("[[{text}]]").as_bytes(), 10),
            Err(RequestError::Body(BodyError::WrongShape(_)))
        ));
        let twice = format!("{{\"transactions\": [{text}], \"transactions\": [{text}]}}");
        assert!(
            matches!(parse_batch(twice.as_bytes(), 10), Err(RequestError::Body(BodyError::WrongShape(m))) if m.contains("duplicate"))
        );
    }

    #[test]
    fn the_list_of_problems_is_capped_and_long_names_are_cut() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\": 0")).collect();
        let errors = field_errors(parse_transaction(format!("{{{}}}", keys.join(",")).as_bytes()));
        assert_eq!(errors.len(), MAX_FIELD_ERRORS + 1);
        assert_eq!(errors[MAX_FIELD_ERRORS].field, "…");
        assert_eq!(errors[MAX_FIELD_ERRORS].problem, format!("and {} more problem(s), not listed", 10_000 + 29 - 50));
        let long = "x".repeat(10_000);
        let errors = field_errors(parse_transaction(format!("{{\"{long}\": 0}}").as_bytes()));
        assert_eq!(errors[0].field, format!("{}…", "x".repeat(64)));
        let b = format!("{{\"transactions\": [{}]}}", vec!["{}"; 100].join(","));
        let Err(RequestError::InvalidFields(errors)) = parse_batch(b.as_bytes(), 100) else { panic!() };
        assert_eq!(errors.len(), MAX_FIELD_ERRORS + 1);
        assert_eq!(errors[MAX_FIELD_ERRORS].problem, format!("and {} more problem(s), not listed", 2900 - 50));
        // A feature whose problem was not listed is still not reported "missing".
        let mut m = valid();
        m.insert("V28".into(), json!(null));
        for i in 0..60 {
            m.insert(format!("x{i}"), json!(0));
        }
        let errors = field_errors(parse_transaction(&body(&m)));
        assert!(!errors.iter().any(|e| e.problem.contains("missing")), "{errors:?}");
    }

    #[test]
    fn quoted_non_finite_values_get_no_write_it_without_quotes_hint() {
        for quoted in ["NaN", "inf", "-Infinity"] {
            let mut m = valid();
            m.insert("V1".into(), json!(quoted));
            let errors = field_errors(parse_transaction(&body(&m)));
            assert_eq!(errors[0].problem, "must be a JSON number, got a string", "{quoted}");
        }
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
        assert_eq!(
            parse_batch(&serde_json::to_vec(&b).unwrap(), 2),
            Err(BodyError::BatchSize { items: "transactions", got: 3, max: 2 }.into())
        );
        assert_eq!(
            parse_batch(br#"{"transactions": []}"#, 2),
            Err(BodyError::BatchSize { items: "transactions", got: 0, max: 2 }.into())
        );
        assert!(matches!(
            parse_batch(br#"{"transactions": [], "x": 1}"#, 2),
            Err(RequestError::Body(BodyError::WrongShape(_)))
        ));
        assert!(matches!(
            parse_batch(br#"{"transactions": {}}"#, 2),
            Err(RequestError::Body(BodyError::WrongShape(_)))
        ));
    }
}

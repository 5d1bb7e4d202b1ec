//! A transaction (or batch) read field by field, keeping every problem instead of stopping at the first: the
//! deserialisers behind [`super::parse_transaction`] and [`super::parse_batch`].

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::suggest::suggest_field;
use super::{
    feature_index, shown_name, FieldError, Transaction, AMOUNT_INDEX, FEATURE_COUNT, FEATURE_NAMES, MAX_FIELD_ERRORS,
    MAX_TRANSACTION_ID_BYTES,
};

pub(super) struct CheckedTransaction {
    features: [Option<f32>; FEATURE_COUNT],
    /// Features present but invalid (already reported, so not also "missing").
    invalid: [bool; FEATURE_COUNT],
    time: Option<f64>,
    transaction_id: Option<String>,
    errors: Vec<FieldError>,
    /// Problems past [`MAX_FIELD_ERRORS`], counted but not listed.
    omitted: usize,
}

impl CheckedTransaction {
    /// Records a problem; `problem` is only built while the list has room.
    fn problem(&mut self, field: &str, problem: impl FnOnce() -> String) {
        if self.errors.len() < MAX_FIELD_ERRORS {
            self.errors.push(FieldError { field: shown_name(field), problem: problem() });
        } else {
            self.omitted += 1;
        }
    }

    /// The transaction, or its problems (fields prefixed with `path`) and how many were not listed.
    pub(super) fn into_result(mut self, path: &str) -> Result<Transaction, (Vec<FieldError>, usize)> {
        let mut features = [0f32; FEATURE_COUNT];
        for i in 0..FEATURE_COUNT {
            match self.features[i] {
                Some(v) => features[i] = v,
                None if !self.invalid[i] => self.problem(FEATURE_NAMES[i], || "is required but missing".to_string()),
                None => {}
            }
        }
        if !self.errors.is_empty() {
            for e in &mut self.errors {
                e.field.insert_str(0, path);
            }
            return Err((self.errors, self.omitted));
        }
        Ok(Transaction { features, time: self.time, transaction_id: self.transaction_id })
    }
}

pub(crate) fn json_type_name(v: &Value) -> &'static str {
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
            // Not for "NaN" or "inf", which Rust parses but JSON has no way to write.
            Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                " (write the number without quotes)"
            }
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
            invalid: [false; FEATURE_COUNT],
            time: None,
            transaction_id: None,
            errors: Vec::new(),
            omitted: 0,
        };
        let mut seen = [false; FEATURE_COUNT + 2];
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
                            out.problem(name, || match suggest_field(name) {
                            Some(known) => format!("is not a known field; did you mean `{known}`?"),
                            None => "is not a known field (expected V1..V28, Amount, and optionally Time, transaction_id)"
                                .to_string(),
                        });
                            continue;
                        }
                    }
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                out.problem(&key, || "appears more than once".to_string());
                continue;
            }
            match slot {
                i if i < FEATURE_COUNT => match feature_value(i, &value) {
                    Ok(v) => out.features[i] = Some(v),
                    Err(p) => {
                        out.invalid[i] = true;
                        out.problem(&key, || p);
                    }
                },
                s if s == FEATURE_COUNT => match value.as_f64() {
                    Some(t) if t >= 0.0 => out.time = Some(t),
                    Some(t) => out.problem("Time", || format!("must be ≥ 0, got {t}")),
                    None => out.problem("Time", || format!("must be a JSON number, got {}", json_type_name(&value))),
                },
                _ => match value {
                    Value::String(s) if s.len() <= MAX_TRANSACTION_ID_BYTES => out.transaction_id = Some(s),
                    Value::String(s) => out.problem("transaction_id", || {
                        format!("must be at most {MAX_TRANSACTION_ID_BYTES} bytes, got {}", s.len())
                    }),
                    other => {
                        out.problem("transaction_id", || format!("must be a string, got {}", json_type_name(&other)))
                    }
                },
            }
        }
        Ok(out)
    }
}

/// `{"transactions": [...]}`; any other top-level key is refused. Deserialised by hand because the derived
/// impl would also accept the array form `[[...]]`, which is not part of the API.
pub(super) struct CheckedBatch {
    pub(super) transactions: Vec<CheckedTransaction>,
}

impl<'de> Deserialize<'de> for CheckedBatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BatchVisitor;
        impl<'de> Visitor<'de> for BatchVisitor {
            type Value = CheckedBatch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a JSON object {"transactions": [...]}"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CheckedBatch, A::Error> {
                let mut transactions = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key != "transactions" {
                        return Err(de::Error::unknown_field(&key, &["transactions"]));
                    }
                    if transactions.is_some() {
                        return Err(de::Error::duplicate_field("transactions"));
                    }
                    transactions = Some(map.next_value::<Transactions>()?.0);
                }
                let transactions = transactions.ok_or_else(|| de::Error::missing_field("transactions"))?;
                Ok(CheckedBatch { transactions })
            }
        }
        deserializer.deserialize_map(BatchVisitor)
    }
}

struct Transactions(Vec<CheckedTransaction>);

impl<'de> Deserialize<'de> for Transactions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Transactions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of transaction objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(t) = seq.next_element()? {
                    out.push(t);
                }
                Ok(Transactions(out))
            }
        }
        // Errors pass through untouched: a syntax error inside the array stays a syntax error (400).
        d.deserialize_seq(ListVisitor)
    }
}

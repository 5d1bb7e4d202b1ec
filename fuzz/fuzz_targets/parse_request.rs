//! The request parser and validator on arbitrary bytes, as `POST /predict` and `POST /predict/batch`
//! receive them: `parse_transaction` and `parse_batch` never panic; what they accept is finite, within
//! the schema's ranges, and survives a round trip (re-serialised, it parses to the same features); what
//! they refuse comes with a bounded, non-empty explanation.
#![no_main]

use fraudwatch_core::schema::{
    parse_batch, parse_transaction, RequestError, Transaction, AMOUNT_INDEX, FEATURE_NAMES, MAX_FIELD_ERRORS,
    MAX_TRANSACTION_ID_BYTES,
};
use libfuzzer_sys::fuzz_target;

/// A small batch limit, so the fuzzer reaches the size checks with small inputs.
const MAX_BATCH: usize = 4;

fuzz_target!(|data: &[u8]| {
    match parse_transaction(data) {
        Ok(t) => {
            check_accepted(&t);
            let again = parse_transaction(&request_json(&t)).expect("a re-serialised transaction parses");
            assert_same(&t, &again);
        }
        Err(e) => check_refused(&e),
    }
    match parse_batch(data, MAX_BATCH) {
        Ok(batch) => {
            assert!((1..=MAX_BATCH).contains(&batch.len()), "a batch of {}", batch.len());
            batch.iter().for_each(check_accepted);
            let items: Vec<String> = batch.iter().map(|t| String::from_utf8(request_json(t)).unwrap()).collect();
            let body = format!("{{\"transactions\":[{}]}}", items.join(","));
            let again = parse_batch(body.as_bytes(), MAX_BATCH).expect("a re-serialised batch parses");
            assert_eq!(again.len(), batch.len());
            batch.iter().zip(&again).for_each(|(a, b)| assert_same(a, b));
        }
        Err(e) => check_refused(&e),
    }
});

fn check_accepted(t: &Transaction) {
    for (name, v) in FEATURE_NAMES.iter().zip(&t.features) {
        assert!(v.is_finite(), "{name} = {v} was accepted");
    }
    assert!(t.features[AMOUNT_INDEX] >= 0.0, "Amount {} was accepted", t.features[AMOUNT_INDEX]);
    if let Some(time) = t.time {
        assert!(time.is_finite() && time >= 0.0, "Time {time} was accepted");
    }
    if let Some(id) = &t.transaction_id {
        assert!(id.len() <= MAX_TRANSACTION_ID_BYTES, "a transaction_id of {} bytes was accepted", id.len());
    }
}

fn check_refused(e: &RequestError) {
    assert!(!e.to_string().trim().is_empty(), "an empty error: {e:?}");
    if let RequestError::InvalidFields(fields) = e {
        assert!(!fields.is_empty(), "InvalidFields without fields");
        assert!(fields.len() <= MAX_FIELD_ERRORS + 1, "{} field errors listed", fields.len());
        for f in fields {
            assert!(!f.problem.is_empty(), "no problem given for {:?}", f.field);
            // Names are echoed cut to 64 characters (plus a batch prefix such as `transactions[3].`).
            assert!(f.field.chars().count() <= 64 + 1 + 32, "an echoed field name of {} chars", f.field.len());
        }
    }
}

/// The transaction as a request body, each value as the shortest text that reads back as the same
/// float32 (what `serde_json` writes for an f32, and so what the prediction log holds).
fn request_json(t: &Transaction) -> Vec<u8> {
    let mut fields: Vec<String> = FEATURE_NAMES
        .iter()
        .zip(&t.features)
        .map(|(name, v)| format!("\"{name}\":{}", serde_json::to_string(v).unwrap()))
        .collect();
    if let Some(time) = t.time {
        fields.push(format!("\"Time\":{}", serde_json::to_string(&time).unwrap()));
    }
    if let Some(id) = &t.transaction_id {
        fields.push(format!("\"transaction_id\":{}", serde_json::to_string(id).unwrap()));
    }
    format!("{{{}}}", fields.join(",")).into_bytes()
}

fn assert_same(a: &Transaction, b: &Transaction) {
    for ((name, x), y) in FEATURE_NAMES.iter().zip(&a.features).zip(&b.features) {
        assert_eq!(x.to_bits(), y.to_bits(), "{name}: {x:e} came back as {y:e}");
    }
    assert_eq!(a.time.map(f64::to_bits), b.time.map(f64::to_bits), "Time {:?} came back as {:?}", a.time, b.time);
    assert_eq!(a.transaction_id, b.transaction_id);
}

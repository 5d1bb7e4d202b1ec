//! The prediction-log decoder on arbitrary bytes, as the prediction-logger (SQS bodies), drift-check and
//! `fraudctl` (S3 objects) receive them: `PredictionLogRecord::decode` never panics, a decoded record is
//! usable (its S3 key can be built, its values are in range), and encode → decode is the identity.
#![no_main]

use fraudwatch_core::log_record::{PredictionLogRecord, LOG_SCHEMA_VERSION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = PredictionLogRecord::decode(data) else {
        return;
    };
    assert_eq!(record.schema_version, LOG_SCHEMA_VERSION);
    assert!((0.0..=1.0).contains(&record.fraud_probability), "fraud_probability {}", record.fraud_probability);
    assert!(record.features.0.iter().all(|v| v.is_finite()), "features {:?}", record.features.0);
    assert!(!record.model_version.is_empty());
    // What every reader does with a record: file it under its hour.
    let key = record.s3_key();
    assert!(key.starts_with("prediction-logs/dt=") && key.ends_with(".json"), "{key}");

    let bytes = record.encode();
    let again = PredictionLogRecord::decode(&bytes)
        .unwrap_or_else(|e| panic!("an encoded record does not decode ({e}): {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(again, record, "encode → decode changed the record");
    assert_eq!(again.encode(), bytes, "encoding is not stable");
    assert_eq!(again.s3_key(), key);
});

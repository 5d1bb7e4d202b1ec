//! The prediction-log decoder on arbitrary bytes, as the prediction-logger (SQS bodies), drift-check and
//! `fraudctl` (S3 objects) receive them: `PredictionLogRecord::decode` never panics, a decoded record is
//! usable (its S3 key can be built, its values are in range, a version-2 explanation names real features),
//! version-1 records still decode, and encode → decode is the identity.
#![no_main]

use fraudwatch_core::log_record::{PredictionLogRecord, READABLE_SCHEMA_VERSIONS};
use fraudwatch_core::schema::feature_index;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = PredictionLogRecord::decode(data) else {
        return;
    };
    assert!(READABLE_SCHEMA_VERSIONS.contains(&record.schema_version), "schema_version {}", record.schema_version);
    if let Some(e) = &record.explanation {
        // Only version 2 records explain, and only with the 29 features, each at most once, finite.
        assert!(record.schema_version >= 2);
        assert!(e.bias.is_finite() && e.margin.is_finite() && e.other_features.is_finite(), "{e:?}");
        let mut seen = std::collections::HashSet::new();
        for c in &e.top {
            assert!(feature_index(&c.feature).is_some() && seen.insert(&c.feature), "{e:?}");
            assert!(c.contribution.is_finite(), "{e:?}");
        }
    }
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

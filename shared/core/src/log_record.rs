//! The prediction-log record and its S3 key layout: one definition for predict (which enqueues it),
//! the prediction-logger (which stores it), drift-check and `fraudctl` (which read it).
//!
//! The SQS message body and the S3 object are the same JSON document, so a record can be traced from
//! the queue to the bucket unchanged. Keys are Hive-style partitions so Athena/Glue read them directly:
//! `prediction-logs/dt=YYYY-MM-DD/hour=HH/<prediction_id>.json` (UTC).

use std::fmt;

use crate::prediction_id::PredictionId;
use crate::schema::{feature_index, Features, FEATURE_COUNT, FEATURE_NAMES};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Bumped whenever a field is added, changes meaning or disappears; readers refuse versions they do not know.
pub const LOG_SCHEMA_VERSION: u32 = 2;
/// The versions this build reads: 1 (no `explanation`) and 2.
pub const READABLE_SCHEMA_VERSIONS: std::ops::RangeInclusive<u32> = 1..=LOG_SCHEMA_VERSION;
/// Root of the prediction logs in the bucket.
pub const PREDICTION_LOG_PREFIX: &str = "prediction-logs/";

/// One scored transaction, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionLogRecord {
    pub schema_version: u32,
    /// UUIDv7 made from `timestamp`: unique, sorts by time, and names the record's partition.
    pub prediction_id: PredictionId,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The API Gateway request id of the call that scored it.
    pub request_id: String,
    pub model_version: String,
    pub features: FeatureMap,
    pub fraud_probability: f32,
    pub is_fraud: bool,
    pub threshold: f32,
    /// Time spent validating and scoring, in microseconds.
    pub latency_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The reasons the response gave (schema version 2, predictions scored with `?explain=true` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<LoggedExplanation>,
}

/// Why the model scored a prediction as it did, as the response said: the top TreeSHAP contributions in
/// log-odds, `bias + Σ top + other_features = margin` and `fraud_probability ≈ 1 / (1 + e^−margin)`. In float32,
/// XGBoost's own precision, which also reads back bit for bit through serde_json's default float parser (a
/// double may come back one bit off, and the logger re-encodes what it reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedExplanation {
    pub bias: f32,
    pub margin: f32,
    /// Largest |contribution| first.
    pub top: Vec<LoggedContribution>,
    /// The sum of the contributions not in `top`.
    pub other_features: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedContribution {
    /// One of the 29 feature names.
    pub feature: String,
    pub contribution: f32,
}

/// Why bytes are not a usable record.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordError {
    #[error("not a prediction-log record: {0}")]
    Malformed(String),
    #[error("unsupported schema_version {0} (this build reads 1 to {LOG_SCHEMA_VERSION})")]
    UnsupportedVersion(u32),
    #[error("invalid record: {0}")]
    Invalid(String),
}

impl PredictionLogRecord {
    /// The record's object key: `prediction-logs/dt=YYYY-MM-DD/hour=HH/<prediction_id>.json`.
    pub fn s3_key(&self) -> String {
        let ts = self.timestamp.to_offset(time::UtcOffset::UTC);
        format!("{}{}.json", partition_prefix(ts), self.prediction_id)
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record always serialises")
    }

    /// Decodes and checks a record, refusing unknown schema versions and impossible values.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            schema_version: u32,
        }
        let record: PredictionLogRecord = serde_json::from_slice(bytes).map_err(|e| {
            // Tell "from the future" apart from "garbage": the former needs a newer reader, not a DLQ.
            match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(v) if !READABLE_SCHEMA_VERSIONS.contains(&v.schema_version) => {
                    RecordError::UnsupportedVersion(v.schema_version)
                }
                _ => RecordError::Malformed(e.to_string()),
            }
        })?;
        if !READABLE_SCHEMA_VERSIONS.contains(&record.schema_version) {
            return Err(RecordError::UnsupportedVersion(record.schema_version));
        }
        if let Some(explanation) = &record.explanation {
            if record.schema_version < 2 {
                return Err(RecordError::Invalid("explanation needs schema_version 2".into()));
            }
            check_explanation(explanation).map_err(|e| RecordError::Invalid(format!("explanation: {e}")))?;
        }
        if !(0.0..=1.0).contains(&record.fraud_probability) {
            return Err(RecordError::Invalid(format!(
                "fraud_probability {} is not in [0, 1]",
                record.fraud_probability
            )));
        }
        // A JSON number beyond float32 (1e39) reads as infinity, which would encode as `null`.
        if !(0.0..=1.0).contains(&record.threshold) {
            return Err(RecordError::Invalid(format!("threshold {} is not in [0, 1]", record.threshold)));
        }
        // RFC 3339 allows 9999-12-31T23:30:00-01:00, whose UTC hour (for the S3 key) is in year 10000.
        if record.timestamp.checked_to_offset(time::UtcOffset::UTC).is_none() {
            return Err(RecordError::Invalid(format!("timestamp {} is out of range in UTC", record.timestamp)));
        }
        if record.model_version.is_empty() {
            return Err(RecordError::Invalid("model_version is empty".into()));
        }
        Ok(record)
    }
}

/// Refuses what no explainer writes: a feature that is not one of the 29, twice, or a value that is not a
/// finite number (a JSON number beyond float32 reads as infinity, which would encode as `null`).
fn check_explanation(e: &LoggedExplanation) -> Result<(), String> {
    for (name, v) in [("bias", e.bias), ("margin", e.margin), ("other_features", e.other_features)] {
        if !v.is_finite() {
            return Err(format!("{name} {v} is not finite"));
        }
    }
    let mut seen = [false; FEATURE_COUNT];
    for c in &e.top {
        let i = feature_index(&c.feature).ok_or_else(|| format!("`{}` is not a feature", c.feature))?;
        if std::mem::replace(&mut seen[i], true) {
            return Err(format!("`{}` appears twice", c.feature));
        }
        if !c.contribution.is_finite() {
            return Err(format!("the contribution of `{}` is not finite", c.feature));
        }
    }
    Ok(())
}

/// `prediction-logs/dt=YYYY-MM-DD/hour=HH/` for the hour holding `ts` (UTC).
pub fn partition_prefix(ts: OffsetDateTime) -> String {
    let ts = ts.to_offset(time::UtcOffset::UTC);
    format!(
        "{PREDICTION_LOG_PREFIX}dt={:04}-{:02}-{:02}/hour={:02}/",
        ts.year(),
        u8::from(ts.month()),
        ts.day(),
        ts.hour()
    )
}

/// The partition prefixes covering `[start, end)`, one per UTC hour, oldest first.
pub fn partition_prefixes(start: OffsetDateTime, end: OffsetDateTime) -> Vec<String> {
    let mut hour = start
        .to_offset(time::UtcOffset::UTC)
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .expect("zero is a valid minute, second and nanosecond");
    let mut prefixes = Vec::new();
    while hour < end {
        prefixes.push(partition_prefix(hour));
        hour += time::Duration::HOUR;
    }
    prefixes
}

/// The 29 features as a JSON object keyed by feature name (`{"V1": .., "Amount": ..}`), the form
/// Athena's JSON SerDe and people read; decoding requires every feature exactly once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureMap(pub Features);

impl Serialize for FeatureMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(FEATURE_COUNT))?;
        for (name, value) in FEATURE_NAMES.iter().zip(self.0.iter()) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for FeatureMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FeatureMapVisitor;
        impl<'de> Visitor<'de> for FeatureMapVisitor {
            type Value = FeatureMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with the 29 features")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeatureMap, A::Error> {
                let mut values = [None; FEATURE_COUNT];
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let i = feature_index(&key).ok_or_else(|| de::Error::custom(format!("unknown feature `{key}`")))?;
                    let v: f32 = map.next_value()?;
                    if !v.is_finite() {
                        return Err(de::Error::custom(format!("feature `{key}` is not finite")));
                    }
                    if values[i].replace(v).is_some() {
                        return Err(de::Error::custom(format!("feature `{key}` appears twice")));
                    }
                }
                let mut features = [0f32; FEATURE_COUNT];
                for (i, v) in values.iter().enumerate() {
                    features[i] =
                        v.ok_or_else(|| de::Error::custom(format!("feature `{}` is missing", FEATURE_NAMES[i])))?;
                }
                Ok(FeatureMap(features))
            }
        }
        deserializer.deserialize_map(FeatureMapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::LogRecordBuilder;
    use time::macros::datetime;

    fn sample() -> PredictionLogRecord {
        let mut features = [0f32; FEATURE_COUNT];
        for (i, f) in features.iter_mut().enumerate() {
            *f = i as f32 - 1.5;
        }
        LogRecordBuilder::at(datetime!(2026-11-22 03:04:05.123 UTC))
            .id("0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b".parse().unwrap())
            .request_id("req-1")
            .features(features)
            .transaction_id("tx-9")
            .explanation(LoggedExplanation {
                bias: -8.5,
                margin: -7.25,
                top: vec![
                    LoggedContribution { feature: "V14".into(), contribution: 0.75 },
                    LoggedContribution { feature: "Amount".into(), contribution: 0.25 },
                ],
                other_features: 0.25,
            })
            .build()
    }

    /// A record as version 1 wrote it (before reason codes), byte for byte.
    const VERSION_1_RECORD: &str = r#"{"schema_version":1,"prediction_id":"0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b","timestamp":"2026-11-22T03:04:05.123Z","request_id":"req-1","model_version":"v1","features":{"V1":-1.5,"V2":-0.5,"V3":0.5,"V4":1.5,"V5":2.5,"V6":3.5,"V7":4.5,"V8":5.5,"V9":6.5,"V10":7.5,"V11":8.5,"V12":9.5,"V13":10.5,"V14":11.5,"V15":12.5,"V16":13.5,"V17":14.5,"V18":15.5,"V19":16.5,"V20":17.5,"V21":18.5,"V22":19.5,"V23":20.5,"V24":21.5,"V25":22.5,"V26":23.5,"V27":24.5,"V28":25.5,"Amount":26.5},"fraud_probability":0.25,"is_fraud":false,"threshold":0.5,"latency_us":17,"transaction_id":"tx-9"}"#;

    #[test]
    fn key_is_hive_partitioned_by_utc_hour() {
        let mut r = sample();
        assert_eq!(r.s3_key(), "prediction-logs/dt=2026-11-22/hour=03/0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b.json");
        r.timestamp = datetime!(2026-11-22 01:30:00 -03:00);
        assert!(r.s3_key().starts_with("prediction-logs/dt=2026-11-22/hour=04/"));
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let r = sample();
        let bytes = r.encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.contains(r#""features":{"V1":-1.5,"V2":-0.5"#), "{text}");
        assert!(text.contains(r#""timestamp":"2026-11-22T03:04:05.123Z""#), "{text}");
        assert_eq!(PredictionLogRecord::decode(&bytes).unwrap(), r);
    }

    #[test]
    fn version_1_records_still_decode_and_encode_unchanged() {
        let record = PredictionLogRecord::decode(VERSION_1_RECORD.as_bytes()).unwrap();
        assert_eq!(record.schema_version, 1);
        assert_eq!(record, PredictionLogRecord { schema_version: 1, explanation: None, ..sample() });
        assert_eq!(record.encode(), VERSION_1_RECORD.as_bytes(), "re-encoding keeps a version-1 record as it was");
    }

    #[test]
    fn an_unexplained_version_2_record_has_no_explanation_field() {
        let record = PredictionLogRecord { explanation: None, ..sample() };
        let json: serde_json::Value = serde_json::from_slice(&record.encode()).unwrap();
        assert_eq!(json["schema_version"], 2);
        assert!(json.get("explanation").is_none());
        assert_eq!(PredictionLogRecord::decode(&record.encode()).unwrap(), record);
    }

    #[test]
    fn decode_refuses_explanations_no_explainer_writes() {
        type Edit = fn(&mut serde_json::Value);
        let cases: [(Edit, &str); 5] = [
            (|v| v["schema_version"] = 1.into(), "explanation needs schema_version 2"),
            (|v| v["explanation"]["top"][0]["feature"] = "V29".into(), "`V29` is not a feature"),
            (|v| v["explanation"]["top"][1]["feature"] = "V14".into(), "`V14` appears twice"),
            (|v| v["explanation"]["top"][0]["weight"] = 1.into(), "unknown field `weight`"),
            (|v| v["explanation"]["top"][0]["contribution"] = "0.5".into(), "invalid type"),
        ];
        for (edit, message) in cases {
            let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
            edit(&mut v);
            let err = PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()).unwrap_err();
            assert!(err.to_string().contains(message), "{message}: {err}");
        }
        // A number beyond float32 is no contribution (it would read as infinity and encode as `null`).
        let text = String::from_utf8(sample().encode()).unwrap().replace("\"bias\":-8.5", "\"bias\":1e39");
        assert!(PredictionLogRecord::decode(text.as_bytes()).is_err(), "{text}");
    }

    #[test]
    fn decode_refuses_garbage_future_versions_and_impossible_values() {
        assert!(matches!(PredictionLogRecord::decode(b"not json"), Err(RecordError::Malformed(_))));
        assert!(matches!(PredictionLogRecord::decode(b"{}"), Err(RecordError::Malformed(_))));
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        v["schema_version"] = 0.into();
        assert_eq!(
            PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()),
            Err(RecordError::UnsupportedVersion(0))
        );
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        v["schema_version"] = 3.into();
        v["new_field_shape"] = serde_json::json!([1]);
        v.as_object_mut().unwrap().remove("features");
        assert_eq!(
            PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()),
            Err(RecordError::UnsupportedVersion(3))
        );
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        v["fraud_probability"] = 1.5.into();
        assert!(matches!(PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()), Err(RecordError::Invalid(_))));
        // Found by fuzzing: a threshold beyond float32 (encodes as null), a time whose UTC hour is in year 10000.
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        v["threshold"] = 1e39.into();
        // (Malformed where serde_json's float_roundtrip reads f32 directly, Invalid where it reads f64 then casts.)
        assert!(PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()).is_err());
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        v["timestamp"] = "9999-12-31T23:30:00-01:00".into();
        assert!(matches!(PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()), Err(RecordError::Invalid(_))));
        let mut v: serde_json::Value = serde_json::from_slice(&sample().encode()).unwrap();
        v["features"].as_object_mut().unwrap().remove("V3");
        let err = PredictionLogRecord::decode(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.to_string().contains("feature `V3` is missing"), "{err}");
    }

    #[test]
    fn the_id_alone_names_the_key_even_at_an_hour_boundary() {
        let mut r = sample();
        for at in [datetime!(2026-11-22 03:59:59.999_999_999 UTC), datetime!(2026-11-22 04:00:00 UTC)] {
            r.timestamp = at;
            r.prediction_id = PredictionId::new(at);
            assert_eq!(r.prediction_id.key(), Ok(r.s3_key()));
        }
    }

    #[test]
    fn prefixes_cover_every_hour_of_a_window() {
        let p = partition_prefixes(datetime!(2026-11-21 22:15 UTC), datetime!(2026-11-22 01:00 UTC));
        assert_eq!(
            p,
            vec![
                "prediction-logs/dt=2026-11-21/hour=22/",
                "prediction-logs/dt=2026-11-21/hour=23/",
                "prediction-logs/dt=2026-11-22/hour=00/",
            ]
        );
    }
}

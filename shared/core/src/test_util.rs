//! What tests and benches build records with (feature `test-util`, enabled only by dev-dependencies; never in a
//! function's build).

use time::OffsetDateTime;

use crate::log_record::{FeatureMap, LoggedExplanation, PredictionLogRecord, LOG_SCHEMA_VERSION};
use crate::prediction_id::PredictionId;
use crate::schema::{Features, FEATURE_COUNT};

/// A prediction-log record as predict logs it, with defaults a test overrides only where it cares: made at `at`
/// with the id predict makes then, the current schema version, model `v1`, every feature 0, scored 0.25 against
/// the threshold 0.5 (legitimate), request `req`, 17 µs, no transaction id, no explanation.
#[derive(Debug, Clone)]
pub struct LogRecordBuilder(PredictionLogRecord);

impl LogRecordBuilder {
    pub fn at(at: OffsetDateTime) -> Self {
        LogRecordBuilder(PredictionLogRecord {
            schema_version: LOG_SCHEMA_VERSION,
            prediction_id: PredictionId::new(at),
            timestamp: at,
            request_id: "req".into(),
            model_version: "v1".into(),
            features: FeatureMap([0.0; FEATURE_COUNT]),
            fraud_probability: 0.25,
            is_fraud: false,
            threshold: 0.5,
            latency_us: 17,
            transaction_id: None,
            explanation: None,
        })
    }

    /// Another id than the one made from the time (a fixed one, or one of another UUID version).
    pub fn id(mut self, id: PredictionId) -> Self {
        self.0.prediction_id = id;
        self
    }

    pub fn features(mut self, features: Features) -> Self {
        self.0.features = FeatureMap(features);
        self
    }

    /// The score and the threshold it was decided at: fraud when `fraud_probability >= threshold`, the model's rule.
    pub fn scored(mut self, fraud_probability: f32, threshold: f32) -> Self {
        self.0.fraud_probability = fraud_probability;
        self.0.threshold = threshold;
        self.0.is_fraud = fraud_probability >= threshold;
        self
    }

    pub fn model_version(mut self, version: impl Into<String>) -> Self {
        self.0.model_version = version.into();
        self
    }

    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.0.request_id = request_id.into();
        self
    }

    pub fn transaction_id(mut self, transaction_id: impl Into<String>) -> Self {
        self.0.transaction_id = Some(transaction_id.into());
        self
    }

    pub fn latency_us(mut self, latency_us: u64) -> Self {
        self.0.latency_us = latency_us;
        self
    }

    pub fn explanation(mut self, explanation: LoggedExplanation) -> Self {
        self.0.explanation = Some(explanation);
        self
    }

    pub fn build(self) -> PredictionLogRecord {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_built_record_is_one_predict_could_log() {
        let at = datetime!(2026-11-22 03:04:05.678 UTC);
        let record = LogRecordBuilder::at(at).scored(0.75, 0.5).transaction_id("tx-1").build();
        assert_eq!(PredictionLogRecord::decode(&record.encode()), Ok(record.clone()));
        assert_eq!(record.prediction_id.time(), Ok(at));
        assert_eq!(record.prediction_id.key(), Ok(record.s3_key()));
        assert!(record.is_fraud);
        assert!(!LogRecordBuilder::at(at).scored(0.49, 0.5).build().is_fraud);
    }
}

//! Metric names: the one list used by the EMF emitter, the Pushgateway pusher, the alert rules' tests
//! and the dashboard (whose lint checks every expression against docs/contracts.md, generated from here).

/// CloudWatch namespace of the EMF metrics.
pub const EMF_NAMESPACE: &str = "FraudWatch";

// Per prediction (predict function).
pub const PREDICTIONS_TOTAL: &str = "fraudwatch_predictions_total";
pub const FRAUD_PROBABILITY: &str = "fraudwatch_fraud_probability";
pub const PREDICT_LATENCY_SECONDS: &str = "fraudwatch_predict_latency_seconds";
pub const LOG_ENQUEUE_FAILURES_TOTAL: &str = "fraudwatch_log_enqueue_failures_total";
/// Time a request spends handing its records to the log path (SQS, or the fallbacks when it fails): the
/// only part of the response path that is not parse + score.
pub const LOG_ENQUEUE_SECONDS: &str = "fraudwatch_log_enqueue_seconds";

// Drift check (Pushgateway group job="fraud_drift_check").
pub const DRIFT_JOB: &str = "fraud_drift_check";
pub const DRIFT_SHARE: &str = "fraud_drift_share_of_drifted_columns";
pub const DRIFT_DATASET: &str = "fraud_drift_dataset_drift";
pub const DRIFT_FEATURE_SCORE: &str = "fraud_drift_feature_score";
pub const DRIFT_FEATURE_DRIFTED: &str = "fraud_drift_feature_drifted";
pub const DRIFT_FEATURE_PSI: &str = "fraud_drift_feature_psi";
pub const DRIFT_PREDICTION_SCORE: &str = "fraud_drift_prediction_drift_score";
pub const DRIFT_PREDICTION_DRIFTED: &str = "fraud_drift_prediction_drifted";
pub const DRIFT_FRAUD_RATE: &str = "fraud_drift_fraud_rate";
pub const DRIFT_WINDOW_ROWS: &str = "fraud_drift_window_rows";
pub const DRIFT_CORRUPT_OBJECTS: &str = "fraud_drift_corrupt_objects";
pub const DRIFT_RUN_DURATION_SECONDS: &str = "fraud_drift_run_duration_seconds";
pub const DRIFT_LAST_SUCCESS: &str = "fraud_drift_last_success_timestamp_seconds";

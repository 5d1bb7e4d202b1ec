//! The numbers the alerts judge by: drift-check pushes them as gauges (`fraud_drift_window_min_rows`,
//! `fraud_quality_min_labelled_frauds`, …) that the rules in `infra/prometheus/alerts.yml` compare with, and the
//! HTML report highlights by them, so each is written once. The CloudWatch fraud-rate alarm's parameter default in `infra/template.yaml` is the one copy
//! CloudFormation forces; `tests/tests/thresholds.rs` fails when it disagrees, or when a rule writes a number.

/// FraudRateSpike (Prometheus) and the fraud-rate alarm (CloudWatch): a flagged share above this is ~3× the
/// training data's base rate (492 / 284,807 ≈ 0.17 %).
pub const FRAUD_RATE_ALERT: f64 = 0.005;
/// FraudRateSpike judges windows of at least this many rows (one fraud in 50 rows is already 2 %).
pub const FRAUD_RATE_MIN_WINDOW_ROWS: usize = 100;
/// The drift alerts judge windows of at least this many rows: below it, Evidently's Wasserstein rule flags
/// features by chance (measured in infra/prometheus/alerts.yml's header).
pub const DRIFT_MIN_WINDOW_ROWS: usize = 1000;
/// AttributionDrift: SageMaker Clarify reports feature-attribution drift when the nDCG of the window's
/// attribution ranking against the reference's falls below this.
pub const ATTRIBUTION_NDCG_ALERT: f64 = 0.9;

/// Whether FraudRateSpike fires for a window with this flagged share and row count.
pub fn fraud_rate_alerts(rate: f64, window_rows: usize) -> bool {
    rate > FRAUD_RATE_ALERT && window_rows >= FRAUD_RATE_MIN_WINDOW_ROWS
}

/// The quality alerts fire when realized (from labels) or estimated (CBPE) precision or recall falls this far below
/// the model card's (its test split at live prevalence). Measured on resampled held-out traffic at live prevalence:
/// with 30 frauds, realized recall's 1st percentile is 0.66 against the card's 0.83, and CBPE's estimate (biased low
/// by 0.04) 0.68; 0.2 keeps chance from alerting while a new fraud pattern (recall near 0) alerts at once.
pub const QUALITY_TOLERANCE: f64 = 0.2;
/// Realized recall is judged once the judged span holds this many frauds (and estimated recall once the window's
/// calibrated scores expect this many): with fewer, one fraud moves recall by more than 3 points.
pub const QUALITY_MIN_LABELLED_FRAUDS: f64 = 30.0;
/// Realized and estimated precision are judged on at least this many flagged rows.
pub const QUALITY_MIN_FLAGGED_ROWS: f64 = 30.0;
/// LabelCoverageLow: less than this share of the window's predictions has a known truth, so realized metrics
/// describe whichever predictions happened to be labelled.
pub const QUALITY_MIN_LABEL_COVERAGE: f64 = 0.5;
/// LabelCoverageLow judges windows of at least this many predictions.
pub const QUALITY_MIN_WINDOW_ROWS: usize = 1000;

//! The numbers the alerts judge by: drift-check pushes them as gauges (`fraud_drift_window_min_rows`, …) that
//! the rules in `infra/prometheus/alerts.yml` compare with, and the HTML report highlights by them, so each is
//! written once. The CloudWatch fraud-rate alarm's parameter default in `infra/template.yaml` is the one copy
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

//! The numbers the alerts judge by, for the code that shows the same verdicts (the HTML report, `scripts/up`).
//! `infra/prometheus/alerts.yml` and the CloudWatch alarms in `infra/template.yaml` write them too (PromQL
//! and CloudFormation cannot import Rust); `tests/tests/thresholds.rs` fails when any copy disagrees.

/// FraudRateSpike (Prometheus) and the fraud-rate alarm (CloudWatch): a flagged share above this is ~3× the
/// training data's base rate (492 / 284,807 ≈ 0.17 %).
pub const FRAUD_RATE_ALERT: f64 = 0.005;
/// FraudRateSpike judges windows of at least this many rows (one fraud in 50 rows is already 2 %).
pub const FRAUD_RATE_MIN_WINDOW_ROWS: usize = 100;
/// The drift alerts judge windows of at least this many rows: below it, Evidently's Wasserstein rule flags
/// features by chance (measured in infra/prometheus/alerts.yml's header).
pub const DRIFT_MIN_WINDOW_ROWS: usize = 1000;

/// Whether FraudRateSpike fires for a window with this flagged share and row count.
pub fn fraud_rate_alerts(rate: f64, window_rows: usize) -> bool {
    rate > FRAUD_RATE_ALERT && window_rows >= FRAUD_RATE_MIN_WINDOW_ROWS
}

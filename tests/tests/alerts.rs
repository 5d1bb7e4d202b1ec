//! The promise the whole system exists for: when the model's world changes, someone is told.
//!
//! Real transactions go through predict's handler (API Gateway v2 events) and its real SQS sink (moto),
//! the prediction-logger writes them to S3 (s3s-fs), drift-check reads the window and pushes to a real
//! Pushgateway, and a real Prometheus scraping it with `infra/prometheus/alerts.yml` loaded reports the
//! alerts on `/api/v1/alerts`. Normal traffic raises none; each incident raises the alerts written for it.

use std::collections::BTreeSet;
use std::time::Duration;

mod support;

use drift_check::{load_reference, DriftCheckConfig};
use fraudwatch_core::registry::{Registry, RegistryUri};
use fraudwatch_tests::{
    committed_model_as, prediction_records, repo_root, sample_data, Prometheus, Pushgateway, S3Server, SqsServer,
};
use fraudwatch_traffic::{build_traffic, read_labelled_csv, Incident, DEFAULT_SPIKE_SHARE};
use serde_json::{json, Value};
use support::send_through_pipeline;

/// Alerts about what drift-check measured (the pipeline-health alerts are tested in alerts_test.yml).
const VERDICT_ALERTS: [&str; 4] = ["FraudRateSpike", "DataDriftShare", "ImportantFeatureDrift", "PredictionDrift"];

struct Stack {
    s3: S3Server,
    sqs: SqsServer,
    pushgateway: Pushgateway,
    prometheus: Prometheus,
}

impl Stack {
    async fn start() -> Stack {
        let pushgateway = Pushgateway::start().await.unwrap();
        let rules = [repo_root().join("infra/prometheus/alerts.yml")];
        let prometheus = Prometheus::start(&pushgateway.url(), &rules, Duration::from_secs(1)).await.unwrap();
        Stack { s3: S3Server::start().await.unwrap(), sqs: SqsServer::start().await.unwrap(), pushgateway, prometheus }
    }

    /// Sends `incident` traffic through predict → SQS → prediction-logger → S3, then runs drift-check
    /// over it; returns drift-check's summary.
    async fn run(&self, bucket: &str, incident: Incident, transactions: usize) -> drift_check::RunSummary {
        let rows = read_labelled_csv(&sample_data()).expect("the repository's data sample (data/)");
        let traffic = build_traffic(&rows, incident, transactions, DEFAULT_SPIKE_SHARE, 7).unwrap();
        send_through_pipeline(&self.s3, &self.sqs, bucket, &traffic).await;

        let env = [("LOG_BUCKET", bucket), ("PUSHGATEWAY_URL", &self.pushgateway.url())];
        let config = DriftCheckConfig::from_env(&env).unwrap();
        let drift = drift_check::App::new(self.s3.client(), config, load_reference().unwrap(), None).unwrap();
        // The two whole hours before the next one: what was just logged, even if logging crossed an hour.
        let next_hour = time::OffsetDateTime::now_utc() + time::Duration::HOUR;
        drift.run(&json!({"window": {"hours": 2}}), next_hour).await.unwrap()
    }

    /// The verdict alerts firing once Prometheus has scraped a push of `rows` rows and evaluated the rules.
    async fn firing_after_push(&self, rows: usize) -> BTreeSet<String> {
        let alerts = self.prometheus.alerts_after("fraud_drift_window_rows", rows as f64, Duration::from_secs(60));
        alerts
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.state == "firing" && VERDICT_ALERTS.contains(&a.name.as_str()))
            .map(|a| a.name)
            .collect()
    }
}

#[tokio::test]
async fn normal_traffic_raises_no_alert_and_incidents_raise_theirs() {
    let stack = Stack::start().await;

    // Each run sends a different number of transactions, so "Prometheus has scraped this run's push" can
    // be told from the previous run's value. The drift alerts need windows of at least 1,000 rows
    // (alerts.yml explains why); normal traffic gets 2,000, where chance drift was never seen.
    let normal = stack.run("normal", Incident::Normal, 2000).await;
    assert_eq!(normal.window_rows, 2000);
    assert!(!normal.dataset_drift, "{}", normal.summary);
    assert_eq!(stack.firing_after_push(2000).await, BTreeSet::new(), "{}", normal.summary);

    // The original system's incident. It moves 6 of 29 features: the share rule (> 0.5) alone would stay
    // silent — the trap the per-feature and prediction rules close.
    let shift = stack.run("shift", Incident::DistributionShift, 1000).await;
    assert!(!shift.dataset_drift && shift.share_of_drifted_columns < 0.5, "{}", shift.summary);
    let metrics = stack.pushgateway.metrics_text().await.unwrap();
    for feature in ["V1", "V2", "V3", "V4", "V5", "Amount"] {
        let label = format!("feature=\"{feature}\"");
        let line = metrics
            .lines()
            .find(|l| l.starts_with("fraud_drift_feature_drifted{") && l.contains(&label))
            .unwrap_or_else(|| panic!("no drift flag for {feature} in\n{metrics}"));
        assert!(line.ends_with(" 1"), "{line}");
    }
    let firing = stack.firing_after_push(1000).await;
    assert!(firing.contains("ImportantFeatureDrift"), "{firing:?}");
    assert!(!firing.contains("DataDriftShare"), "{firing:?}");

    let spike = stack.run("spike", Incident::FraudSpike, 600).await;
    assert!(spike.fraud_rate.unwrap() > 0.005, "{:?}", spike.fraud_rate);
    let firing = stack.firing_after_push(600).await;
    assert!(firing.contains("FraudRateSpike"), "{firing:?}");
}

/// A promotion replaces the old champion's alert state: push as v1 (whose window drifts, so its alerts
/// fire), promote v2, run the check again — and no series or alert of v1 is left in real Prometheus,
/// DriftCheckStale included (before, each version had its own Pushgateway group, which nothing removed).
#[tokio::test]
async fn after_a_promotion_the_alerts_describe_the_champion_only() {
    let s3 = S3Server::start().await.unwrap();
    let pushgateway = Pushgateway::start().await.unwrap();
    let rules = [repo_root().join("infra/prometheus/alerts.yml")];
    let prometheus = Prometheus::start(&pushgateway.url(), &rules, Duration::from_secs(1)).await.unwrap();
    s3.create_bucket("fraudwatch").await.unwrap();
    let uri = RegistryUri::parse("test", "s3://fraudwatch/models/fraud-detector").unwrap();
    let registry = Registry::new(s3.client(), uri.clone());
    registry.push(&repo_root().join("model")).await.unwrap();
    registry.push(committed_model_as("v2", None).unwrap().path()).await.unwrap();
    registry.promote("v1").await.unwrap();

    // Two days of logs: real held-out rows as they are (3.3 % frauds: several important features drift against
    // the live-prevalence reference), then the same rows without the ones the model flags (no drift).
    let day1 = time::macros::datetime!(2026-11-20 00:00 UTC);
    let day2 = day1 + time::Duration::DAY;
    let drifting = prediction_records(1500, day1, time::Duration::SECOND).unwrap();
    let quiet: Vec<_> = prediction_records(3000, day2, time::Duration::SECOND)
        .unwrap()
        .into_iter()
        .filter(|r| r.fraud_probability < 0.01)
        .take(1500)
        .collect();
    for r in drifting.iter().chain(&quiet) {
        s3.client().put_object().bucket("fraudwatch").key(r.s3_key()).body(r.encode().into()).send().await.unwrap();
    }

    let check = |day: &'static str| {
        let (s3, registry_uri, pushgateway_url) = (s3.client(), uri.clone(), pushgateway.url());
        async move {
            // drift-check's cold start: the champion's reference, from the registry.
            let reference = drift_check::reference_for(&s3, Some(registry_uri)).await.unwrap();
            let env = [("LOG_BUCKET", "fraudwatch"), ("PUSHGATEWAY_URL", pushgateway_url.as_str())];
            let app = drift_check::App::new(s3, DriftCheckConfig::from_env(&env).unwrap(), reference, None).unwrap();
            app.run(&json!({"window": {"date": day}}), time::OffsetDateTime::now_utc()).await.unwrap()
        }
    };
    let v1 = check("2026-11-20").await;
    let alerts =
        prometheus.alerts_after("fraud_drift_window_rows{model_version=\"v1\"}", 1500.0, Duration::from_secs(60));
    let alerts = alerts.await.unwrap();
    assert!(
        alerts.iter().any(|a| a.name == "ImportantFeatureDrift" && a.labels["model_version"] == "v1"),
        "{}: {alerts:?}",
        v1.summary
    );

    registry.promote("v2").await.unwrap();
    let v2 = check("2026-11-21").await;
    assert!(!v2.dataset_drift, "{}", v2.summary);
    let alerts =
        prometheus.alerts_after("fraud_drift_window_rows{model_version=\"v2\"}", 1500.0, Duration::from_secs(60));
    let alerts = alerts.await.unwrap();
    assert!(alerts.iter().all(|a| a.labels.get("model_version").map(String::as_str) != Some("v1")), "{alerts:?}");
    let v1_series: Value = reqwest::get(format!(
        "{}/api/v1/query?query=fraud_drift_last_success_timestamp_seconds{{model_version=%22v1%22}}",
        prometheus.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v1_series["data"]["result"], json!([]), "v1's series are gone: {v1_series}");
}

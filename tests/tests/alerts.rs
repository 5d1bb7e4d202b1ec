//! The promise the whole system exists for: when the model's world changes, someone is told.
//!
//! Real transactions go through predict's handler (API Gateway v2 events) and its real SQS sink (moto),
//! the prediction-logger writes them to S3 (s3s-fs), drift-check reads the window and pushes to a real
//! Pushgateway, and a real Prometheus scraping it with `infra/prometheus/alerts.yml` loaded reports the
//! alerts on `/api/v1/alerts`. Normal traffic raises none; each incident raises the alerts written for it.

use std::collections::BTreeSet;
use std::time::Duration;

use drift_check::{load_reference, DriftCheckConfig};
use fraudwatch_core::log_record::FeatureMap;
use fraudwatch_core::registry::{Registry, RegistryUri};
use fraudwatch_model::locate_onnx_runtime;
use fraudwatch_tests::event_source::EventSourceMapping;
use fraudwatch_tests::{
    committed_model_as, prediction_records, repo_root, sample_data, Prometheus, Pushgateway, S3Server, SqsServer,
    LOGGER_BATCH_SIZE,
};
use fraudwatch_traffic::{build_traffic, read_labelled_csv, Incident, DEFAULT_SPIKE_SHARE};
use lambda_runtime::{Context, LambdaEvent};
use predict::api::App;
use predict::log_sink::SqsLogSink;
use prediction_logger::{Logger, S3Store};
use serde_json::{json, Value};

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
        self.s3.create_bucket(bucket).await.unwrap();
        let queue_url = self.sqs.create_queue(bucket, None).await.unwrap();
        let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
        let sink = SqsLogSink { sqs: self.sqs.client(), queue_url: queue_url.clone(), fallback: None };
        let predict = App::new(model, sink);

        let rows = read_labelled_csv(&sample_data()).expect("the repository's data sample (data/)");
        let traffic = build_traffic(&rows, incident, transactions, DEFAULT_SPIKE_SHARE, 7).unwrap();
        // POST /predict/batch, 100 transactions a call, each call's records drained by the event source mapping
        // into the logger before the next: moto, a Python server on these two cores, slows down as its queue
        // grows (each SendMessageBatch and ReceiveMessage scans the whole queue: 1.8 s per receive with 2,000
        // messages waiting), so the queue is kept short. POST /predict one by one is driven end to end by
        // scripts/up and the demo-page test.
        let logger = Logger::new(S3Store { client: self.s3.client(), bucket: bucket.to_string() });
        let esm = EventSourceMapping::for_tests(self.sqs.client(), &queue_url, LOGGER_BATCH_SIZE);
        let mut delivered = std::collections::HashSet::new();
        for (i, chunk) in traffic.chunks(100).enumerate() {
            let items: Vec<FeatureMap> = chunk.iter().map(|t| FeatureMap(t.features)).collect();
            let body = serde_json::to_string(&json!({ "transactions": items })).unwrap();
            let response = predict.handle(predict_event("/predict/batch", &body)).await;
            assert_eq!(response.status(), 200, "{:?}", response.body());
            let sent = (i * 100 + chunk.len()).min(transactions);
            while delivered.len() < sent {
                let invoke = |event| async { Ok(logger.handle(LambdaEvent::new(event, Context::default())).await) };
                if let Some((batch, response)) = esm.deliver_once(invoke).await.unwrap() {
                    assert!(response.unwrap().batch_item_failures.is_empty());
                    // A redelivery (moto's visibility timeout) counts once.
                    delivered.extend(batch.iter().filter_map(|m| m.message_id().map(String::from)));
                }
            }
        }
        assert_eq!(self.s3.keys(bucket, "prediction-logs/").await.unwrap().len(), transactions);

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

fn predict_event(path: &str, body: &str) -> lambda_http::Request {
    let mut e: Value =
        serde_json::from_str(include_str!("../../functions/predict/tests/fixtures/apigw-v2-request.json")).unwrap();
    e["rawPath"] = json!(path);
    e["requestContext"]["http"]["path"] = json!(path);
    e["body"] = json!(body);
    lambda_http::request::from_str(&e.to_string()).unwrap()
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

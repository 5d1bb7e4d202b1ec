//! The promise the whole system exists for: when the model's world changes, someone is told.
//!
//! Real transactions go through predict's handler (API Gateway v2 events) and its real SQS sink (moto),
//! the prediction-logger writes them to S3 (s3s-fs), drift-check reads the window and pushes to a real
//! Pushgateway, and a real Prometheus scraping it with `infra/prometheus/alerts.yml` loaded reports the
//! alerts on `/api/v1/alerts`. Normal traffic raises none; each incident raises the alerts written for it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use drift_check::{load_reference, DriftCheckConfig};
use fraudwatch_core::log_record::FeatureMap;
use fraudwatch_model::locate_onnx_runtime;
use fraudwatch_tests::event_source::EventSourceMapping;
use fraudwatch_tests::{repo_root, sample_data, Prometheus, Pushgateway, S3Server, SqsServer};
use fraudwatch_traffic::{build_traffic, read_labelled_csv, Incident, DEFAULT_SPIKE_SHARE};
use futures::StreamExt;
use lambda_runtime::{Context, LambdaEvent};
use predict::api::App;
use predict::log_sink::SqsLogSink;
use prediction_logger::{Logger, S3Store};
use serde_json::{json, Value};

/// The event source mapping's `BatchSize` in infra/template.yaml.
const LOGGER_BATCH_SIZE: usize = 100;

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
        // Concurrent, as API Gateway would call many sandboxes at once.
        let statuses: Vec<u16> = futures::stream::iter(&traffic)
            .map(|t| {
                let body = serde_json::to_string(&FeatureMap(t.features)).unwrap();
                let predict = &predict;
                async move { predict.handle(predict_event(&body)).await.status().as_u16() }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        assert!(statuses.iter().all(|s| *s == 200));

        let logger = Logger::new(S3Store { client: self.s3.client(), bucket: bucket.to_string() });
        let esm = EventSourceMapping::for_tests(self.sqs.client(), &queue_url, LOGGER_BATCH_SIZE);
        while let Some((_, response)) = esm
            .deliver_once(|event| async { Ok(logger.handle(LambdaEvent::new(event, Context::default())).await) })
            .await
            .unwrap()
        {
            assert!(response.unwrap().batch_item_failures.is_empty());
        }
        assert_eq!(self.s3.keys(bucket, "prediction-logs/").await.unwrap().len(), transactions);

        let config = DriftCheckConfig {
            bucket: bucket.to_string(),
            pushgateway_url: Some(self.pushgateway.url()),
            window_hours: 1,
            max_rows: 100_000,
        };
        let drift = drift_check::App::new(self.s3.client(), config, load_reference().unwrap());
        // "The last hour" as of the next hour: the window that holds what was just logged.
        let next_hour = time::OffsetDateTime::now_utc() + time::Duration::HOUR;
        drift.run(&json!({"window": {"hours": 1}}), next_hour).await.unwrap()
    }

    /// The verdict alerts firing once Prometheus has scraped a push of `rows` rows and evaluated the rules.
    async fn firing_after_push(&self, rows: usize) -> BTreeSet<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        loop {
            let query = format!("{}/api/v1/query?query=fraud_drift_window_rows", self.prometheus.url());
            let v: Value = http.get(&query).send().await.unwrap().json().await.unwrap();
            let scraped = v["data"]["result"][0]["value"][1].as_str() == Some(&rows.to_string());
            if scraped {
                // One scrape and two rule evaluations (1 s apart) after the new value was seen.
                tokio::time::sleep(Duration::from_secs(3)).await;
                return self
                    .prometheus
                    .alerts()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|(name, state)| state == "firing" && VERDICT_ALERTS.contains(&name.as_str()))
                    .map(|(name, _)| name)
                    .collect();
            }
            assert!(Instant::now() < deadline, "Prometheus never scraped the push: {v}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn predict_event(body: &str) -> lambda_http::Request {
    let mut e: Value =
        serde_json::from_str(include_str!("../../functions/predict/tests/fixtures/apigw-v2-request.json")).unwrap();
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

//! The promise the whole system exists for: when the model's world changes, someone is told.
//!
//! Real transactions go through predict's handler (API Gateway v2 events) and its real SQS sink (moto),
//! the prediction-logger writes them to S3 (s3s-fs), drift-check reads the window and pushes to a real
//! Pushgateway, a real Prometheus scraping it with `infra/prometheus/alerts.yml` loaded evaluates the rules
//! and sends the alerts to a real Alertmanager running the checked-in `infra/prometheus/alertmanager.yml`,
//! which mails them to a real SMTP server. Normal traffic raises no alert; each incident raises the alerts
//! written for it, and they arrive as e-mail to the receiver their severity routes to, naming the summary, the
//! model version and the runbook; the next clean window resolves them, and that arrives too.

use std::collections::BTreeSet;
use std::time::Duration;

mod support;

use drift_check::{load_reference, DriftCheckConfig};
use fraudwatch_core::registry::{Registry, RegistryUri};
use fraudwatch_tests::alerting::{receiver_addresses, runbook_link, Alertmanager, Mail, SmtpServer};
use fraudwatch_tests::{
    committed_model_as, prediction_records, repo_root, sample_data, Alert, Prometheus, Pushgateway, S3Server, SqsServer,
};
use fraudwatch_traffic::{build_traffic, read_labelled_csv, Incident, DEFAULT_SPIKE_SHARE};
use serde_json::{json, Value};
use support::send_through_pipeline;

/// Alerts about what drift-check measured (the pipeline-health alerts are tested in alerts_test.yml).
const VERDICT_ALERTS: [&str; 4] = ["FraudRateSpike", "DataDriftShare", "ImportantFeatureDrift", "PredictionDrift"];

/// How long a notification may take: Prometheus evaluates every second, Alertmanager waits a second before a
/// group's first mail and two between updates (the local timing).
const MAIL_TIMEOUT: Duration = Duration::from_secs(60);

struct Stack {
    s3: S3Server,
    sqs: SqsServer,
    pushgateway: Pushgateway,
    prometheus: Prometheus,
    smtp: SmtpServer,
    _alertmanager: Alertmanager,
}

impl Stack {
    async fn start() -> Stack {
        let smtp = SmtpServer::start().await.unwrap();
        let alertmanager = Alertmanager::start(&smtp).await.unwrap();
        let pushgateway = Pushgateway::start().await.unwrap();
        let (pushgateway_url, alertmanager_url) = (pushgateway.url(), alertmanager.url());
        let rules = [repo_root().join("infra/prometheus/alerts.yml")];
        let interval = Duration::from_secs(1);
        let prometheus = Prometheus::start_sending_to(&pushgateway_url, &rules, interval, Some(&alertmanager_url));
        let prometheus = prometheus.await.unwrap();
        Stack {
            s3: S3Server::start().await.unwrap(),
            sqs: SqsServer::start().await.unwrap(),
            pushgateway,
            prometheus,
            smtp,
            _alertmanager: alertmanager,
        }
    }

    /// Sends `incident` traffic through predict → SQS → prediction-logger → S3, then runs drift-check
    /// over it; returns drift-check's summary.
    async fn run(&self, bucket: &str, incident: Incident, transactions: usize) -> drift_check::RunSummary {
        let rows = read_labelled_csv(&sample_data()).expect("the repository's data sample (data/)");
        let traffic = build_traffic(&rows, incident, transactions, DEFAULT_SPIKE_SHARE, 7).unwrap();
        send_through_pipeline(&self.s3, &self.sqs, bucket, &traffic).await;
        self.check(bucket).await
    }

    /// Runs drift-check over what `bucket` holds (the two whole hours before the next one).
    async fn check(&self, bucket: &str) -> drift_check::RunSummary {
        let env = [("LOG_BUCKET", bucket), ("PUSHGATEWAY_URL", &self.pushgateway.url())];
        let config = DriftCheckConfig::from_env(&env).unwrap();
        let drift = drift_check::App::new(self.s3.client(), config, load_reference().unwrap(), None).unwrap();
        // The two whole hours before the next one: what was just logged, even if logging crossed an hour.
        let next_hour = time::OffsetDateTime::now_utc() + time::Duration::HOUR;
        drift.run(&json!({"window": {"hours": 2}}), next_hour).await.unwrap()
    }

    /// The verdict alerts firing once Prometheus has scraped a push of `rows` rows and evaluated the rules.
    async fn firing_after_push(&self, rows: usize) -> Vec<Alert> {
        let alerts = self.prometheus.alerts_after("fraud_drift_window_rows", rows as f64, Duration::from_secs(60));
        let alerts = alerts.await.unwrap();
        alerts.into_iter().filter(|a| a.state == "firing" && VERDICT_ALERTS.contains(&a.name.as_str())).collect()
    }

    /// How many e-mails have arrived so far: a later wait looks only at the ones after them.
    fn mails_so_far(&self) -> usize {
        self.smtp.messages().unwrap().len()
    }

    /// The notification about `alertname` in `status` ("FIRING" or "RESOLVED") that arrives after the first
    /// `after` e-mails.
    async fn notification(&self, alertname: &str, status: &str, after: usize) -> Mail {
        let what = format!("[{status}…] about {alertname}");
        let wanted = |m: &Mail| m.subject.starts_with(&format!("[{status}")) && m.subject.contains(alertname);
        self.smtp.wait_for(&what, after, MAIL_TIMEOUT, wanted).await.unwrap()
    }
}

fn names(alerts: &[Alert]) -> BTreeSet<&str> {
    alerts.iter().map(|a| a.name.as_str()).collect()
}

/// The model version every record of these runs carries (the committed card's).
fn model_version() -> String {
    let card: Value = serde_json::from_slice(&std::fs::read(repo_root().join("model/card.json")).unwrap()).unwrap();
    card["version"].as_str().unwrap().to_string()
}

/// `mail` is the notification a person needs about `alerts` (firing, all of one name): sent to the addresses of
/// `receiver`, each alert's summary as Prometheus rendered it, the model version, and the runbook link in both the
/// text and the HTML part.
fn assert_tells_a_person(mail: &Mail, receiver: &str, alerts: &[Alert]) {
    assert_eq!(mail.to, receiver_addresses(receiver).unwrap(), "{}: routed to {receiver}", mail.subject);
    assert!(mail.subject.contains(&format!("(model {})", model_version())), "{}", mail.subject);
    assert!(mail.text.contains(&format!("model version: {}", model_version())), "{}", mail.text);
    for alert in alerts {
        assert!(mail.text.contains(&alert.annotations["summary"]), "{:?} not in\n{}", alert.annotations, mail.text);
        let link = runbook_link(&alert.annotations["runbook_url"]).unwrap();
        assert!(mail.text.contains(&format!("runbook:       {link}")), "{link} not in\n{}", mail.text);
        assert!(mail.html.contains(&format!("href=\"{link}\"")), "{link} not in\n{}", mail.html);
    }
}

#[tokio::test]
async fn normal_traffic_raises_no_alert_and_incidents_reach_a_person_by_email_until_a_clean_window() {
    let stack = Stack::start().await;

    // Each drift check sees a different number of rows than the one before, so "Prometheus has scraped this
    // check's push" can be told from the previous value. The drift alerts need windows of at least 1,000 rows
    // (alerts.yml explains why); normal traffic gets 2,000, where chance drift was never seen.
    let normal = stack.run("normal", Incident::Normal, 2000).await;
    assert_eq!(normal.window_rows, 2000);
    assert!(!normal.dataset_drift, "{}", normal.summary);
    assert_eq!(names(&stack.firing_after_push(2000).await), BTreeSet::new(), "{}", normal.summary);

    // The original system's incident. It moves 6 of 29 features: the share rule (> 0.5) alone would stay
    // silent — the trap the per-feature and prediction rules close.
    let before = stack.mails_so_far();
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
    assert!(names(&firing).contains("ImportantFeatureDrift"), "{firing:?}");
    assert!(!names(&firing).contains("DataDriftShare"), "{firing:?}");
    // Normal traffic sent no mail; the shift's first is the warning to the team, one mail for every drifted
    // important feature (grouped by alert name, stage and model version).
    let mail = stack.notification("ImportantFeatureDrift", "FIRING", before).await;
    let drifted: Vec<Alert> = firing.iter().filter(|a| a.name == "ImportantFeatureDrift").cloned().collect();
    assert!(mail.subject.starts_with(&format!("[FIRING:{}] warning ImportantFeatureDrift", drifted.len())));
    assert_tells_a_person(&mail, "team", &drifted);

    // The next window is clean: the person hears that it is over.
    let before = stack.mails_so_far();
    let clean = stack.check("normal").await;
    assert!(!clean.dataset_drift, "{}", clean.summary);
    assert_eq!(names(&stack.firing_after_push(2000).await), BTreeSet::new(), "{}", clean.summary);
    let resolved = stack.notification("ImportantFeatureDrift", "RESOLVED", before).await;
    assert_eq!(resolved.to, mail.to);
    assert!(resolved.text.contains(&format!("model version: {}", model_version())), "{}", resolved.text);

    // A fraud wave is critical: it pages the on-call address, and the clean window after it resolves it.
    let before = stack.mails_so_far();
    let spike = stack.run("spike", Incident::FraudSpike, 600).await;
    assert!(spike.fraud_rate.unwrap() > 0.005, "{:?}", spike.fraud_rate);
    let firing = stack.firing_after_push(600).await;
    let spiking: Vec<Alert> = firing.iter().filter(|a| a.name == "FraudRateSpike").cloned().collect();
    assert_eq!(spiking.len(), 1, "{firing:?}");
    let mail = stack.notification("FraudRateSpike", "FIRING", before).await;
    assert!(mail.subject.starts_with("[FIRING:1] critical FraudRateSpike"), "{}", mail.subject);
    assert_tells_a_person(&mail, "page", &spiking);

    let before = stack.mails_so_far();
    stack.check("normal").await;
    assert_eq!(names(&stack.firing_after_push(2000).await), BTreeSet::new());
    let resolved = stack.notification("FraudRateSpike", "RESOLVED", before).await;
    assert_eq!(resolved.to, mail.to);
    assert!(resolved.text.contains(&spiking[0].annotations["summary"]), "{}", resolved.text);
}

/// Routing and inhibition of the checked-in alertmanager.yml, on a real Alertmanager delivering to a real SMTP
/// server: each severity reaches its receiver, and while a stage's drift check is stale its verdict alerts are
/// held back (their numbers are old) — in that stage only.
#[tokio::test]
async fn alertmanager_routes_each_severity_and_holds_back_a_stale_stages_verdicts() {
    let smtp = SmtpServer::start().await.unwrap();
    let alertmanager = Alertmanager::start(&smtp).await.unwrap();
    let alert = |name: &str, severity: &str, kind: &str, stage: &str| {
        json!({
            "labels": {"alertname": name, "severity": severity, "kind": kind, "stage": stage, "model_version": "v1"},
            "annotations": {"summary": format!("{name} in {stage}"), "runbook_url": "docs/runbook.md#x"},
        })
    };
    alertmanager
        .post_alerts(&json!([
            alert("DriftCheckStale", "warning", "pipeline", "fraudwatch-dev"),
            alert("FraudRateSpike", "critical", "verdict", "fraudwatch-dev"),
            alert("ImportantFeatureDrift", "warning", "verdict", "fraudwatch-dev"),
            alert("FraudRateSpike", "critical", "verdict", "fraudwatch-prod"),
            alert("DriftWindowTooSmall", "info", "pipeline", "fraudwatch-prod"),
        ]))
        .await
        .unwrap();

    let mail = |what: &'static str, name: &'static str, stage: &'static str| {
        let smtp = &smtp;
        async move {
            let wanted = |m: &Mail| m.subject.contains(name) && m.subject.contains(stage);
            smtp.wait_for(what, 0, MAIL_TIMEOUT, wanted).await.unwrap()
        }
    };
    let page = mail("paging prod", "FraudRateSpike", "fraudwatch-prod").await;
    assert_eq!(page.to, receiver_addresses("page").unwrap());
    let stale = mail("about dev's stale check", "DriftCheckStale", "fraudwatch-dev").await;
    assert_eq!(stale.to, receiver_addresses("team").unwrap());
    let digest = mail("in prod's digest", "DriftWindowTooSmall", "fraudwatch-prod").await;
    assert!(digest.subject.starts_with("[digest]"), "{}", digest.subject);
    assert_eq!(digest.to, receiver_addresses("digest").unwrap());

    // dev's verdicts: held back by DriftCheckStale in dev, as Alertmanager itself reports.
    for held_back in ["FraudRateSpike", "ImportantFeatureDrift"] {
        let alerts = alertmanager.alerts().await.unwrap();
        let found = alerts
            .iter()
            .find(|a| a["labels"]["alertname"] == held_back && a["labels"]["stage"] == "fraudwatch-dev")
            .unwrap_or_else(|| panic!("Alertmanager lost {held_back}: {alerts:?}"));
        assert_eq!(found["status"]["state"], "suppressed", "{found}");
        assert_eq!(found["status"]["inhibitedBy"].as_array().map(Vec::len), Some(1), "{found}");
    }
    // Every group was due at the same time (one group wait after the post), and those three mails have come.
    let mailed: Vec<String> = smtp.messages().unwrap().into_iter().map(|m| m.subject).collect();
    for held_back in ["FraudRateSpike in fraudwatch-dev", "ImportantFeatureDrift in fraudwatch-dev"] {
        assert!(!mailed.iter().any(|s| s.contains(held_back)), "{held_back} was mailed: {mailed:?}");
    }
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

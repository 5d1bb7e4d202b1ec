//! drift-check end to end on real servers: prediction logs built from real held-out transactions (the legit
//! rows of `model/parity.csv`, like live traffic), scored by the real model, written to s3s-fs; the handler
//! invoked as Lambda invokes it; the verdict read back from a real Pushgateway's `/metrics` and the reports
//! from S3.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use drift_check::{load_reference, App, DriftCheckConfig, DriftCheckError, RunSummary};
use fraudwatch_core::aws::DRIFT_S3;
use fraudwatch_core::label::label_partition_prefix;
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::metric_names as m;
use fraudwatch_core::schema::{Features, FEATURE_COUNT};
use fraudwatch_core::test_util::LogRecordBuilder;
use fraudwatch_model::{locate_onnx_runtime, FraudModel};
use fraudwatch_monitor::pushgateway::PUSH_TIMEOUT;
use fraudwatch_monitor::report::DriftReport;
use fraudwatch_monitor::run::RunError;
use fraudwatch_tests::{budgeted_s3, log_objects, repo_root, Pushgateway, S3Server, StalledServer};
use fraudwatch_traffic::read_parity_rows;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const BUCKET: &str = "fraudwatch-logs";
/// The day the tests' traffic happened.
const DAY: &str = "2026-11-20";
const DAY_START: OffsetDateTime = datetime!(2026-11-20 00:00 UTC);
const SHIFTED: [&str; 6] = ["V1", "V2", "V3", "V4", "V5", "Amount"];

/// The legit (Class 0) rows of parity.csv: held-out real transactions, fraud-free like live traffic.
fn legit_rows() -> Result<Vec<Features>> {
    let rows = read_parity_rows()?;
    Ok(rows.iter().filter(|r| !r.transaction.is_fraud).map(|r| r.transaction.features).collect())
}

/// The "distribution_shift" incident: V1..V5 + 5.0 and Amount uniform in 5,000–15,000 (the fixture's draw,
/// the same values the statistics' unit tests use).
fn shifted(rows: &[Features]) -> Result<Vec<Features>> {
    let fixture: Value =
        serde_json::from_slice(&std::fs::read(repo_root().join("shared/tests/fixtures/drift_expected.json"))?)?;
    let case = fixture["cases"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "wasserstein_real_Amount_reference_vs_uniform_5000_15000"))
        .context("the uniform Amount case")?;
    let amounts: Vec<f32> =
        case["current"].as_array().context("inline values")?.iter().map(|v| v.as_f64().unwrap() as f32).collect();
    Ok(rows
        .iter()
        .zip(amounts.iter().cycle())
        .map(|(row, &amount)| {
            let mut r = *row;
            r[..5].iter_mut().for_each(|v| *v += 5.0);
            r[FEATURE_COUNT - 1] = amount;
            r
        })
        .collect())
}

/// The rows scored by the real model and logged as predict logs them, spread over the 24 hours from `start`.
fn logged(rows: &[Features], start: OffsetDateTime) -> Result<Vec<PredictionLogRecord>> {
    let model = FraudModel::from_dir(&locate_onnx_runtime()?, &repo_root().join("model"))?;
    let scores = model.score_batch(rows)?;
    let spacing = Duration::HOUR * 24 / rows.len() as u32;
    Ok(rows
        .iter()
        .zip(scores)
        .enumerate()
        .map(|(i, (features, score))| {
            // As predict makes it: the id carries the record's own time, which names its window.
            LogRecordBuilder::at(start + spacing * i as u32)
                .request_id(format!("req-{i}"))
                .model_version(model.version())
                .features(*features)
                .scored(score.fraud_probability, model.threshold())
                .latency_us(50)
                .build()
        })
        .collect())
}

/// A bucket on a fresh s3s-fs holding `objects` (key, body).
async fn bucket_with(objects: Vec<(String, Vec<u8>)>) -> Result<S3Server> {
    S3Server::with_objects(BUCKET, objects).await
}

/// When the tests' drift checks run: a fixed instant plus the real time elapsed since the test started, so
/// report keys and timestamps never depend on the hour (or UTC day) the suite runs at, and durations are real.
const NOW: OffsetDateTime = datetime!(2026-11-22 10:17:03 UTC);

fn test_clock() -> drift_check::Clock {
    let started = std::time::Instant::now();
    std::sync::Arc::new(move || NOW + started.elapsed())
}

fn app(s3: &S3Server, pushgateway_url: &str, max_rows: &str) -> Result<App> {
    let env = [("LOG_BUCKET", BUCKET), ("PUSHGATEWAY_URL", pushgateway_url), ("DRIFT_MAX_ROWS", max_rows)];
    Ok(App::new(s3.client(), DriftCheckConfig::from_env(&env)?, load_reference()?, None)?.with_clock(test_clock()))
}

/// Invokes the handler as the Lambda runtime does.
async fn invoke(app: &App, payload: Value) -> Result<RunSummary, DriftCheckError> {
    app.handle(LambdaEvent::new(payload, Context::default())).await
}

fn day_input() -> Value {
    json!({"window": {"date": DAY}})
}

/// Our group's series on the Pushgateway's `/metrics`: name → (the `feature` label, `feature@sample` for
/// attributions, or "") → value.
async fn pushed(gateway: &Pushgateway) -> Result<BTreeMap<String, BTreeMap<String, f64>>> {
    let mut out: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for line in gateway.metrics_text().await?.lines().filter(|l| l.starts_with("fraud_drift_")) {
        let (series, value) = line.rsplit_once(' ').context("sample line")?;
        let (name, labels) = series.split_once('{').context("labels")?;
        let labels: BTreeMap<&str, &str> = labels
            .trim_end_matches('}')
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        assert_eq!((labels["job"], labels["model_version"]), ("fraud_drift_check", "v1"), "{line}");
        let feature = labels.get("feature").copied().unwrap_or_default().to_string();
        let feature = match labels.get("sample") {
            Some(sample) => format!("{feature}@{sample}"),
            None => feature,
        };
        out.entry(name.to_string()).or_default().insert(feature, value.parse()?);
    }
    Ok(out)
}

fn value(metrics: &BTreeMap<String, BTreeMap<String, f64>>, name: &str) -> Option<f64> {
    metrics.get(name).and_then(|s| s.get("")).copied()
}

async fn saved_report(s3: &S3Server, summary: &RunSummary) -> Result<(DriftReport, String)> {
    let get = |key: String| async move {
        let body = s3.client().get_object().bucket(BUCKET).key(key).send().await?.body.collect().await?;
        anyhow::Ok(body.into_bytes().to_vec())
    };
    let report = serde_json::from_slice(&get(summary.report.json_key.clone()).await?)?;
    let html = String::from_utf8(get(summary.report.html_key.clone()).await?)?;
    Ok((report, html))
}

#[tokio::test]
async fn normal_traffic_is_not_drift_and_the_verdict_reaches_the_pushgateway() -> Result<()> {
    let records = logged(&legit_rows()?, DAY_START)?;
    let s3 = bucket_with(log_objects(&records)).await?;
    let gateway = Pushgateway::start().await?;
    let app = app(&s3, &gateway.url(), "100000")?;
    // The schedule's own event: the window is the 24 hours before its time.
    let scheduled = json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-21T00:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/fraudwatch-drift-check"], "detail": {}
    });
    let summary = invoke(&app, scheduled).await?;

    assert_eq!((summary.window_rows, summary.corrupt_objects, summary.sampled), (records.len(), 0, false));
    assert_eq!(summary.report.json_key, format!("drift-reports/dt={}/{}.json", NOW.date(), summary.run_id));
    assert!(!summary.dataset_drift && summary.share_of_drifted_columns == 0.0, "{}", summary.summary);
    // Fraud-free live-like traffic against the live-prevalence reference: no prediction drift either.
    assert_eq!(summary.prediction_drifted, Some(false), "{}", summary.summary);
    assert!(summary.pushed);

    let metrics = pushed(&gateway).await?;
    assert_eq!(value(&metrics, m::DRIFT_WINDOW_ROWS), Some(records.len() as f64));
    assert_eq!(value(&metrics, m::DRIFT_SHARE), Some(0.0));
    assert_eq!(value(&metrics, m::DRIFT_DATASET), Some(0.0));
    assert_eq!(value(&metrics, m::DRIFT_PREDICTION_DRIFTED), Some(0.0));
    assert!(value(&metrics, m::DRIFT_PREDICTION_SCORE).unwrap() < 0.1);
    assert_eq!(value(&metrics, m::DRIFT_CORRUPT_OBJECTS), Some(0.0));
    let flagged = records.iter().filter(|r| r.is_fraud).count() as f64 / records.len() as f64;
    assert_eq!(value(&metrics, m::DRIFT_FRAUD_RATE), Some(flagged));
    let drifted = &metrics[m::DRIFT_FEATURE_DRIFTED];
    assert_eq!(drifted.len(), FEATURE_COUNT);
    assert!(drifted.values().all(|&v| v == 0.0), "{drifted:?}");
    assert_eq!(metrics[m::DRIFT_FEATURE_SCORE].len(), FEATURE_COUNT);
    assert_eq!(metrics[m::DRIFT_FEATURE_PSI].len(), FEATURE_COUNT);
    let last_success = value(&metrics, m::DRIFT_LAST_SUCCESS).unwrap();
    assert!(last_success >= NOW.unix_timestamp() as f64 && last_success < (NOW.unix_timestamp() + 120) as f64);
    assert!(value(&metrics, m::DRIFT_RUN_DURATION_SECONDS).unwrap() > 0.0);
    // Attribution drift: held-out legitimate traffic ranks the features by mean |contribution| as the
    // reference does (V14 first), well above Clarify's 0.9.
    let ndcg = value(&metrics, m::DRIFT_ATTRIBUTION_NDCG).unwrap();
    assert!(ndcg > 0.95 && summary.attribution_ndcg == Some(ndcg), "{}", summary.summary);
    assert_eq!(value(&metrics, m::DRIFT_ATTRIBUTION_NDCG_THRESHOLD), Some(0.9));
    let attribution = &metrics[m::DRIFT_FEATURE_ATTRIBUTION];
    assert_eq!(attribution.len(), 2 * FEATURE_COUNT, "each feature, reference and window");
    let top = |sample: &str| {
        let side = attribution.iter().filter(|(k, _)| k.ends_with(&format!("@{sample}")));
        side.max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, _)| k.split('@').next().unwrap().to_string()).unwrap()
    };
    assert_eq!((top("reference"), top("window")), ("V14".to_string(), "V14".to_string()));

    let (report, html) = saved_report(&s3, &summary).await?;
    assert_eq!(report.attribution.as_ref().map(|a| (a.window.rows, a.reference.rows)), Some((records.len(), 5000)));
    assert!(html.contains("Feature attribution (mean |TreeSHAP contribution|, log-odds)"), "the rankings");
    assert_eq!(report.window.start, DAY_START);
    assert_eq!(report.window_model_versions, BTreeMap::from([("v1".to_string(), records.len())]));
    assert_eq!(report.drift.as_ref().unwrap().features[0].method.as_str(), "wasserstein");
    assert!(
        html.contains("<table>")
            && html.contains("<td>V14</td><td class=\"m\">yes</td><td class=\"m\">wasserstein</td>"),
        "drift table"
    );
    assert_eq!(html.matches("<svg ").count(), FEATURE_COUNT + 1);
    Ok(())
}

#[tokio::test]
async fn the_distribution_shift_incident_drifts_exactly_the_shifted_features() -> Result<()> {
    let records = logged(&shifted(&legit_rows()?)?, DAY_START)?;
    let s3 = bucket_with(log_objects(&records)).await?;
    let gateway = Pushgateway::start().await?;
    let summary = invoke(&app(&s3, &gateway.url(), "100000")?, day_input()).await?;

    let metrics = pushed(&gateway).await?;
    for (feature, &flag) in &metrics[m::DRIFT_FEATURE_DRIFTED] {
        assert_eq!(flag == 1.0, SHIFTED.contains(&feature.as_str()), "{feature}: {}", summary.summary);
    }
    for feature in SHIFTED {
        // Shifted by 5 where the reference's std is ~1-2 (V1..V5), or by ~10,000 where it is ~220 (Amount).
        assert!(metrics[m::DRIFT_FEATURE_SCORE][feature] > 1.0, "{feature}");
        assert!(metrics[m::DRIFT_FEATURE_PSI][feature] > 1.0, "{feature}");
    }
    // 6 of 29 features: far below the dataset-drift rule's 0.5, which is why the alert rules also watch
    // single important features.
    assert_eq!(value(&metrics, m::DRIFT_SHARE), Some(6.0 / 29.0));
    assert_eq!(value(&metrics, m::DRIFT_DATASET), Some(0.0));
    assert_eq!(value(&metrics, m::DRIFT_WINDOW_ROWS), Some(records.len() as f64));
    // The shift moves what the model relies on: V3 (+5) now carries more of the margin than V14, and the
    // attribution ranking falls below Clarify's 0.9 (0.861) although the score distribution did not drift.
    let ndcg = value(&metrics, m::DRIFT_ATTRIBUTION_NDCG).unwrap();
    println!("distribution shift: attribution nDCG {ndcg}; {}", summary.summary);
    assert!(ndcg < 0.9 && summary.attribution_ndcg == Some(ndcg), "{}", summary.summary);
    let attribution = &metrics[m::DRIFT_FEATURE_ATTRIBUTION];
    let mut window: Vec<(&String, &f64)> = attribution.iter().filter(|(k, _)| k.ends_with("@window")).collect();
    window.sort_by(|a, b| b.1.total_cmp(a.1));
    assert_eq!(window[0].0, "V3@window", "{window:?}");
    assert!(attribution["V3@window"] > 2.0 * attribution["V3@reference"], "{attribution:?}");
    Ok(())
}

#[tokio::test]
async fn an_empty_window_pushes_zero_rows_and_claims_no_drift() -> Result<()> {
    // Traffic exists, but on another day than the one checked.
    let records = logged(&legit_rows()?[..50], DAY_START + Duration::DAY)?;
    let s3 = bucket_with(log_objects(&records)).await?;
    let gateway = Pushgateway::start().await?;
    let summary = invoke(&app(&s3, &gateway.url(), "100000")?, day_input()).await?;

    assert_eq!((summary.window_rows, summary.dataset_drift, summary.prediction_drifted), (0, false, None));
    let metrics = pushed(&gateway).await?;
    assert_eq!(value(&metrics, m::DRIFT_WINDOW_ROWS), Some(0.0));
    assert_eq!(value(&metrics, m::DRIFT_SHARE), Some(0.0));
    assert_eq!(value(&metrics, m::DRIFT_DATASET), Some(0.0));
    assert!(value(&metrics, m::DRIFT_LAST_SUCCESS).is_some());
    for absent in [
        m::DRIFT_FEATURE_DRIFTED,
        m::DRIFT_FEATURE_SCORE,
        m::DRIFT_PREDICTION_DRIFTED,
        m::DRIFT_FRAUD_RATE,
        m::DRIFT_ATTRIBUTION_NDCG,
        m::DRIFT_FEATURE_ATTRIBUTION,
    ] {
        assert!(!metrics.contains_key(absent), "{absent} pushed without data");
    }
    let (report, html) = saved_report(&s3, &summary).await?;
    assert!(report.drift.is_none() && report.summary.starts_with("no data"), "{}", report.summary);
    assert!(html.contains("no data") && !html.contains("<table>"));
    Ok(())
}

#[tokio::test]
async fn corrupt_objects_and_objects_gone_when_read_are_skipped_and_counted() -> Result<()> {
    let records = logged(&legit_rows()?[..400], DAY_START)?;
    let mut objects = log_objects(&records);
    let mut future_version: Value = serde_json::from_slice(&records[0].encode())?;
    future_version["schema_version"] = json!(3);
    let prefix = "prediction-logs/dt=2026-11-20/hour=05/";
    objects.push((format!("{prefix}truncated.json"), records[1].encode()[..40].to_vec()));
    objects.push((format!("{prefix}not-json.json"), b"\x00\x01 not json".to_vec()));
    objects.push((format!("{prefix}from-the-future.json"), serde_json::to_vec(&future_version)?));
    let s3 = bucket_with(objects).await?;
    // One more listed and then gone when read (a lifecycle expiration mid-run): skipped and counted the same way.
    s3.delete_after_listing(BUCKET, &records[399].s3_key())?;
    let gateway = Pushgateway::start().await?;
    let summary = invoke(&app(&s3, &gateway.url(), "100000")?, day_input()).await?;

    assert_eq!((summary.window_rows, summary.corrupt_objects), (399, 4));
    let metrics = pushed(&gateway).await?;
    assert_eq!(value(&metrics, m::DRIFT_CORRUPT_OBJECTS), Some(4.0));
    assert_eq!(value(&metrics, m::DRIFT_WINDOW_ROWS), Some(399.0));
    let (report, html) = saved_report(&s3, &summary).await?;
    assert_eq!((report.corrupt_objects, report.sampling.listed_objects), (4, 403));
    assert!(html.contains("4 object(s) or batched-file line(s) in the window could not be"), "{html}");
    Ok(())
}

#[tokio::test]
async fn a_large_window_is_sampled_down_to_max_rows_and_reproducibly() -> Result<()> {
    let records = logged(&legit_rows()?, DAY_START)?;
    let s3 = bucket_with(log_objects(&records)).await?;
    let gateway = Pushgateway::start().await?;
    let app = app(&s3, &gateway.url(), "1000")?;
    let first = invoke(&app, day_input()).await?;
    let second = invoke(&app, day_input()).await?;

    assert_eq!((first.window_rows, first.sampled), (1000, true));
    let (a, html) = saved_report(&s3, &first).await?;
    let (b, _) = saved_report(&s3, &second).await?;
    assert_eq!((a.sampling.listed_objects, a.sampling.max_rows, a.sampling.sampled), (records.len(), 1000, true));
    assert!(html.contains(&format!("Sampled: the window held {} prediction logs", records.len())));
    // Seeded by the window: a retry reads the same objects, so computes the same numbers.
    assert_eq!(a.drift, b.drift);
    assert_ne!(first.run_id, second.run_id);
    assert_eq!(value(&pushed(&gateway).await?, m::DRIFT_WINDOW_ROWS), Some(1000.0));
    Ok(())
}

#[tokio::test]
async fn a_failed_push_fails_the_invocation_after_the_report_is_saved() -> Result<()> {
    let records = logged(&legit_rows()?[..300], DAY_START)?;
    let s3 = bucket_with(log_objects(&records)).await?;

    // Nothing listens: unreachable.
    // Port 1 (tcpmux) is privileged and unused on loopback: connection refused.
    let unreachable = "http://127.0.0.1:1".to_string();
    let err = invoke(&app(&s3, &unreachable, "100000")?, day_input()).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DriftCheckError::Run(RunError::Push { .. })), "{message}");
    assert!(message.contains(&format!("{unreachable}/metrics/job/fraud_drift_check/stage/local")), "{message}");
    assert!(message.contains("is unreachable"), "{message}");
    let reports = s3.keys(BUCKET, "drift-reports/").await?;
    assert_eq!(reports.len(), 2, "the JSON and HTML report are saved before the push: {reports:?}");
    assert!(message.contains(reports.iter().find(|k| k.ends_with(".json")).unwrap()), "{message}");

    // A real Pushgateway answering non-2xx (no such path under this prefix).
    let gateway = Pushgateway::start().await?;
    let wrong_prefix = format!("{}/not-the-api", gateway.url());
    let message = invoke(&app(&s3, &wrong_prefix, "100000")?, day_input()).await.unwrap_err().to_string();
    assert!(message.contains("refused the push with HTTP 404"), "{message}");
    assert!(message.contains(&wrong_prefix), "{message}");
    assert_eq!(s3.keys(BUCKET, "drift-reports/").await?.len(), 4);
    assert!(pushed(&gateway).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_stalled_pushgateway_fails_the_push_within_its_timeout_and_the_report_is_kept() -> Result<()> {
    let records = logged(&legit_rows()?[..300], DAY_START)?;
    let s3 = bucket_with(log_objects(&records)).await?;
    let stalled = StalledServer::start()?;
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(PUSH_TIMEOUT * 3, invoke(&app(&s3, &stalled.endpoint(), "100000")?, day_input()))
        .await
        .context("the run outlived the push timeout: a stalled gateway held drift-check")?;
    let took = started.elapsed();
    let err = result.unwrap_err();
    assert!(matches!(err, DriftCheckError::Run(RunError::Push { .. })), "{err}");
    assert!(err.to_string().contains("timed out") || err.to_string().contains("timeout"), "{err}");
    assert!(took < PUSH_TIMEOUT + std::time::Duration::from_secs(5), "took {took:?}");
    assert_eq!(s3.keys(BUCKET, "drift-reports/").await?.len(), 2, "the report was saved before the push");
    Ok(())
}

/// drift-check on `endpoint` with its production S3 budget (`DRIFT_S3`), run once for the test day: the run's result
/// and how long it took. A run that outlives three S3 operations' budgets fails the test (Lambda would have killed it).
async fn run_with_drift_budget(
    endpoint: &str,
    pushgateway_url: Option<&str>,
) -> Result<(Result<RunSummary, DriftCheckError>, std::time::Duration)> {
    // A blank variable is an unset one: no gateway, the report is only saved.
    let config =
        DriftCheckConfig::from_env(&[("LOG_BUCKET", BUCKET), ("PUSHGATEWAY_URL", pushgateway_url.unwrap_or(""))])?;
    let app = App::new(budgeted_s3(endpoint, DRIFT_S3), config, load_reference()?, None)?.with_clock(test_clock());
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(DRIFT_S3.operation * 3, invoke(&app, day_input()))
        .await
        .context("the run outlived its S3 budget: a stalled dependency held drift-check until Lambda's timeout")?;
    Ok((result, started.elapsed()))
}

/// The labels are the quality check's input: a label object whose read stalls fails the run within one S3 operation's
/// budget, naming the object (ReadQualityFailed in the runbook), and pushes nothing — the gateway keeps the last good
/// run, which DriftCheckStale then reports as stale, rather than a push without the quality verdicts that would
/// silently resolve their alerts.
#[tokio::test]
async fn a_stalled_label_object_fails_the_run_within_its_budget_and_pushes_nothing() -> Result<()> {
    let records = logged(&legit_rows()?[..300], DAY_START)?;
    let mut objects = log_objects(&records);
    let label_key = format!("{}analyst.jsonl", label_partition_prefix(DAY_START.date()));
    objects.push((label_key.clone(), b"{}\n".to_vec()));
    let s3 = bucket_with(objects).await?;
    s3.stall_reads_of(BUCKET, &label_key)?;
    let gateway = Pushgateway::start().await?;
    let (result, took) = run_with_drift_budget(&s3.endpoint(), Some(&gateway.url())).await?;
    let err = result.unwrap_err();
    assert!(matches!(err, DriftCheckError::Run(RunError::ReadQuality(_))), "{err}");
    assert!(err.to_string().contains("GetObject") && err.to_string().contains(&label_key), "{err}");
    assert!(took < DRIFT_S3.operation + std::time::Duration::from_secs(5), "took {took:?}");
    assert!(pushed(&gateway).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_stalled_bucket_fails_the_run_clearly_within_its_budget() -> Result<()> {
    let stalled = StalledServer::start()?;
    let (result, took) = run_with_drift_budget(&stalled.endpoint(), None).await?;
    let err = result.unwrap_err();
    assert!(matches!(err, DriftCheckError::Run(RunError::Read(_))), "{err}");
    assert!(err.to_string().contains("ListObjectsV2"), "{err}");
    assert!(took < DRIFT_S3.operation + std::time::Duration::from_secs(5), "took {took:?}");
    Ok(())
}

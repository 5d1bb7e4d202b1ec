//! `fraudctl report` against a real S3 server (s3s-fs) holding saved drift reports, run as an operator runs it.

use std::process::Output;

use fraudwatch_monitor::drift::{compare, Dataset};
use fraudwatch_monitor::report::{DriftReport, Sampling};
use fraudwatch_monitor::window::Window;
use fraudwatch_tests::{fraudctl_against, repo_root, S3Server};
use time::macros::datetime;

const BUCKET: &str = "fraudwatch-reports";

fn fraudctl(s3: &S3Server, args: &[&str]) -> Output {
    fraudctl_against(env!("CARGO_BIN_EXE_fraudctl"), s3).args(args).output().unwrap()
}

/// A run comparing the last 3,000 reference rows, V1 shifted by `v1_shift`, with the whole reference.
fn report(run_id: &str, v1_shift: f64) -> DriftReport {
    let reference = Dataset::read_file(&repo_root().join("model/reference.csv.gz")).unwrap();
    let window = Dataset::from_columns(
        (0..fraudwatch_core::schema::FEATURE_COUNT)
            .map(|i| reference.feature(i)[2000..].iter().map(|v| if i == 0 { v + v1_shift } else { *v }).collect())
            .collect(),
        Some(reference.prediction().unwrap()[2000..].to_vec()),
    );
    let drift = compare(&reference, &window).unwrap();
    let at = datetime!(2026-11-22 10:00:03 UTC);
    DriftReport {
        run_id: run_id.into(),
        started_at: at,
        finished_at: at,
        window: Window::hours_before(at, 24),
        model_version: "v1".into(),
        reference_rows: reference.rows(),
        window_rows: window.rows(),
        corrupt_objects: 2,
        sampling: Sampling {
            listed_objects: window.rows(),
            listed_records: window.rows(),
            read_objects: window.rows(),
            duplicates: 0,
            max_rows: 100_000,
            sampled: false,
            seed: 9,
        },
        window_model_versions: Default::default(),
        fraud_rate: Some(0.002),
        summary: DriftReport::summarise(window.rows(), Some(&drift), None),
        drift: Some(drift),
        stage: "test".into(),
        expected_interval_seconds: 3600,
        important_features: vec![],
        feature_importance: Default::default(),
        attribution: None,
        quality: None,
    }
}

async fn save(s3: &S3Server, report: &DriftReport) -> String {
    let key = format!("{}.json", report.key_stem());
    let body = serde_json::to_vec(report).unwrap();
    s3.client().put_object().bucket(BUCKET).key(&key).body(body.into()).send().await.unwrap();
    key
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "fraudctl report failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test]
async fn prints_the_named_report_or_the_newest_with_the_drift_table() {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let quiet = report("0193a5b2-7c4e-7d8f-9a0b-000000000001", 0.0);
    let shifted = report("0193a5b2-7c4e-7d8f-9a0b-000000000002", 5.0);
    let quiet_key = save(&s3, &quiet).await;
    save(&s3, &shifted).await;

    let newest = stdout(&fraudctl(&s3, &["report", "--bucket", BUCKET]));
    assert!(newest.starts_with(&format!("run {} · model v1 · window ", shifted.run_id)), "{newest}");
    assert!(newest.contains(&format!("· {} rows · 2 corrupt objects\n{}\n", shifted.window_rows, shifted.summary)));
    let v1 = newest.lines().find(|l| l.starts_with("V1 ")).unwrap_or_else(|| panic!("no V1 row: {newest}"));
    assert!(v1.contains(" yes "), "{v1}");
    assert!(newest.contains("current fraud rate (flagged): 0.2000 %"), "{newest}");
    assert!(!newest.contains("model quality"), "a report without a quality section shows none: {newest}");

    let named = stdout(&fraudctl(&s3, &["report", &quiet_key, "--bucket", BUCKET]));
    assert!(named.starts_with(&format!("run {} ", quiet.run_id)), "{named}");
    let v1 = named.lines().find(|l| l.starts_with("V1 ")).unwrap_or_else(|| panic!("no V1 row: {named}"));
    assert!(v1.contains(" no "), "{v1}");
}

#[tokio::test]
async fn refuses_an_object_that_is_not_a_report_and_an_empty_bucket() {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let out = fraudctl(&s3, &["report", "--bucket", BUCKET]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("no drift report under s3://{BUCKET}/drift-reports/")), "{stderr}");

    let key = "drift-reports/dt=2026-11-22/not-a-report.json";
    s3.client().put_object().bucket(BUCKET).key(key).body(b"{\"run_id\": 1}".to_vec().into()).send().await.unwrap();
    let out = fraudctl(&s3, &["report", key, "--bucket", BUCKET]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("s3://{BUCKET}/{key} is not a drift report")), "{stderr}");
}

//! `fraudctl check` run as a process against a real S3 server (s3s-fs): drift-check's run over a day of the bucket,
//! its report saved where drift-check saves it.

use fraudwatch_tests::{fraudctl_against, log_objects, prediction_records, repo_root, S3Server};
use serde_json::Value;
use time::macros::datetime;

const BUCKET: &str = "fraudwatch-data";

#[tokio::test]
async fn a_day_is_checked_and_its_report_saved_as_drift_check_saves_it() {
    let records = prediction_records(300, datetime!(2026-11-20 00:00 UTC), time::Duration::minutes(4)).unwrap();
    let s3 = S3Server::with_objects(BUCKET, log_objects(&records)).await.unwrap();
    let model = |file: &str| repo_root().join("model").join(file).display().to_string();
    let (card, reference, trees) = (model("card.json"), model("reference.csv.gz"), model("trees.json"));
    let args = ["check", "--bucket", BUCKET, "--date", "2026-11-20", "--card", &card, "--reference", &reference];
    let output =
        fraudctl_against(env!("CARGO_BIN_EXE_fraudctl"), &s3).args(args).args(["--trees", &trees]).output().unwrap();
    assert!(output.status.success(), "fraudctl failed: {}", String::from_utf8_lossy(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["window_rows"], 300);
    assert_eq!(summary["window"]["start"], "2026-11-20T00:00:00Z");
    assert_eq!(summary["pushed"], false);
    assert!(summary["attribution_ndcg"].as_f64().is_some(), "{summary}");

    let key = summary["report"]["json_key"].as_str().unwrap();
    assert!(key.starts_with("drift-reports/dt="), "{key}");
    let body = s3.client().get_object().bucket(BUCKET).key(key).send().await.unwrap().body.collect().await.unwrap();
    let report: Value = serde_json::from_slice(&body.into_bytes()).unwrap();
    assert_eq!((&report["run_id"], &report["window_rows"]), (&summary["run_id"], &summary["window_rows"]));
    assert_eq!(report["stage"], "local");
    assert_eq!(report["quality"]["rows"], 300.0, "the quality window holds the day");
    let html_key = summary["report"]["html_key"].as_str().unwrap();
    assert!(s3.client().head_object().bucket(BUCKET).key(html_key).send().await.is_ok(), "{html_key}");
}

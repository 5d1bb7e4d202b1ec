//! `fraudctl labels push` against a real S3 server (s3s-fs) and `fraudctl quality` offline, run as an operator runs
//! them.

use std::process::Output;

use fraudwatch_core::label::{label_partition_day, parse_json_lines, LabelTarget};
use fraudwatch_tests::{fraudctl_against, prediction_records, repo_root, S3Server};
use fraudwatch_traffic::read_parity_rows;
use serde_json::Value;
use time::OffsetDateTime;

const BUCKET: &str = "fraudwatch-labels";

fn run(s3: &S3Server, args: &[&str]) -> Output {
    fraudctl_against(env!("CARGO_BIN_EXE_fraudctl"), s3).args(args).output().unwrap()
}

#[tokio::test]
async fn labels_push_refuses_a_file_with_a_bad_record_and_uploads_a_good_one_as_json_lines() {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "transaction_id,label,labelled_at\ntx-1,1,2026-11-20T00:00:00Z\ntx-2,maybe,2026-11-20T00:00:00Z\n",
    )
    .unwrap();
    let out = run(&s3, &["labels", "push", bad.to_str().unwrap(), "--bucket", BUCKET]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.csv: line 3: label: \"maybe\" is not 1 (fraud) or 0 (legitimate)"), "{stderr}");
    assert!(stderr.contains("nothing was uploaded"), "{stderr}");
    assert_eq!(s3.keys(BUCKET, "labels/").await.unwrap(), Vec::<String>::new());

    let good = dir.path().join("good.csv");
    std::fs::write(&good, "transaction_id,label,labelled_at,source\ntx-1,1,2026-11-20T00:00:00Z,chargeback\ntx-2,0,2026-11-20T01:00:00+01:00,\n").unwrap();
    let before = OffsetDateTime::now_utc().date();
    let out = run(&s3, &["labels", "push", good.to_str().unwrap(), "--bucket", BUCKET]);
    let after = OffsetDateTime::now_utc().date();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = s3.keys(BUCKET, "labels/").await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].ends_with(".jsonl"), "{keys:?}");
    // Partitioned by the day of the upload (either side of midnight UTC for a run that crosses it).
    let day = label_partition_day(&keys[0]).unwrap();
    assert!(day == before || day == after, "{day} is neither {before} nor {after}");
    let object = s3.client().get_object().bucket(BUCKET).key(&keys[0]).send().await.unwrap();
    let stored = parse_json_lines(&object.body.collect().await.unwrap().into_bytes(), OffsetDateTime::now_utc());
    assert!(stored.errors.is_empty());
    let targets: Vec<LabelTarget> = stored.records.iter().map(|(_, r)| r.target.clone()).collect();
    assert_eq!(targets, [LabelTarget::Transaction("tx-1".into()), LabelTarget::Transaction("tx-2".into())]);
}

/// The realized metrics of the held-out parity rows (as prediction-log records, labelled by transaction id from a CSV)
/// are scikit-learn's (`shared/tests/fixtures/quality_expected.json`, case parity_unweighted), with 500 records given
/// twice (as an export of the batched layout's table may hold them) counted once.
#[tokio::test]
async fn quality_computes_the_check_offline_from_two_files() {
    let s3 = S3Server::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2026-11-20 00:00 UTC);
    let records = prediction_records(3000, start, time::Duration::SECOND).unwrap();
    let predictions = dir.path().join("predictions.jsonl");
    let lines: Vec<u8> =
        records.iter().chain(&records[..500]).flat_map(|r| [r.encode(), b"\n".to_vec()].concat()).collect();
    std::fs::write(&predictions, lines).unwrap();
    let mut csv = String::from("transaction_id,label,labelled_at,source\n");
    for (i, row) in read_parity_rows().unwrap().iter().enumerate() {
        csv += &format!("tx-{i:06},{},2026-11-25T00:00:00Z,test\n", u8::from(row.transaction.is_fraud));
    }
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, csv).unwrap();

    let card = repo_root().join("model/card.json");
    let args = [
        "quality",
        "--predictions",
        predictions.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--card",
        card.to_str().unwrap(),
        "--as-of",
        "2026-12-01T00:00:00Z",
        "--json",
    ];
    let out = run(&s3, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("shared/tests/fixtures/quality_expected.json")).unwrap(),
    )
    .unwrap();
    let expected =
        &fixture["cases"].as_array().unwrap().iter().find(|c| c["id"] == "parity_unweighted").unwrap()["expected"];
    let realized = &report["overall"];
    for (name, field) in [("precision", "precision"), ("recall", "recall"), ("f1", "f1")] {
        let (got, want) = (realized[field].as_f64().unwrap(), expected[name].as_f64().unwrap());
        assert!((got - want).abs() <= 1e-9, "{name}: {got} vs scikit-learn {want}");
    }
    for cell in ["tp", "fp", "fn", "tn"] {
        assert_eq!(realized["confusion"][cell], expected["confusion_matrix"][cell], "{cell}");
    }
    assert_eq!(report["labels"]["matched"], Value::from(3000));
    assert_eq!(report["coverage"], Value::from(1.0));
    // The same through the table an operator reads.
    let table = run(&s3, &args[..args.len() - 1]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("2026-11-20") && text.contains("3000 distinct, 3000 matched"), "{text}");
}

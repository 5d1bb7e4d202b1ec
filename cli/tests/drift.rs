//! `fraudctl drift` run as a user runs it, on the committed reference and real held-out transactions.

use std::path::{Path, PathBuf};
use std::process::Command;

use fraudwatch_core::schema::{FEATURE_COUNT, FEATURE_NAMES};
use fraudwatch_core::test_util::LogRecordBuilder;
use fraudwatch_monitor::drift::Dataset;
use fraudwatch_traffic::read_parity_rows;
use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn fraudctl_drift(current: &Path, json: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fraudctl"));
    cmd.arg("drift").arg("--reference").arg(repo("model/reference.csv.gz")).arg("--current").arg(current);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "fraudctl drift failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// parity.csv's legit rows (held out, fraud-free like live traffic) as prediction-log JSON lines, with
/// V1 shifted by `shift`.
fn legit_records_jsonl(name: &str, shift: f32) -> PathBuf {
    let mut lines = Vec::new();
    for row in read_parity_rows().unwrap().into_iter().filter(|r| !r.transaction.is_fraud) {
        let mut features = row.transaction.features;
        features[0] += shift;
        let record = LogRecordBuilder::at(time::OffsetDateTime::UNIX_EPOCH)
            .features(features)
            .scored(row.expected_probability as f32, 0.9862222)
            .build();
        lines.extend(record.encode());
        lines.push(b'\n');
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn prints_the_drift_table_for_prediction_logs() {
    let out = fraudctl_drift(&legit_records_jsonl("legit.jsonl", 0.0), false);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("reference 5000 rows, current 2902 rows"), "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["column", "method", "score", "threshold", "drifted", "psi"]
    );
    let v1: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!((v1[0], v1[1], v1[3], v1[4]), ("V1", "wasserstein", "0.1", "no"), "{out}");
    assert_eq!(lines.iter().filter(|l| l.contains(" wasserstein ")).count(), FEATURE_COUNT + 1);
    assert!(out.contains("drifted features: 0/29 (share 0.000); dataset drift: no (share >= 0.5)"), "{out}");
    assert!(out.contains("prediction drift: no (wasserstein score"), "{out}");
    assert!(out.contains("current fraud rate (flagged): "), "{out}");
}

#[test]
fn json_output_carries_the_whole_comparison() {
    let out = fraudctl_drift(&legit_records_jsonl("shifted.jsonl", 5.0), true);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["reference_rows"].as_u64(), v["current_rows"].as_u64()), (Some(5000), Some(2902)));
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), FEATURE_COUNT);
    assert_eq!(features[0]["column"], "V1");
    assert_eq!(features[0]["drifted"], true);
    assert!(features[0]["score"].as_f64().unwrap() > 2.0);
    assert_eq!(v["number_of_drifted_columns"], 1);
    assert_eq!(v["dataset_drift"], false);
    assert_eq!(v["prediction"]["column"], "fraud_probability");
    assert!(features[0]["histogram"]["reference_counts"].is_array());
}

#[test]
fn a_csv_without_scores_skips_prediction_drift() {
    // The reference against itself as plain CSV without its score column: nothing drifts.
    let reference = Dataset::read_file(&repo("model/reference.csv.gz")).unwrap();
    let mut csv_text = FEATURE_NAMES.join(",") + "\n";
    for row in 0..reference.rows() {
        let values: Vec<String> = (0..FEATURE_COUNT).map(|i| reference.feature(i)[row].to_string()).collect();
        csv_text += &(values.join(",") + "\n");
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reference-without-scores.csv");
    std::fs::write(&path, csv_text).unwrap();
    let out = fraudctl_drift(&path, false);
    assert!(out.contains("drifted features: 0/29 (share 0.000)"), "{out}");
    assert!(out.contains("prediction drift: not measured (both sides need fraud_probability)"), "{out}");
    assert!(!out.contains("fraud rate"), "{out}");
}

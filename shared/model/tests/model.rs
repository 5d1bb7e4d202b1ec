//! The committed model through the real ONNX Runtime: parity with the trainer, and loud failures.

use std::path::{Path, PathBuf};

use fraudwatch_core::schema::{Features, FEATURE_NAMES};
use fraudwatch_model::{locate_onnx_runtime, FraudModel, ModelError};
use fraudwatch_traffic::read_parity_rows;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model")
}

fn model() -> FraudModel {
    FraudModel::from_dir(&locate_onnx_runtime().unwrap(), &model_dir()).unwrap()
}

/// `model/parity.csv`: held-out rows and xgboost's own `predict_proba`.
fn parity_rows() -> (Vec<Features>, Vec<f64>) {
    read_parity_rows().unwrap().iter().map(|r| (r.transaction.features, r.expected_probability)).unzip()
}

#[test]
fn rust_scores_equal_xgboost_on_every_parity_row() {
    let model = model();
    let (rows, expected) = parity_rows();
    assert!(rows.len() >= 500, "the fixture holds {} rows", rows.len());
    let batch = model.score_batch(&rows).unwrap();
    let mut worst = 0f64;
    for ((row, want), batched) in rows.iter().zip(&expected).zip(&batch) {
        let single = model.score(row).unwrap();
        assert_eq!(single, *batched, "single and batch scoring agree exactly");
        worst = worst.max((single.fraud_probability as f64 - want).abs());
        assert_eq!(single.is_fraud, single.fraud_probability >= model.threshold());
    }
    assert!(worst <= 1e-5, "max abs diff {worst}");
    let frauds_flagged = batch.iter().filter(|s| s.is_fraud).count();
    assert!(frauds_flagged > 0, "the fixture holds frauds the model catches");
}

#[test]
fn the_card_matches_the_schema_and_the_bytes() {
    let model = model();
    let card = model.card();
    assert_eq!(card.features, FEATURE_NAMES);
    assert_eq!(card.name, "fraud-detector");
    assert!(card.threshold > 0.0 && card.threshold < 1.0);
    let bytes = std::fs::read(model_dir().join("model.onnx")).unwrap();
    assert_eq!(card.model_sha256, fraudwatch_core::card::sha256_hex(&bytes));
}

#[test]
fn tampered_bytes_are_refused_by_checksum() {
    let mut bytes = std::fs::read(model_dir().join("model.onnx")).unwrap();
    let card = std::fs::read(model_dir().join("card.json")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let err = FraudModel::from_bytes(&locate_onnx_runtime().unwrap(), &bytes, &card).unwrap_err();
    assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{err}");
}

#[test]
fn a_corrupt_model_whose_card_matches_fails_as_unusable() {
    let bytes = b"definitely not an onnx graph".to_vec();
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model_dir().join("card.json")).unwrap()).unwrap();
    card["model_sha256"] = fraudwatch_core::card::sha256_hex(&bytes).into();
    let card = serde_json::to_vec(&card).unwrap();
    let err = FraudModel::from_bytes(&locate_onnx_runtime().unwrap(), &bytes, &card).unwrap_err();
    assert!(matches!(err, ModelError::Graph(_)), "{err}");
}

#[test]
fn a_missing_model_directory_names_the_file() {
    let err = FraudModel::from_dir(&locate_onnx_runtime().unwrap(), Path::new("/nonexistent")).unwrap_err();
    assert_eq!(err.to_string().split(':').next().unwrap(), "cannot read /nonexistent/model.onnx");
}

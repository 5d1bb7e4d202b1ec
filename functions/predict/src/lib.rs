//! The predict Lambda: `POST /predict`, `POST /predict/batch`, `GET /health`, `GET /model`, `GET /`.

pub mod api;
pub mod config;
pub mod error;
pub mod log_sink;

use fraudwatch_shared::model::{FraudModel, ModelError};

/// The model trained by `training/train.py`, compiled into the binary so a deployment is one artifact.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../../model/model.onnx");
pub const EMBEDDED_CARD: &[u8] = include_bytes!("../../../model/card.json");

/// Loads the embedded model with the given ONNX Runtime library.
pub fn embedded_model(onnx_runtime: &std::path::Path) -> Result<FraudModel, ModelError> {
    FraudModel::from_bytes(onnx_runtime, EMBEDDED_MODEL, EMBEDDED_CARD)
}

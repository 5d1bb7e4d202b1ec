//! The predict Lambda: `POST /predict`, `POST /predict/batch`, `POST /labels`, `GET /health`, `GET /model`, `GET /`.

pub mod api;
pub mod config;
pub mod error;
pub mod labels;
pub mod log_sink;

use std::path::Path;

use config::{ModelSource, StartupError};
use fraudwatch_core::registry::Registry;
use fraudwatch_model::{FraudModel, ModelError};

/// The model trained by `training/train.py`, compiled into the binary so a deployment is one artifact.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../../model/model.onnx");
pub const EMBEDDED_CARD: &[u8] = include_bytes!("../../../model/card.json");

/// Loads the embedded model with the given ONNX Runtime library.
pub fn embedded_model(onnx_runtime: &Path) -> Result<FraudModel, ModelError> {
    FraudModel::from_bytes(onnx_runtime, EMBEDDED_MODEL, EMBEDDED_CARD)
}

/// Loads the model `source` names, once per cold start. A configured registry that cannot give a
/// verified champion fails the start: falling back to the embedded model would hide a half-configured
/// production behind a model nobody promoted.
pub async fn load_model(
    source: &ModelSource,
    onnx_runtime: &Path,
    s3: &aws_sdk_s3::Client,
) -> Result<FraudModel, StartupError> {
    let model = match source {
        ModelSource::Embedded => embedded_model(onnx_runtime)?,
        ModelSource::Registry(uri) => {
            let champion = Registry::new(s3.clone(), uri.clone()).champion().await?;
            FraudModel::from_bytes(onnx_runtime, &champion.model, &champion.card_json)?
        }
    };
    tracing::info!(model_source = %source, model_version = model.version(), "model loaded");
    Ok(model)
}

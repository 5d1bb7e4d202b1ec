//! The predict Lambda: `POST /predict`, `POST /predict/batch`, `POST /labels`, `GET /health`, `GET /model`, `GET /`.

pub mod api;
pub mod config;
pub mod error;
pub mod labels;
pub mod log_sink;
#[cfg(feature = "test-util")]
pub mod test_util;

use std::path::Path;
use std::time::Duration;

use config::{ModelSource, StartupError};
use fraudwatch_core::registry::Registry;
use fraudwatch_explain::{ExplainError, Explainer};
use fraudwatch_model::{FraudModel, ModelError};

/// The `function` dimension of predict's EMF metrics, which its CloudWatch alarms select.
pub const FUNCTION: &str = "predict";

/// The model trained by `training/train.py`, compiled into the binary so a deployment is one artifact.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../../../model/model.onnx");
pub const EMBEDDED_CARD: &[u8] = include_bytes!("../../../model/card.json");
/// The same model's trees with covers (the card's `explanation.file`), for reason codes.
pub const EMBEDDED_TREES: &[u8] = include_bytes!("../../../model/trees.json");

/// Loads the embedded model with the given ONNX Runtime library.
pub fn embedded_model(onnx_runtime: &Path) -> Result<FraudModel, ModelError> {
    FraudModel::from_bytes(onnx_runtime, EMBEDDED_MODEL, EMBEDDED_CARD)
}

/// The embedded model's explainer (reason codes), checked against its card.
pub fn embedded_explainer() -> Result<Explainer, ExplainError> {
    Explainer::from_bytes(EMBEDDED_TREES, EMBEDDED_CARD)
}

/// The whole cold-start read of the registry's champion: inside Lambda's 10 s init phase (and inside predict's
/// 10 s timeout, where Lambda re-runs an init that overran), with room left to build the ONNX session.
pub const REGISTRY_READ_DEADLINE: Duration = Duration::from_secs(8);

/// Loads the model `source` names and its explainer, once per cold start. A configured registry that
/// cannot give a verified champion fails the start: falling back to the embedded model would hide a
/// half-configured production behind a model nobody promoted. The explainer is `None` only for a champion
/// whose card names no explanation (trained before trees.json existed): it is served without reasons.
pub async fn load_model(
    source: &ModelSource,
    onnx_runtime: &Path,
    s3: &aws_sdk_s3::Client,
) -> Result<(FraudModel, Option<Explainer>), StartupError> {
    let (model, explainer) = match source {
        ModelSource::Embedded => (embedded_model(onnx_runtime)?, Some(embedded_explainer()?)),
        ModelSource::Registry(uri) => {
            let champion =
                tokio::time::timeout(REGISTRY_READ_DEADLINE, Registry::new(s3.clone(), uri.clone()).champion())
                    .await
                    .map_err(|_| StartupError::RegistryStalled {
                        uri: uri.to_string(),
                        after: REGISTRY_READ_DEADLINE,
                    })??;
            let model = FraudModel::from_bytes(onnx_runtime, &champion.model, &champion.card_json)?;
            (model, Explainer::for_card(&champion.card_json, champion.explanation.as_deref())?)
        }
    };
    match &explainer {
        Some(e) => {
            tracing::info!(model_source = %source, model_version = model.version(), trees = e.trees(), "model loaded")
        }
        None => tracing::warn!(
            model_source = %source,
            model_version = model.version(),
            "model loaded without reason codes: its card names no explanation, so ?explain=true is refused (409)"
        ),
    }
    Ok((model, explainer))
}

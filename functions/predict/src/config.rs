//! predict's configuration, read once at cold start.

use std::path::PathBuf;
use std::time::Duration;

use fraudwatch_core::config::{optional, required, ConfigError, EnvSource};
use fraudwatch_core::registry::{RegistryError, RegistryUri};
use fraudwatch_explain::ExplainError;
use fraudwatch_model::{locate_onnx_runtime, ModelError};

#[derive(Debug, Clone)]
pub struct PredictConfig {
    /// `PREDICTION_LOG_QUEUE_URL`: where prediction-log records are sent.
    pub queue_url: String,
    /// `LOG_BUCKET` (optional): written directly when SQS is unavailable, and where `POST /labels` stores labels
    /// (without it that route answers 503).
    pub fallback_bucket: Option<String>,
    /// `ORT_DYLIB_PATH`, or the library beside the executable, or the Lambda layer's.
    pub onnx_runtime: PathBuf,
    /// `MODEL_REGISTRY_URI`: the registry's champion when set, else the model embedded in the binary.
    pub model_source: ModelSource,
}

/// Where the cold start takes its model from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    Embedded,
    Registry(RegistryUri),
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Embedded => f.write_str("embedded"),
            ModelSource::Registry(uri) => write!(f, "registry {uri}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the model registry {uri} did not answer within {after:?}: a cold start has 10 s in all")]
    RegistryStalled { uri: String, after: Duration },
    #[error("the model's explanation: {0}")]
    Explanation(#[from] ExplainError),
}

impl PredictConfig {
    pub fn from_env(env: &impl EnvSource) -> Result<Self, StartupError> {
        Ok(PredictConfig {
            queue_url: required(env, "PREDICTION_LOG_QUEUE_URL")?,
            fallback_bucket: optional(env, "LOG_BUCKET"),
            onnx_runtime: locate_onnx_runtime()?,
            model_source: RegistryUri::from_env(env)?.map_or(ModelSource::Embedded, ModelSource::Registry),
        })
    }
}

//! predict's configuration, read once at cold start.

use std::path::PathBuf;

use fraudwatch_shared::config::{optional, required, ConfigError, EnvSource};
use fraudwatch_shared::model::{locate_onnx_runtime, ModelError};

#[derive(Debug, Clone)]
pub struct PredictConfig {
    /// `PREDICTION_LOG_QUEUE_URL`: where prediction-log records are sent.
    pub queue_url: String,
    /// `LOG_BUCKET` (optional): written directly when SQS is unavailable.
    pub fallback_bucket: Option<String>,
    /// `ORT_DYLIB_PATH`, or the library beside the executable, or the Lambda layer's.
    pub onnx_runtime: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl PredictConfig {
    pub fn from_env(env: &impl EnvSource) -> Result<Self, StartupError> {
        Ok(PredictConfig {
            queue_url: required(env, "PREDICTION_LOG_QUEUE_URL")?,
            fallback_bucket: optional(env, "LOG_BUCKET"),
            onnx_runtime: locate_onnx_runtime()?,
        })
    }
}

//! Everything the fraudwatch functions share: the transaction schema and its validation, the ONNX
//! model and its registry in S3, the prediction-log record and its S3 layout, drift statistics, metric names
//! and configuration.

pub mod alert_thresholds;
#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod drift;
pub mod incident;
pub mod log_record;
pub mod metric_names;
pub mod model;
#[cfg(feature = "aws")]
pub mod registry;
pub mod schema;
pub mod startup;

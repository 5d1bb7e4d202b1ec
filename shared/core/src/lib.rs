//! What every fraudwatch function needs, and nothing more: the transaction schema and its validation, the
//! model card, the prediction id (a UUIDv7 carrying its time), the prediction-log record and its S3 layouts (one object per prediction, or batched files), the ground-truth label record and its layout, metric
//! names, alert thresholds, configuration, start-up reporting, the object-store seam every S3 call goes through (`store`), and (feature `aws`) the AWS clients and the model registry, (feature `lambda`) JSON logs and
//! EMF metrics.

pub mod alert_thresholds;
#[cfg(feature = "aws")]
pub mod aws;
pub mod body;
pub mod card;
pub mod config;
pub mod label;
pub mod log_files;
pub mod log_record;
pub mod metric_names;
pub mod prediction_id;
#[cfg(feature = "aws")]
pub mod registry;
pub mod schema;
pub mod startup;
pub mod store;
#[cfg(feature = "lambda")]
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

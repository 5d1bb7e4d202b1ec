//! What the monitoring side reads and computes, and no function on the request path links: drift statistics
//! (Evidently's rules), model quality from labels (scikit-learn's metrics, NannyML's CBPE), the run's report, its
//! HTML and Prometheus exposition, and (feature `aws`) the prediction-log reader over S3 (both layouts,
//! deduplicated, sampled), the label reader, the run itself and the Pushgateway push.
//!
//! The modules are layered, each using only those above it in this list (`tests/layers.rs` checks it):
//! `store` and `pushgateway` (I/O helpers), `window` (the span a run reads and its partition keys), `log_reader`,
//! `drift` (statistics) and `quality` (the label join and its metrics), `baseline` (the model's reference),
//! `report` (the run's report, HTML, Prometheus exposition), `run` (the monitoring run).

pub mod baseline;
pub mod drift;
#[cfg(feature = "aws")]
pub mod log_reader;
#[cfg(feature = "aws")]
pub mod pushgateway;
pub mod quality;
pub mod report;
#[cfg(feature = "aws")]
pub mod run;
#[cfg(feature = "aws")]
pub mod store;
pub mod window;

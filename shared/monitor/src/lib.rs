//! What the monitoring side reads and computes, and no function on the request path links: drift statistics
//! (Evidently's rules), the drift report and its HTML, and (feature `aws`) the prediction-log reader over S3 (both
//! layouts, deduplicated, sampled), the drift window reader and the Pushgateway push.

pub mod drift;
#[cfg(feature = "aws")]
pub mod log_reader;

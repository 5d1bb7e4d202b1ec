//! What the monitoring side reads and computes, and no function on the request path links: drift statistics
//! (Evidently's rules), the drift report and its HTML, model quality from labels (scikit-learn's metrics, NannyML's
//! CBPE), and (feature `aws`) the prediction-log reader over S3 (both layouts, deduplicated, sampled), the window
//! and label readers and the Pushgateway push.

pub mod drift;
#[cfg(feature = "aws")]
pub mod log_reader;
pub mod quality;

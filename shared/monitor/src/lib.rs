//! What the monitoring side reads and computes, and no function on the request path links: drift statistics
//! (Evidently's rules), the drift report and its HTML, model quality from labels (scikit-learn's metrics, NannyML's
//! CBPE), and (feature `aws`) the window and label readers over S3 and the Pushgateway push.

pub mod drift;
pub mod quality;

//! What the monitoring side reads and computes, and no function on the request path links: drift statistics
//! (Evidently's rules), the drift report and its HTML, and (feature `aws`) the window reader over S3 and the
//! Pushgateway push.

pub mod drift;

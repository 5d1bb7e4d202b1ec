//! The push of a drift report's metrics to the Pushgateway group `job="fraud_drift_check",
//! model_version="<version>"`.
//!
//! A push is a PUT: it replaces every metric of the group, so series of the previous run that this run
//! does not produce (per-feature series after a no-data run) disappear instead of going stale.

use std::fmt::Write;
use std::time::Duration;

use base64::Engine;

use fraudwatch_core::metric_names as m;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("Pushgateway at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Pushgateway at {url} refused the push with HTTP {status}: {body}")]
    Rejected { url: String, status: u16, body: String },
}

/// A Pushgateway client.
#[derive(Debug, Clone)]
pub struct Pushgateway {
    base_url: String,
    http: reqwest::Client,
}

impl Pushgateway {
    /// `base_url` is e.g. `http://10.0.0.5:9091`. The timeouts keep a hung gateway from holding the
    /// function until Lambda's own timeout.
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a client with only timeouts set builds");
        Pushgateway { base_url: base_url.trim_end_matches('/').to_string(), http }
    }

    /// The group's URL: `…/metrics/job/fraud_drift_check/model_version/<version>`, the value URL-encoded,
    /// or in the `@base64` form when it holds a '/' (which URL-encoding cannot carry through the path) or
    /// is empty.
    pub fn group_url(&self, model_version: &str) -> String {
        let value = if model_version.is_empty() || model_version.contains('/') {
            // The Pushgateway spells an empty value "=" in this form.
            let encoded = base64::engine::general_purpose::URL_SAFE.encode(model_version);
            format!("model_version@base64/{}", if encoded.is_empty() { "=" } else { &encoded })
        } else {
            format!("model_version/{}", percent_encoding::utf8_percent_encode(model_version, PATH_SEGMENT))
        };
        format!("{}/metrics/job/{}/{value}", self.base_url, m::DRIFT_JOB)
    }

    /// Replaces the group's metrics with `body` (Prometheus text).
    pub async fn push(&self, model_version: &str, body: String) -> Result<(), PushError> {
        let url = self.group_url(model_version);
        let response = self
            .http
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(body)
            .send()
            .await
            .map_err(|e| PushError::Unreachable { url: url.clone(), reason: error_chain(&e) })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(PushError::Rejected { url, status: status.as_u16(), body: body.trim().to_string() });
        }
        Ok(())
    }
}

/// Everything but RFC 3986 unreserved characters is percent-encoded.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// reqwest's top-level message ("error sending request") hides the cause ("Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_urls_encode_the_version() {
        let gw = Pushgateway::new("http://127.0.0.1:9091/");
        assert_eq!(gw.group_url("v1"), "http://127.0.0.1:9091/metrics/job/fraud_drift_check/model_version/v1");
        assert_eq!(
            gw.group_url("v 2+x"),
            "http://127.0.0.1:9091/metrics/job/fraud_drift_check/model_version/v%202%2Bx"
        );
        assert_eq!(
            gw.group_url("team/v3"),
            "http://127.0.0.1:9091/metrics/job/fraud_drift_check/model_version@base64/dGVhbS92Mw=="
        );
        assert_eq!(gw.group_url(""), "http://127.0.0.1:9091/metrics/job/fraud_drift_check/model_version@base64/=");
    }
}

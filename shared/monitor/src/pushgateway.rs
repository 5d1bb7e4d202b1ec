//! The push of a drift report's metrics to the Pushgateway group `job="fraud_drift_check", stage="<stage>"`.
//!
//! A push is a PUT: it replaces every metric of the group. So series of the previous run that this run does
//! not produce disappear instead of going stale — per-feature series after a no-data run, and, because the
//! model version is a label of the samples rather than part of the group, every series of the model the
//! champion replaced: after a promotion the alert state describes the current champion only.
//!
//! With credentials the gateway is reached over TLS with HTTP basic auth (its own `--web.config.file`), so
//! nobody who can merely reach it can overwrite or delete the verdicts.

use std::fmt::Write;
use std::time::Duration;

use fraudwatch_core::card::is_valid_version;
use fraudwatch_core::metric_names as m;
use serde::Deserialize;

/// A push that takes longer has stalled: the report is already saved, and the invocation fails with a clear
/// error well inside drift-check's timeout.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("Pushgateway configuration: {0}")]
    Config(String),
    #[error("Pushgateway at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "Pushgateway at {url} refused the credentials (HTTP {status}): check the username and password in the secret"
    )]
    Unauthorized { url: String, status: u16 },
    #[error("Pushgateway at {url} refused the push with HTTP {status}: {body}")]
    Rejected { url: String, status: u16, body: String },
}

/// The gateway's credentials, as stored in the secret `PUSHGATEWAY_BASIC_AUTH_SECRET_ARN` names:
/// `{"username": "...", "password": "...", "ca_certificate": "<optional PEM>"}`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
    /// The CA that signed the gateway's certificate, when it is not a public one.
    #[serde(default)]
    pub ca_certificate: Option<String>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("ca_certificate", &self.ca_certificate.as_ref().map(|_| "<PEM>"))
            .finish()
    }
}

impl BasicAuth {
    /// Parses the secret's JSON; the error never quotes the secret.
    pub fn from_secret_json(json: &str) -> Result<Self, PushError> {
        let auth: BasicAuth = serde_json::from_str(json).map_err(|e| {
            // serde_json's message can quote an unexpected value: keep only its position and category.
            PushError::Config(format!(
                "the secret is not {{\"username\", \"password\", \"ca_certificate\"?}} JSON ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if auth.username.is_empty() || auth.password.is_empty() {
            return Err(PushError::Config("the secret's username and password must not be empty".into()));
        }
        Ok(auth)
    }
}

/// A Pushgateway client for one stage's group.
#[derive(Debug, Clone)]
pub struct Pushgateway {
    group_url: String,
    http: reqwest::Client,
    auth: Option<(String, String)>,
}

impl Pushgateway {
    /// `base_url` is e.g. `https://pushgateway.internal:9091`; `stage` names the group. With `auth`, the URL
    /// must be https (credentials never travel in clear) and `auth.ca_certificate`, if any, is trusted.
    pub fn new(base_url: &str, stage: &str, auth: Option<BasicAuth>) -> Result<Self, PushError> {
        if !is_valid_version(stage) {
            return Err(PushError::Config(format!("stage {stage:?} must be 1 to 64 of A-Z a-z 0-9 . _ -")));
        }
        let base_url = base_url.trim_end_matches('/');
        let mut http = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(PUSH_TIMEOUT);
        if let Some(auth) = &auth {
            if !base_url.starts_with("https://") {
                return Err(PushError::Config(format!(
                    "{base_url} is not https://: basic-auth credentials are only sent over TLS"
                )));
            }
            if let Some(pem) = &auth.ca_certificate {
                let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                    PushError::Config(format!("the secret's ca_certificate is not a PEM certificate: {e}"))
                })?;
                http = http.add_root_certificate(ca);
            }
        }
        let http = http.build().map_err(|e| PushError::Config(error_chain(&e)))?;
        Ok(Pushgateway {
            group_url: format!("{base_url}/metrics/job/{}/stage/{stage}", m::DRIFT_JOB),
            http,
            auth: auth.map(|a| (a.username, a.password)),
        })
    }

    /// `…/metrics/job/fraud_drift_check/stage/<stage>`.
    pub fn group_url(&self) -> &str {
        &self.group_url
    }

    /// Replaces the group's metrics with `body` (Prometheus text).
    pub async fn push(&self, body: String) -> Result<(), PushError> {
        let url = &self.group_url;
        let mut request =
            self.http.put(url).header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4").body(body);
        if let Some((username, password)) = &self.auth {
            request = request.basic_auth(username, Some(password));
        }
        let response =
            request.send().await.map_err(|e| PushError::Unreachable { url: url.clone(), reason: error_chain(&e) })?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(PushError::Unauthorized { url: url.clone(), status: status.as_u16() });
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(PushError::Rejected {
                url: url.clone(),
                status: status.as_u16(),
                body: body.trim().to_string(),
            });
        }
        Ok(())
    }
}

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
    fn the_group_is_the_stage_s() {
        let gw = Pushgateway::new("http://127.0.0.1:9091/", "fraudwatch-prod", None).unwrap();
        assert_eq!(gw.group_url(), "http://127.0.0.1:9091/metrics/job/fraud_drift_check/stage/fraudwatch-prod");
        assert!(Pushgateway::new("http://x", "a/b", None).is_err());
    }

    #[test]
    fn credentials_need_tls_and_never_show() {
        let auth = BasicAuth::from_secret_json(r#"{"username": "drift", "password": "s3cr3t"}"#).unwrap();
        assert!(!format!("{auth:?}").contains("s3cr3t"));
        let err = Pushgateway::new("http://gw:9091", "prod", Some(auth)).unwrap_err();
        assert!(err.to_string().contains("only sent over TLS"), "{err}");
        let err = BasicAuth::from_secret_json(r#"{"username": "drift", "pasword": "s3cr3t"}"#).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(BasicAuth::from_secret_json(r#"{"username": "", "password": "x"}"#).is_err());
    }
}

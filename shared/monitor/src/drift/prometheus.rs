//! A drift report as Prometheus text exposition (the metrics of docs/contracts.md), and its push to the
//! Pushgateway group `job="fraud_drift_check", model_version="<version>"`.
//!
//! A push is a PUT: it replaces every metric of the group, so series of the previous run that this run
//! does not produce (per-feature series after a no-data run) disappear instead of going stale.

use std::fmt::Write;
use std::time::Duration;

use base64::Engine;

use crate::metric_names as m;

use super::DriftReport;

/// One gauge family: its HELP text and its samples (labels, value).
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    samples: Vec<(Vec<(&'a str, &'a str)>, f64)>,
}

fn gauge<'a>(name: &'a str, help: &'a str, value: f64) -> Family<'a> {
    Family { name, help, samples: vec![(Vec::new(), value)] }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The report's metrics in the text exposition format (version 0.0.4), HELP and TYPE on every family.
/// `fraud_drift_last_success_timestamp_seconds` is the run's finish time: pushing it is the success.
pub fn prometheus_text(report: &DriftReport) -> String {
    let mut families = Vec::new();
    let (share, dataset_drift) =
        report.drift.as_ref().map_or((0.0, false), |d| (d.share_of_drifted_columns, d.dataset_drift));
    families.push(gauge(
        m::DRIFT_SHARE,
        "Share of the 29 features whose distribution drifted from the reference (0 when the window had no data).",
        share,
    ));
    families.push(gauge(
        m::DRIFT_DATASET,
        "1 when at least half of the features drifted (Evidently's dataset-drift rule), else 0.",
        flag(dataset_drift),
    ));
    if let Some(drift) = &report.drift {
        let per_feature = |value: fn(&super::ColumnDrift) -> f64| {
            drift.features.iter().map(|f| (vec![("feature", f.column.as_str())], value(f))).collect()
        };
        families.push(Family {
            name: m::DRIFT_FEATURE_SCORE,
            help: "Drift score per feature: the K-S p-value when the reference has at most 1000 rows (drift when <= 0.05), else the Wasserstein distance in reference standard deviations (drift when >= 0.1).",
            samples: per_feature(|f| f.score),
        });
        families.push(Family {
            name: m::DRIFT_FEATURE_DRIFTED,
            help: "1 when the feature drifted from the reference, else 0.",
            samples: per_feature(|f| flag(f.drifted)),
        });
        families.push(Family {
            name: m::DRIFT_FEATURE_PSI,
            help: "Population stability index of the feature over Evidently's bins (informational; 0.1 is the usual alarm level).",
            samples: per_feature(|f| f.psi),
        });
        if let Some(p) = &drift.prediction {
            families.push(gauge(m::DRIFT_PREDICTION_SCORE, "Drift score of the fraud_probability distribution against the reference's scores (same test and meaning as fraud_drift_feature_score).", p.score));
            families.push(gauge(
                m::DRIFT_PREDICTION_DRIFTED,
                "1 when the fraud_probability distribution drifted from the reference's, else 0.",
                flag(p.drifted),
            ));
        }
    }
    if let Some(rate) = report.fraud_rate {
        families.push(gauge(m::DRIFT_FRAUD_RATE, "Share of the window's predictions flagged as fraud.", rate));
    }
    families.push(gauge(
        m::DRIFT_WINDOW_ROWS,
        "Prediction-log rows compared (after sampling, without corrupt objects).",
        report.window_rows as f64,
    ));
    families.push(gauge(
        m::DRIFT_CORRUPT_OBJECTS,
        "Prediction-log objects in the window that could not be decoded and were skipped.",
        report.corrupt_objects as f64,
    ));
    families.push(gauge(
        m::DRIFT_RUN_DURATION_SECONDS,
        "Seconds the drift check took to read the window and compare it.",
        report.duration_seconds(),
    ));
    families.push(gauge(
        m::DRIFT_LAST_SUCCESS,
        "Unix time of the last drift check that computed its result.",
        unix_seconds(report.finished_at),
    ));

    let mut out = String::new();
    for family in families {
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} gauge", family.name);
        for (labels, value) in family.samples {
            out.push_str(family.name);
            if !labels.is_empty() {
                let labels: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v))).collect();
                let _ = write!(out, "{{{}}}", labels.join(","));
            }
            let _ = writeln!(out, " {}", format_value(value));
        }
    }
    out
}

/// Seconds and fraction added separately: nanoseconds since 1970 do not fit a double exactly.
fn unix_seconds(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}

/// Label values escape `\`, `"` and newline.
pub fn escape_label_value(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

/// HELP text escapes `\` and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

/// Go's ParseFloat syntax: plain decimals where they are short, exponent form for tiny or huge values.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

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
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("x\ny"), r"x\ny");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    }

    #[test]
    fn values_use_go_float_syntax() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1e-300), "1e-300");
        assert_eq!(format_value(1_700_000_000.5), "1700000000.5");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }

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

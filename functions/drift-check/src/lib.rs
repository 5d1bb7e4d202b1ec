//! The drift-check Lambda: on its EventBridge schedule (or a manual invocation naming a window) it reads
//! the window's prediction logs, compares them with the model's reference (`shared::drift`), saves the
//! report to `drift-reports/dt=YYYY-MM-DD/<run_id>.{json,html}` and pushes the verdict to the
//! Pushgateway.
//!
//! - An empty window is a result, not a failure: the report says "no data" and the push carries
//!   `window_rows` 0, share 0 and dataset drift 0 (no drift claimed) with the success timestamp.
//! - Undecodable objects are skipped and counted (`fraud_drift_corrupt_objects`), never fatal.
//! - The report is saved before the push; a failed push fails the invocation (so Lambda retries and the
//!   error alarm fires) with the report already in S3.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use fraudwatch_core::config::{optional, parse_or, required, ConfigError, EnvSource};
use fraudwatch_core::registry::{Registry, RegistryError, RegistryUri};
use fraudwatch_monitor::drift::dataset::ReferenceError;
use fraudwatch_monitor::drift::prometheus::prometheus_text;
use fraudwatch_monitor::drift::pushgateway::{PushError, Pushgateway};
use fraudwatch_monitor::drift::s3::{read_window, save_report, S3Error, SavedReport};
use fraudwatch_monitor::drift::{compare, DriftError, DriftReport, Reference, Sampling, Window};
use lambda_runtime::{tracing, Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The training reference and its card, compiled in so a deployment is one artifact.
pub const EMBEDDED_REFERENCE: &[u8] = include_bytes!("../../../model/reference.csv.gz");
pub const EMBEDDED_CARD: &[u8] = include_bytes!("../../../model/card.json");

/// The longest window a run may read (30 days, the template's `DriftWindowHours` maximum).
pub const MAX_WINDOW_HOURS: u32 = 720;

/// The training reference of the model embedded in the binaries (predict serves that model when no
/// registry is configured).
pub fn load_reference() -> Result<Reference, ReferenceError> {
    Reference::from_artifacts(EMBEDDED_CARD, EMBEDDED_REFERENCE)
}

/// The registry champion's own reference: traffic is compared with the reference of the model that
/// serves it. Checked end to end (pointer → card → reference sha256).
pub async fn reference_from_registry(registry: &Registry) -> Result<Reference, StartupError> {
    let (card_json, reference) = registry.champion_reference().await?;
    Ok(Reference::from_artifacts(&card_json, &reference)?)
}

/// Where the reference comes from: the registry's champion when `MODEL_REGISTRY_URI` is set (the same
/// rule predict follows, with no silent fallback), else the embedded one.
pub async fn reference_for(s3: &aws_sdk_s3::Client, registry: Option<RegistryUri>) -> Result<Reference, StartupError> {
    match registry {
        Some(uri) => reference_from_registry(&Registry::new(s3.clone(), uri)).await,
        None => Ok(load_reference()?),
    }
}

/// Why drift-check could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the drift reference: {0}")]
    Reference(#[from] ReferenceError),
    #[error("the model registry: {0}")]
    Registry(#[from] RegistryError),
}

/// drift-check's configuration, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftCheckConfig {
    /// `LOG_BUCKET`: holds `prediction-logs/` and receives `drift-reports/`.
    pub bucket: String,
    /// `PUSHGATEWAY_URL` (optional, like the template's parameter): without it reports are saved and
    /// nothing is pushed.
    pub pushgateway_url: Option<String>,
    /// `DRIFT_WINDOW_HOURS` (default 24): the whole hours before the run's hour that a scheduled run reads.
    pub window_hours: u32,
    /// `DRIFT_MAX_ROWS` (default 100,000): at most this many log objects are read; a larger window is
    /// sampled uniformly.
    pub max_rows: usize,
}

impl DriftCheckConfig {
    pub fn from_env(env: &impl EnvSource) -> Result<Self, ConfigError> {
        let invalid = |var: &str, problem: String| ConfigError { var: var.into(), problem };
        let pushgateway_url = optional(env, "PUSHGATEWAY_URL");
        if let Some(url) = &pushgateway_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("PUSHGATEWAY_URL", format!("= {url:?} must start with http:// or https://")));
            }
        }
        let window_hours = parse_or(env, "DRIFT_WINDOW_HOURS", 24u32)?;
        if !(1..=MAX_WINDOW_HOURS).contains(&window_hours) {
            return Err(invalid("DRIFT_WINDOW_HOURS", format!("= {window_hours} must be 1 to {MAX_WINDOW_HOURS}")));
        }
        let max_rows = parse_or(env, "DRIFT_MAX_ROWS", 100_000usize)?;
        if max_rows == 0 {
            return Err(invalid("DRIFT_MAX_ROWS", "= 0 must be at least 1".into()));
        }
        Ok(DriftCheckConfig { bucket: required(env, "LOG_BUCKET")?, pushgateway_url, window_hours, max_rows })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriftCheckError {
    #[error("invalid input: {0} (expected {{}}, an EventBridge scheduled event, {{\"window\": {{\"date\": \"YYYY-MM-DD\"}}}} or {{\"window\": {{\"hours\": N}}}})")]
    Input(String),
    #[error("reading the window: {0}")]
    Read(S3Error),
    #[error("comparing the window with the reference: {0}")]
    Drift(#[from] DriftError),
    #[error("saving the report: {0}")]
    Save(S3Error),
    #[error("report saved to s3://{bucket}/{key}, but the push failed: {source}")]
    Push { bucket: String, key: String, source: PushError },
}

impl From<DriftCheckError> for Diagnostic {
    fn from(e: DriftCheckError) -> Self {
        let error_type = match e {
            DriftCheckError::Input(_) => "InvalidInput",
            DriftCheckError::Read(_) => "ReadWindowFailed",
            DriftCheckError::Drift(_) => "DriftComputationFailed",
            DriftCheckError::Save(_) => "SaveReportFailed",
            DriftCheckError::Push { .. } => "PushFailed",
        };
        Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// A manual run's window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowOverride {
    window: WindowSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum WindowSpec {
    /// One UTC day, `YYYY-MM-DD`.
    Date(String),
    /// The last N whole hours.
    Hours(u32),
}

/// The window an invocation asks for: `{"window": {"date": …}}` or `{"window": {"hours": N}}`, or else
/// (the schedule's `{}` input, or a full EventBridge scheduled event, whose `time` then stands for "now"
/// so a retried event reads the same window) the `default_hours` before the current hour.
pub fn requested_window(payload: &Value, now: OffsetDateTime, default_hours: u32) -> Result<Window, DriftCheckError> {
    let input_error = |e: &dyn std::fmt::Display| DriftCheckError::Input(e.to_string());
    let object = match payload {
        Value::Null => return Ok(Window::hours_before(now, default_hours)),
        Value::Object(o) => o,
        other => return Err(input_error(&format!("a JSON {}", json_type(other)))),
    };
    if object.contains_key("window") {
        let WindowOverride { window } = serde_json::from_value(payload.clone()).map_err(|e| input_error(&e))?;
        return match window {
            WindowSpec::Date(text) => {
                let date = time::Date::parse(&text, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|e| input_error(&format!("window.date {text:?}: {e}")))?;
                Ok(Window::day(date))
            }
            WindowSpec::Hours(hours) if (1..=MAX_WINDOW_HOURS).contains(&hours) => Ok(Window::hours_before(now, hours)),
            WindowSpec::Hours(hours) => {
                Err(input_error(&format!("window.hours {hours} is not 1 to {MAX_WINDOW_HOURS}")))
            }
        };
    }
    if object.contains_key("detail-type") {
        let event: EventBridgeEvent = serde_json::from_value(payload.clone()).map_err(|e| input_error(&e))?;
        let at = event.time.and_then(|t| OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()).unwrap_or(now);
        return Ok(Window::hours_before(at, default_hours));
    }
    if object.is_empty() {
        return Ok(Window::hours_before(now, default_hours));
    }
    Err(input_error(&format!("unknown fields {:?}", object.keys().collect::<Vec<_>>())))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What an invocation returns: the verdict in brief and where the report is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub window: Window,
    pub window_rows: usize,
    pub corrupt_objects: usize,
    pub sampled: bool,
    pub share_of_drifted_columns: f64,
    pub dataset_drift: bool,
    pub prediction_drifted: Option<bool>,
    pub fraud_rate: Option<f64>,
    pub report: SavedReport,
    /// False when no Pushgateway is configured.
    pub pushed: bool,
    pub summary: String,
}

/// The handler and what it holds across invocations.
pub struct App {
    pub s3: aws_sdk_s3::Client,
    pub config: DriftCheckConfig,
    pub reference: Reference,
    pushgateway: Option<Pushgateway>,
}

impl App {
    pub fn new(s3: aws_sdk_s3::Client, config: DriftCheckConfig, reference: Reference) -> Self {
        let pushgateway = config.pushgateway_url.as_deref().map(Pushgateway::new);
        App { s3, config, reference, pushgateway }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<RunSummary, DriftCheckError> {
        self.run(&event.payload, OffsetDateTime::now_utc()).await
    }

    /// One drift check of the window `payload` asks for, as of `now`.
    pub async fn run(&self, payload: &Value, now: OffsetDateTime) -> Result<RunSummary, DriftCheckError> {
        let started_at = OffsetDateTime::now_utc();
        let window = requested_window(payload, now, self.config.window_hours)?;
        // Seeded by the window, so a retry of the same window reads the same sample.
        let seed = window.start.unix_timestamp() as u64;
        let logs = read_window(&self.s3, &self.config.bucket, &window, self.config.max_rows, seed)
            .await
            .map_err(DriftCheckError::Read)?;
        let window_rows = logs.data.rows();
        let drift = if window_rows == 0 { None } else { Some(compare(&self.reference.data, &logs.data)?) };
        let report = DriftReport {
            run_id: uuid::Uuid::now_v7().to_string(),
            started_at,
            finished_at: OffsetDateTime::now_utc(),
            window,
            model_version: self.reference.model_version.clone(),
            reference_rows: self.reference.data.rows(),
            window_rows,
            corrupt_objects: logs.corrupt_objects,
            sampling: Sampling {
                listed_objects: logs.listed_objects,
                max_rows: self.config.max_rows,
                sampled: logs.sampled,
                seed,
            },
            window_model_versions: logs.model_versions,
            fraud_rate: logs.data.fraud_rate(),
            summary: DriftReport::summarise(window_rows, drift.as_ref()),
            drift,
        };
        let saved = save_report(&self.s3, &self.config.bucket, &report).await.map_err(DriftCheckError::Save)?;
        tracing::info!(
            run_id = report.run_id,
            window_start = %report.window.start,
            window_end = %report.window.end,
            rows = window_rows,
            corrupt_objects = report.corrupt_objects,
            sampled = report.sampling.sampled,
            report = saved.json_key,
            "{}",
            report.summary
        );
        let pushed = match &self.pushgateway {
            Some(gateway) => {
                gateway.push(&report.model_version, prometheus_text(&report)).await.map_err(|source| {
                    DriftCheckError::Push { bucket: self.config.bucket.clone(), key: saved.json_key.clone(), source }
                })?;
                true
            }
            None => {
                tracing::warn!("PUSHGATEWAY_URL is not set: the report was saved, no metrics were pushed");
                false
            }
        };
        let drift = report.drift.as_ref();
        Ok(RunSummary {
            run_id: report.run_id.clone(),
            window: report.window,
            window_rows,
            corrupt_objects: report.corrupt_objects,
            sampled: report.sampling.sampled,
            share_of_drifted_columns: drift.map_or(0.0, |d| d.share_of_drifted_columns),
            dataset_drift: drift.is_some_and(|d| d.dataset_drift),
            prediction_drifted: drift.and_then(|d| d.prediction.as_ref()).map(|p| p.drifted),
            fraud_rate: report.fraud_rate,
            report: saved,
            pushed,
            summary: report.summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:17:03 UTC);

    fn window(payload: Value) -> Result<Window, DriftCheckError> {
        requested_window(&payload, NOW, 24)
    }

    #[test]
    fn the_schedule_reads_the_whole_hours_before_the_current_one() {
        let expected = Window { start: datetime!(2026-11-21 10:00 UTC), end: datetime!(2026-11-22 10:00 UTC) };
        assert_eq!(window(json!({})).unwrap(), expected);
        assert_eq!(window(Value::Null).unwrap(), expected);
        assert_eq!(expected.partition_prefixes().len(), 24);
        let scheduled = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-22T08:00:00Z",
            "region": "eu-west-1", "resources": ["arn:aws:events:eu-west-1:123456789012:rule/drift"], "detail": {}
        });
        // A retried event reads the window of its scheduled time, not of the retry.
        assert_eq!(
            window(scheduled).unwrap(),
            Window { start: datetime!(2026-11-21 08:00 UTC), end: datetime!(2026-11-22 08:00 UTC) }
        );
    }

    #[test]
    fn a_manual_run_names_a_day_or_a_number_of_hours() {
        assert_eq!(window(json!({"window": {"date": "2026-11-20"}})).unwrap(), Window::day(date!(2026 - 11 - 20)));
        assert_eq!(
            window(json!({"window": {"hours": 3}})).unwrap(),
            Window { start: datetime!(2026-11-22 07:00 UTC), end: datetime!(2026-11-22 10:00 UTC) }
        );
        for bad in [
            json!({"window": {"date": "20/11/2026"}}),
            json!({"window": {"hours": 0}}),
            json!({"window": {"hours": 721}}),
            json!({"window": {"days": 2}}),
            json!({"window": {"hours": 2}, "extra": 1}),
            json!({"windw": {"hours": 2}}),
            json!([1]),
        ] {
            let err = window(bad.clone()).unwrap_err();
            assert!(matches!(err, DriftCheckError::Input(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn configuration_errors_name_the_variable() {
        let config = DriftCheckConfig::from_env(&[("LOG_BUCKET", "logs")]).unwrap();
        assert_eq!(
            config,
            DriftCheckConfig { bucket: "logs".into(), pushgateway_url: None, window_hours: 24, max_rows: 100_000 }
        );
        let err = |env: &[(&str, &str); 2]| DriftCheckConfig::from_env(env).unwrap_err().var;
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("PUSHGATEWAY_URL", "10.0.0.5:9091")]), "PUSHGATEWAY_URL");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("DRIFT_WINDOW_HOURS", "0")]), "DRIFT_WINDOW_HOURS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("DRIFT_MAX_ROWS", "lots")]), "DRIFT_MAX_ROWS");
        assert_eq!(err(&[("PUSHGATEWAY_URL", "http://x:9091"), ("DRIFT_MAX_ROWS", "5")]), "LOG_BUCKET");
    }

    #[test]
    fn the_embedded_reference_is_the_card_s() {
        let r = load_reference().unwrap();
        assert_eq!((r.model_version.as_str(), r.data.rows()), ("v1", 5000));
    }
}

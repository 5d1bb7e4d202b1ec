//! The drift-check Lambda: on its EventBridge schedule (or a manual invocation naming a window) it runs the
//! monitoring run of `fraudwatch_monitor::run` over the window: drift against the model's reference, quality from
//! labels, the report saved to `drift-reports/dt=YYYY-MM-DD/<run_id>.{json,html}`, the verdict pushed to the
//! Pushgateway. This adapter reads its configuration from the environment, the window from the event, builds the
//! clients once at cold start, and turns the run's errors into Lambda diagnostics and its numbers into EMF
//! metrics; `fraudctl check` runs the same run on demand.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use fraudwatch_core::card::is_valid_version;
use fraudwatch_core::config::{optional, parse_or, required, ConfigError, EnvSource};
use fraudwatch_core::metric_names::{DRIFT_CHECK_PUSH_FAILURES_TOTAL, DRIFT_CHECK_WINDOW_ROWS};
use fraudwatch_core::registry::{Registry, RegistryError, RegistryUri};
use fraudwatch_core::telemetry;
use fraudwatch_monitor::baseline::{Reference, ReferenceError};
use fraudwatch_monitor::pushgateway::{BasicAuth, PushError, Pushgateway};
use fraudwatch_monitor::quality::{LabelConvention, QualitySettings};
pub use fraudwatch_monitor::run::{
    Clock, RunConfig, RunSummary, DEFAULT_INTERVAL_SECONDS, DEFAULT_LABEL_STALE_DAYS, DEFAULT_MAX_ROWS,
    DEFAULT_QUALITY_LOOKBACK_DAYS, DEFAULT_QUALITY_MAX_ROWS, MAX_QUALITY_LOOKBACK_DAYS, MAX_WINDOW_HOURS,
};
use fraudwatch_monitor::run::{Monitor, RunError};
use fraudwatch_monitor::window::Window;
use lambda_runtime::{tracing, Diagnostic, LambdaEvent};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

/// The training reference and its card, compiled in so a deployment is one artifact.
pub const EMBEDDED_REFERENCE: &[u8] = include_bytes!("../../../model/reference.csv.gz");
pub const EMBEDDED_CARD: &[u8] = include_bytes!("../../../model/card.json");
/// The trees with covers the card names (`explanation.file`), to explain the window for attribution drift.
pub const EMBEDDED_TREES: &[u8] = include_bytes!("../../../model/trees.json");

/// The training reference of the model embedded in the binaries (predict serves that model when no
/// registry is configured).
pub fn load_reference() -> Result<Reference, ReferenceError> {
    Reference::from_artifacts(EMBEDDED_CARD, EMBEDDED_REFERENCE)?.with_explanation(EMBEDDED_CARD, Some(EMBEDDED_TREES))
}

/// The registry champion's own reference: traffic is compared with the reference of the model that
/// serves it. Checked end to end (pointer → card → reference sha256).
pub async fn reference_from_registry(registry: &Registry) -> Result<Reference, StartupError> {
    let champion = registry.champion_reference().await?;
    let reference = Reference::from_artifacts(&champion.card_json, &champion.reference)?;
    Ok(reference.with_explanation(&champion.card_json, champion.explanation.as_deref())?)
}

/// Where the reference comes from: the registry's champion when `MODEL_REGISTRY_URI` is set (the same
/// rule predict follows, with no silent fallback), else the embedded one.
pub async fn reference_for(s3: &aws_sdk_s3::Client, registry: Option<RegistryUri>) -> Result<Reference, StartupError> {
    match registry {
        Some(uri) => reference_from_registry(&Registry::new(s3.clone(), uri)).await,
        None => Ok(load_reference()?),
    }
}

/// The `function` dimension of drift-check's EMF metrics, which its CloudWatch alarms select.
pub const FUNCTION: &str = "drift-check";

/// A Secrets Manager client with the cold-start budget (`STARTUP_SECRET`): a stalled endpoint fails the start in
/// seconds, naming the secret.
pub fn secrets_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    let budget = fraudwatch_core::aws::STARTUP_SECRET;
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .timeout_config(budget.timeouts())
        .retry_config(budget.retries())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The Pushgateway's credentials from the Secrets Manager secret `arn` (read once, at cold start; the secret
/// is never logged, and errors never quote it).
pub async fn pushgateway_auth(secrets: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<BasicAuth, StartupError> {
    let secret_error = |reason: String| StartupError::Secret { arn: arn.to_string(), reason };
    let out = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| secret_error(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let json = out.secret_string().ok_or_else(|| secret_error("it holds no SecretString".into()))?;
    Ok(BasicAuth::from_secret_json(json)?)
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
    #[error("the Pushgateway: {0}")]
    Pushgateway(#[from] PushError),
    #[error("reading the Pushgateway secret {arn}: {reason}")]
    Secret { arn: String, reason: String },
}

/// drift-check's configuration, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftCheckConfig {
    /// `LOG_BUCKET` (the bucket), `DRIFT_MAX_ROWS` (default 100,000), `FRAUDWATCH_STAGE` (default `local`),
    /// `DRIFT_INTERVAL_SECONDS` (default 3600), and the quality check's `QUALITY_LOOKBACK_DAYS` (default 90, 0 =
    /// off), `LABEL_MATURITY_DAYS` (unset = explicit labels), `QUALITY_MAX_ROWS` (default 100,000),
    /// `LABEL_STALE_DAYS` (default 3).
    pub run: RunConfig,
    /// `PUSHGATEWAY_URL` (optional, like the template's parameter): without it reports are saved and
    /// nothing is pushed.
    pub pushgateway_url: Option<String>,
    /// `DRIFT_WINDOW_HOURS` (default 24): the whole hours before the run's hour that a scheduled run reads.
    pub window_hours: u32,
    /// `PUSHGATEWAY_BASIC_AUTH_SECRET_ARN` (optional): the Secrets Manager secret holding the gateway's
    /// credentials, read once at cold start; set, it requires an https:// `PUSHGATEWAY_URL`.
    pub pushgateway_secret_arn: Option<String>,
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
        let max_rows = parse_or(env, "DRIFT_MAX_ROWS", DEFAULT_MAX_ROWS)?;
        if max_rows == 0 {
            return Err(invalid("DRIFT_MAX_ROWS", "= 0 must be at least 1".into()));
        }
        let interval_seconds = parse_or(env, "DRIFT_INTERVAL_SECONDS", DEFAULT_INTERVAL_SECONDS)?;
        if !(60..=86_400).contains(&interval_seconds) {
            return Err(invalid("DRIFT_INTERVAL_SECONDS", format!("= {interval_seconds} must be 60 to 86400")));
        }
        let stage = telemetry::stage(env);
        if !is_valid_version(&stage) {
            return Err(invalid("FRAUDWATCH_STAGE", format!("= {stage:?} must be 1 to 64 of A-Z a-z 0-9 . _ -")));
        }
        let pushgateway_secret_arn = optional(env, "PUSHGATEWAY_BASIC_AUTH_SECRET_ARN");
        if pushgateway_secret_arn.is_some() && !pushgateway_url.as_deref().is_some_and(|u| u.starts_with("https://")) {
            return Err(invalid(
                "PUSHGATEWAY_URL",
                format!("= {pushgateway_url:?} must be https:// when PUSHGATEWAY_BASIC_AUTH_SECRET_ARN is set"),
            ));
        }
        Ok(DriftCheckConfig {
            run: RunConfig {
                bucket: required(env, "LOG_BUCKET")?,
                max_rows,
                stage,
                interval_seconds,
                quality: quality_settings(env)?,
            },
            pushgateway_url,
            window_hours,
            pushgateway_secret_arn,
        })
    }
}

fn quality_settings(env: &impl EnvSource) -> Result<QualitySettings, ConfigError> {
    let in_range = |var: &str, value: u32, range: std::ops::RangeInclusive<u32>| {
        if range.contains(&value) {
            Ok(value)
        } else {
            let (lo, hi) = (range.start(), range.end());
            Err(ConfigError { var: var.into(), problem: format!("= {value} must be {lo} to {hi}") })
        }
    };
    let lookback = parse_or(env, "QUALITY_LOOKBACK_DAYS", DEFAULT_QUALITY_LOOKBACK_DAYS)?;
    let convention = match optional(env, "LABEL_MATURITY_DAYS") {
        None => LabelConvention::Explicit,
        Some(_) => LabelConvention::PositiveOnly {
            maturity_days: in_range("LABEL_MATURITY_DAYS", parse_or(env, "LABEL_MATURITY_DAYS", 0)?, 1..=365)?,
        },
    };
    let max_rows = parse_or(env, "QUALITY_MAX_ROWS", DEFAULT_QUALITY_MAX_ROWS)?;
    if max_rows == 0 {
        return Err(ConfigError { var: "QUALITY_MAX_ROWS".into(), problem: "= 0 must be at least 1".into() });
    }
    Ok(QualitySettings {
        lookback_days: in_range("QUALITY_LOOKBACK_DAYS", lookback, 0..=MAX_QUALITY_LOOKBACK_DAYS)?,
        convention,
        max_rows,
        label_stale_days: in_range(
            "LABEL_STALE_DAYS",
            parse_or(env, "LABEL_STALE_DAYS", DEFAULT_LABEL_STALE_DAYS)?,
            1..=365,
        )?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum DriftCheckError {
    #[error("invalid input: {0} (expected {{}}, an EventBridge scheduled event, {{\"window\": {{\"date\": \"YYYY-MM-DD\"}}}} or {{\"window\": {{\"hours\": N}}}})")]
    Input(String),
    #[error(transparent)]
    Run(#[from] RunError),
}

impl From<DriftCheckError> for Diagnostic {
    fn from(e: DriftCheckError) -> Self {
        let error_type = match &e {
            DriftCheckError::Input(_) => "InvalidInput",
            DriftCheckError::Run(RunError::Read(_)) => "ReadWindowFailed",
            DriftCheckError::Run(RunError::ReadQuality(_)) => "ReadQualityFailed",
            DriftCheckError::Run(RunError::Drift(_)) => "DriftComputationFailed",
            DriftCheckError::Run(RunError::Save(_)) => "SaveReportFailed",
            DriftCheckError::Run(RunError::Push { .. }) => "PushFailed",
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
                Window::day(date)
                    .ok_or_else(|| input_error(&format!("window.date {text:?}: its day ends past year 9999")))
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

/// The handler and what it holds across invocations.
pub struct App {
    monitor: Monitor,
    window_hours: u32,
}

impl App {
    /// `pushgateway_auth` is the secret's credentials when `PUSHGATEWAY_BASIC_AUTH_SECRET_ARN` is set.
    pub fn new(
        s3: aws_sdk_s3::Client,
        config: DriftCheckConfig,
        reference: Reference,
        pushgateway_auth: Option<BasicAuth>,
    ) -> Result<Self, StartupError> {
        let pushgateway = match &config.pushgateway_url {
            Some(url) => Some(Pushgateway::new(url, &config.run.stage, pushgateway_auth)?),
            None => None,
        };
        Ok(App { monitor: Monitor::new(s3, config.run, reference, pushgateway), window_hours: config.window_hours })
    }

    /// The same app on another clock.
    pub fn with_clock(self, clock: Clock) -> Self {
        App { monitor: self.monitor.with_clock(clock), ..self }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<RunSummary, DriftCheckError> {
        self.run(&event.payload, self.monitor.now()).await
    }

    /// One run over the window `payload` asks for, as of `now`.
    pub async fn run(&self, payload: &Value, now: OffsetDateTime) -> Result<RunSummary, DriftCheckError> {
        let window = requested_window(payload, now, self.window_hours)?;
        let observe = |report: &fraudwatch_monitor::report::DriftReport| {
            metrics::histogram!(DRIFT_CHECK_WINDOW_ROWS).record(report.window_rows as f64);
        };
        let outcome = self.monitor.run(window, now, observe).await.inspect_err(|e| {
            if matches!(e, RunError::Push { .. }) {
                metrics::counter!(DRIFT_CHECK_PUSH_FAILURES_TOTAL).increment(1);
            }
        })?;
        if !outcome.pushed {
            tracing::warn!("PUSHGATEWAY_URL is not set: the report was saved, no metrics were pushed");
        }
        Ok(outcome.into())
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
        assert_eq!(
            window(json!({"window": {"date": "2026-11-20"}})).unwrap(),
            Window::day(date!(2026 - 11 - 20)).unwrap()
        );
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
            // Found in production review: the day after 9999-12-31 is past the calendar's range.
            json!({"window": {"date": "9999-12-31"}}),
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
            DriftCheckConfig {
                run: RunConfig {
                    bucket: "logs".into(),
                    max_rows: 100_000,
                    stage: "local".into(),
                    interval_seconds: 3600,
                    quality: QualitySettings {
                        lookback_days: 90,
                        convention: LabelConvention::Explicit,
                        max_rows: 100_000,
                        label_stale_days: 3,
                    },
                },
                pushgateway_url: None,
                window_hours: 24,
                pushgateway_secret_arn: None,
            }
        );
        let err = |env: &[(&str, &str); 2]| DriftCheckConfig::from_env(env).unwrap_err().var;
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("PUSHGATEWAY_URL", "10.0.0.5:9091")]), "PUSHGATEWAY_URL");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("DRIFT_WINDOW_HOURS", "0")]), "DRIFT_WINDOW_HOURS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("DRIFT_MAX_ROWS", "lots")]), "DRIFT_MAX_ROWS");
        assert_eq!(err(&[("PUSHGATEWAY_URL", "http://x:9091"), ("DRIFT_MAX_ROWS", "5")]), "LOG_BUCKET");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("DRIFT_INTERVAL_SECONDS", "10")]), "DRIFT_INTERVAL_SECONDS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("FRAUDWATCH_STAGE", "dev/1")]), "FRAUDWATCH_STAGE");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("QUALITY_LOOKBACK_DAYS", "401")]), "QUALITY_LOOKBACK_DAYS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("LABEL_MATURITY_DAYS", "0")]), "LABEL_MATURITY_DAYS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("LABEL_MATURITY_DAYS", "soon")]), "LABEL_MATURITY_DAYS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("QUALITY_MAX_ROWS", "0")]), "QUALITY_MAX_ROWS");
        assert_eq!(err(&[("LOG_BUCKET", "b"), ("LABEL_STALE_DAYS", "0")]), "LABEL_STALE_DAYS");
        let positive_only = DriftCheckConfig::from_env(&[("LOG_BUCKET", "b"), ("LABEL_MATURITY_DAYS", "120")]).unwrap();
        assert_eq!(positive_only.run.quality.convention, LabelConvention::PositiveOnly { maturity_days: 120 });
        let plain =
            [("LOG_BUCKET", "b"), ("PUSHGATEWAY_URL", "http://x:9091"), ("PUSHGATEWAY_BASIC_AUTH_SECRET_ARN", "arn")];
        assert_eq!(DriftCheckConfig::from_env(&plain).unwrap_err().var, "PUSHGATEWAY_URL");
    }

    #[test]
    fn the_embedded_reference_is_the_card_s_and_explains_its_rows() {
        let r = load_reference().unwrap();
        assert_eq!((r.model_version.as_str(), r.data.rows()), ("v1", 5000));
        let attribution = &r.attribution.unwrap().reference;
        assert_eq!(attribution.rows, 5000);
        // The reference's most attributed feature is the card's most important one by gain.
        assert_eq!(attribution.ranking()[0].0, "V14");
    }
}

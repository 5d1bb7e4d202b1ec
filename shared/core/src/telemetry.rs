//! What every function emits besides its result: JSON log lines and CloudWatch EMF metrics, both on stdout
//! (Lambda ships stdout to CloudWatch Logs, which extracts the EMF documents as metrics).
//!
//! Every metric carries the dimensions `stage` (`FRAUDWATCH_STAGE`, the stack name) and `function`, so two
//! stages in one account, or two functions, never feed one alarm.

use metrics_cloudwatch_embedded::Collector;

use crate::config::{optional, EnvSource};
use crate::metric_names::{EMF_FUNCTION_DIMENSION, EMF_NAMESPACE, EMF_STAGE_DIMENSION};

/// The stage when `FRAUDWATCH_STAGE` is unset: a process outside a deployed stack.
pub const LOCAL_STAGE: &str = "local";

/// Values of one histogram that one EMF document carries: CloudWatch's limit per metric per document, and the
/// size of `metrics_cloudwatch_embedded`'s buffer, which drops (and logs an error for) anything beyond it
/// until the next flush. A handler that records more values per invocation flushes in between
/// ([`FlushMetrics`]).
pub const HISTOGRAM_VALUES_PER_FLUSH: usize = 100;

/// `FRAUDWATCH_STAGE`, or [`LOCAL_STAGE`].
pub fn stage(env: &impl EnvSource) -> String {
    optional(env, "FRAUDWATCH_STAGE").unwrap_or_else(|| LOCAL_STAGE.to_string())
}

/// JSON log lines with the event's fields at the top level, whatever the function's log-format setting, so
/// CloudWatch Logs Insights can filter by them. Level from `RUST_LOG` (default `info`).
pub fn init_logging() {
    use tracing::level_filters::LevelFilter;
    use tracing_subscriber::EnvFilter;
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_env_filter(EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).from_env_lossy())
        .init();
}

/// The EMF builder for `function` in `stage`: namespace, the two dimensions and the cold-start metric.
pub fn metrics_builder(function: &'static str, stage: &str) -> metrics_cloudwatch_embedded::Builder {
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(EMF_NAMESPACE)
        .with_dimension(EMF_STAGE_DIMENSION, stage.to_string())
        .with_dimension(EMF_FUNCTION_DIMENSION, function)
        .lambda_cold_start_metric("ColdStart")
}

/// Installs the EMF collector as the process's metrics recorder (once, at cold start); the Lambda runners of
/// `metrics_cloudwatch_embedded::lambda` flush it after every invocation.
pub fn init_metrics(
    function: &'static str,
    stage: &str,
) -> Result<&'static Collector, metrics_cloudwatch_embedded::Error> {
    metrics_builder(function, stage).init()
}

/// Writes the metrics recorded so far, for a handler that records more than [`HISTOGRAM_VALUES_PER_FLUSH`]
/// values of a histogram in one invocation.
pub trait FlushMetrics: Send + Sync {
    fn flush(&self);
}

/// No recorder to flush (tests and benchmarks that do not look at metrics).
pub struct NoFlush;

impl FlushMetrics for NoFlush {
    fn flush(&self) {}
}

/// The production collector, flushed to stdout like the runner's own end-of-invocation flush.
pub struct FlushToStdout(pub &'static Collector);

impl FlushMetrics for FlushToStdout {
    fn flush(&self) {
        if let Err(e) = self.0.flush(std::io::stdout().lock()) {
            tracing::error!(error = %e, "writing EMF metrics failed");
        }
    }
}

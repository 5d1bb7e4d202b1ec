//! The prediction-logger Lambda: every SQS message carries one prediction-log record, and every record
//! becomes one S3 object at its own key ([`PredictionLogRecord::s3_key`]).
//!
//! - Nothing lost: a record that was not written is reported in `batchItemFailures` (the event source
//!   mapping has `ReportBatchItemFailures`), so SQS redelivers that message alone; after the queue's
//!   `maxReceiveCount` it moves to the dead-letter queue.
//! - Nothing duplicated: the key is a function of the record, so a redelivery rewrites the same object.
//! - A bad message never holds up its batch: it fails on its own while the others are written.
//! - A stalled S3 never times out the whole invocation (which would redeliver the records already written
//!   along with the rest): each write is bounded by `fraudwatch_core::aws::LOGGER_S3`, and no write starts
//!   later than [`DEADLINE_MARGIN`] before Lambda's deadline; what did not get written is reported as failed.

mod store;

pub use store::{LogStore, S3Store, StoreError};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use fraudwatch_core::aws::LOGGER_S3;
use fraudwatch_core::config::{required, ConfigError, EnvSource};
use fraudwatch_core::log_record::{PredictionLogRecord, RecordError};
use fraudwatch_core::metric_names::{LOG_OBJECTS_WRITTEN_TOTAL, LOG_OBJECT_FAILURES_TOTAL};
use futures::stream::{self, StreamExt};
use lambda_runtime::tracing;
use lambda_runtime::LambdaEvent;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// PutObject calls in flight per invocation: enough to keep a batch of 100 well inside the 30 s timeout
/// even at S3's per-request latency, few enough not to exhaust the 256 MB function's sockets.
pub const MAX_IN_FLIGHT: usize = 32;

/// No write starts when less than this is left before the invocation's deadline: one write's whole budget
/// (attempts and retries) plus a second for the response, so every write ends before Lambda's timeout.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(LOGGER_S3.operation.as_millis() as u64 + 1_000);

/// The logger's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct LoggerConfig {
    /// `LOG_BUCKET`: the bucket holding `prediction-logs/`.
    pub bucket: String,
}

impl LoggerConfig {
    pub fn from_env(env: &impl EnvSource) -> Result<Self, ConfigError> {
        Ok(LoggerConfig { bucket: required(env, "LOG_BUCKET")? })
    }
}

/// Why one message was not logged.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not started: less than {DEADLINE_MARGIN:?} was left before the invocation's deadline")]
    OutOfTime,
}

impl WriteError {
    /// A stable label for the log line, to count and filter failures by cause.
    fn reason(&self) -> &'static str {
        match self {
            WriteError::Record(RecordError::Malformed(_)) => "malformed",
            WriteError::Record(RecordError::UnsupportedVersion(_)) => "unsupported_schema_version",
            WriteError::Record(RecordError::Invalid(_)) => "invalid",
            WriteError::Store(_) => "store",
            WriteError::OutOfTime => "out_of_time",
        }
    }
}

/// The handler: a batch of SQS messages in, the messages to retry out.
pub struct Logger<S> {
    store: S,
}

impl<S: LogStore> Logger<S> {
    pub fn new(store: S) -> Self {
        Logger { store }
    }

    /// Writes every record of the batch, [`MAX_IN_FLIGHT`] at a time, and reports the messages that were
    /// not written. Never fails as a whole: a failed invocation would make SQS redeliver the records
    /// that were written too.
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> SqsBatchResponse {
        let messages = &event.payload.records;
        let last_start = last_start(event.context.deadline);
        let failures: Vec<(&SqsMessage, WriteError)> = stream::iter(messages)
            .map(|message| async move {
                let result = match last_start {
                    Some(at) if Instant::now() > at => Err(WriteError::OutOfTime),
                    _ => self.write(message).await,
                };
                (message, result)
            })
            .buffer_unordered(MAX_IN_FLIGHT)
            .filter_map(|(message, result)| async move { result.err().map(|e| (message, e)) })
            .collect()
            .await;
        let mut response = SqsBatchResponse::default();
        for (message, error) in failures {
            // SQS always sets a message id. Were one missing, the empty identifier makes Lambda treat the
            // whole batch as failed: redelivered, never dropped.
            let message_id = message.message_id.clone().unwrap_or_default();
            tracing::error!(
                message_id,
                reason = error.reason(),
                error = %error,
                "prediction-log record not written; SQS will redeliver it"
            );
            metrics::counter!(LOG_OBJECT_FAILURES_TOTAL, "reason" => error.reason()).increment(1);
            response.add_failure(message_id);
        }
        let failed = response.batch_item_failures.len();
        metrics::counter!(LOG_OBJECTS_WRITTEN_TOTAL).increment((messages.len() - failed) as u64);
        tracing::info!(records = messages.len(), failed, "batch logged");
        response
    }

    async fn write(&self, message: &SqsMessage) -> Result<(), WriteError> {
        let body = message.body.as_deref().unwrap_or_default();
        let record = PredictionLogRecord::decode(body.as_bytes())?;
        // The canonical encoding, not the message body verbatim: every object has the same shape
        // whatever wrote the message.
        self.store.put(&record.s3_key(), record.encode()).await?;
        Ok(())
    }
}

/// The latest instant a write may start, from Lambda's deadline (ms since the epoch), or `None` when the
/// invocation carries no usable deadline: 0 (tests that build a default context) or one that had already
/// passed when the batch arrived. Lambda always starts an invocation with its whole timeout ahead; the local
/// emulator (`cargo lambda watch`) sends the constant 600000, ten minutes after the epoch, and treating that
/// as real would refuse every record forever. Without a deadline each write is still bounded by its budget.
fn last_start(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    if deadline_ms <= now_ms {
        return None;
    }
    let left = Duration::from_millis(deadline_ms - now_ms);
    Some(Instant::now() + left.saturating_sub(DEADLINE_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_already_passed_at_arrival_is_no_deadline() {
        assert!(last_start(0).is_none());
        // What `cargo lambda watch` sends for every invocation.
        assert!(last_start(600_000).is_none());
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let soon = last_start(now_ms + 2_000).expect("a deadline ahead is kept");
        assert!(soon <= Instant::now(), "2 s ahead is inside the margin: no write may start");
        let later = last_start(now_ms + 30_000).expect("a deadline ahead is kept");
        assert!(later > Instant::now() + Duration::from_secs(20), "30 s ahead leaves 24 s to start writes");
    }

    #[test]
    fn config_names_the_missing_bucket() {
        let err = LoggerConfig::from_env(&[("LOG_BUCKET", " ")]).unwrap_err();
        assert_eq!(err.to_string(), "configuration: LOG_BUCKET is required but not set");
        let config = LoggerConfig::from_env(&[("LOG_BUCKET", "logs")]).unwrap();
        assert_eq!(config.bucket, "logs");
    }
}

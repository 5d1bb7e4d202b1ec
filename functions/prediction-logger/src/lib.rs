//! The prediction-logger Lambda: every SQS message carries one prediction-log record, written to S3 in the
//! layout `PREDICTION_LOG_DELIVERY` names (`fraudwatch_core::log_files`):
//!
//! - `per-prediction` (default): every record becomes one object at its own key
//!   ([`PredictionLogRecord::s3_key`]); a redelivery rewrites the same object.
//! - `batched`: the batch's records become one gzip'd JSON-lines file per UTC hour they belong to
//!   ([`BatchFile`]); a file that was not written fails every message in it, a redelivery after a file was
//!   written may put a record into a second file, and every reader removes such duplicates by `prediction_id`.
//!
//! In both:
//! - Nothing lost: a record that was not written is reported in `batchItemFailures` (the event source
//!   mapping has `ReportBatchItemFailures`), so SQS redelivers that message alone; after the queue's
//!   `maxReceiveCount` it moves to the dead-letter queue.
//! - A bad message never holds up its batch: it fails on its own while the others are written.
//! - A stalled S3 never times out the whole invocation (which would redeliver the records already written
//!   along with the rest): each write is bounded by `fraudwatch_core::aws::LOGGER_S3`, and no write starts
//!   later than [`DEADLINE_MARGIN`] before Lambda's deadline; what did not get written is reported as failed.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use fraudwatch_core::aws::LOGGER_S3;
use fraudwatch_core::config::{parse_or, required, ConfigError, EnvSource};
use fraudwatch_core::log_files::{BatchFile, BATCH_EXTENSION};
use fraudwatch_core::log_record::{partition_prefix, PredictionLogRecord, RecordError};
use fraudwatch_core::metric_names::{LOG_OBJECTS_WRITTEN_TOTAL, LOG_OBJECT_FAILURES_TOTAL, LOG_RECORDS_WRITTEN_TOTAL};
use fraudwatch_core::store::{ObjectStore, StoreError};
use futures::stream::{self, StreamExt};
use lambda_runtime::tracing;
use lambda_runtime::LambdaEvent;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// PutObject calls in flight per invocation: enough to keep a batch of 100 well inside the 30 s timeout
/// even at S3's per-request latency, few enough not to exhaust the 256 MB function's sockets.
pub const MAX_IN_FLIGHT: usize = 32;

/// The `function` dimension of the logger's EMF metrics, which its CloudWatch dashboard selects.
pub const FUNCTION: &str = "prediction-logger";

/// No write starts when less than this is left before the invocation's deadline: one write's whole budget
/// (attempts and retries) plus a second for the response, so every write ends before Lambda's timeout.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(LOGGER_S3.operation.as_millis() as u64 + 1_000);

/// How records are laid out in S3 (`PREDICTION_LOG_DELIVERY`, the template's `PredictionLogDelivery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDelivery {
    /// One object per record.
    PerPrediction,
    /// One gzip'd JSON-lines file per batch and hour.
    Batched,
}

impl LogDelivery {
    /// Every value, as the template's `AllowedValues` spell them.
    pub const ALL: [LogDelivery; 2] = [LogDelivery::PerPrediction, LogDelivery::Batched];

    pub fn as_str(self) -> &'static str {
        match self {
            LogDelivery::PerPrediction => "per-prediction",
            LogDelivery::Batched => "batched",
        }
    }
}

impl FromStr for LogDelivery {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LogDelivery::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| "must be per-prediction or batched".into())
    }
}

/// The logger's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct LoggerConfig {
    /// `LOG_BUCKET`: the bucket holding `prediction-logs/`.
    pub bucket: String,
    /// `PREDICTION_LOG_DELIVERY` (default `per-prediction`).
    pub delivery: LogDelivery,
}

impl LoggerConfig {
    pub fn from_env(env: &impl EnvSource) -> Result<Self, ConfigError> {
        let delivery = parse_or(env, "PREDICTION_LOG_DELIVERY", LogDelivery::PerPrediction)?;
        Ok(LoggerConfig { bucket: required(env, "LOG_BUCKET")?, delivery })
    }
}

/// Why a message (or the file it was to be written in) was not logged.
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

/// Messages that were not written, for one cause: one message, or every message of a batched file.
struct Failure<'a> {
    messages: Vec<&'a SqsMessage>,
    error: WriteError,
}

/// What one invocation wrote.
#[derive(Default)]
struct Written<'a> {
    objects: usize,
    failures: Vec<Failure<'a>>,
}

/// The handler: a batch of SQS messages in, the messages to retry out.
pub struct Logger {
    /// The bucket (`LOG_BUCKET`); in production an S3 store whose client carries `LOGGER_S3`, whose retries handle
    /// throttling and brief outages.
    store: Arc<dyn ObjectStore>,
    delivery: LogDelivery,
}

impl Logger {
    /// A logger writing one object per record (the default layout).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self::with_delivery(store, LogDelivery::PerPrediction)
    }

    pub fn with_delivery(store: Arc<dyn ObjectStore>, delivery: LogDelivery) -> Self {
        Logger { store, delivery }
    }

    /// Writes every record of the batch, [`MAX_IN_FLIGHT`] objects at a time, and reports the messages that
    /// were not written. Never fails as a whole: a failed invocation would make SQS redeliver the records
    /// that were written too.
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> SqsBatchResponse {
        let messages = &event.payload.records;
        let last_start = last_start(event.context.deadline);
        let written = match self.delivery {
            LogDelivery::PerPrediction => self.write_each(messages, last_start).await,
            LogDelivery::Batched => self.write_batched(messages, last_start).await,
        };
        let mut response = SqsBatchResponse::default();
        for Failure { messages, error } in written.failures {
            // SQS always sets a message id. Were one missing, the empty identifier makes Lambda treat the
            // whole batch as failed: redelivered, never dropped.
            let ids: Vec<String> = messages.iter().map(|m| m.message_id.clone().unwrap_or_default()).collect();
            tracing::error!(
                message_id = ids[0].as_str(),
                messages = ids.len(),
                reason = error.reason(),
                error = %error,
                "prediction-log record(s) not written; SQS will redeliver them"
            );
            metrics::counter!(LOG_OBJECT_FAILURES_TOTAL, "reason" => error.reason()).increment(ids.len() as u64);
            ids.into_iter().for_each(|id| response.add_failure(id));
        }
        let failed = response.batch_item_failures.len();
        metrics::counter!(LOG_OBJECTS_WRITTEN_TOTAL).increment(written.objects as u64);
        metrics::counter!(LOG_RECORDS_WRITTEN_TOTAL).increment((messages.len() - failed) as u64);
        tracing::info!(records = messages.len(), objects = written.objects, failed, "batch logged");
        response
    }

    /// One object per message.
    async fn write_each<'a>(&self, messages: &'a [SqsMessage], last_start: Option<Instant>) -> Written<'a> {
        let results: Vec<(&SqsMessage, Result<(), WriteError>)> = stream::iter(messages)
            .map(|message| async move {
                let result = match last_start {
                    Some(at) if Instant::now() > at => Err(WriteError::OutOfTime),
                    _ => self.write_one(message).await,
                };
                (message, result)
            })
            .buffer_unordered(MAX_IN_FLIGHT)
            .collect()
            .await;
        let mut written = Written::default();
        for (message, result) in results {
            match result {
                Ok(()) => written.objects += 1,
                Err(error) => written.failures.push(Failure { messages: vec![message], error }),
            }
        }
        written
    }

    async fn write_one(&self, message: &SqsMessage) -> Result<(), WriteError> {
        let record = decode(message)?;
        // The canonical encoding, not the message body verbatim: every object has the same shape
        // whatever wrote the message.
        let key = record.s3_key();
        self.store.put(&key, record.encode(), content_type(&key)).await?;
        Ok(())
    }

    /// One file per hour the batch's records belong to (usually one; two across an hour boundary; more when
    /// old messages are redelivered).
    async fn write_batched<'a>(&self, messages: &'a [SqsMessage], last_start: Option<Instant>) -> Written<'a> {
        let mut written = Written::default();
        let mut partitions: BTreeMap<String, Vec<(&SqsMessage, PredictionLogRecord)>> = BTreeMap::new();
        for message in messages {
            match decode(message) {
                Ok(record) => partitions.entry(partition_prefix(record.timestamp)).or_default().push((message, record)),
                Err(error) => written.failures.push(Failure { messages: vec![message], error: error.into() }),
            }
        }
        let results: Vec<(Vec<&SqsMessage>, Result<(), WriteError>)> = stream::iter(partitions.into_values())
            .map(|group| async move {
                let records: Vec<&PredictionLogRecord> = group.iter().map(|(_, r)| r).collect();
                let result = match last_start {
                    Some(at) if Instant::now() > at => Err(WriteError::OutOfTime),
                    _ => {
                        let file = BatchFile::encode(&records).expect("one partition's records, at least one");
                        let content_type = content_type(&file.key);
                        self.store.put(&file.key, file.body, content_type).await.map_err(WriteError::from)
                    }
                };
                (group.into_iter().map(|(m, _)| m).collect(), result)
            })
            .buffer_unordered(MAX_IN_FLIGHT)
            .collect()
            .await;
        for (messages, result) in results {
            match result {
                Ok(()) => written.objects += 1,
                Err(error) => written.failures.push(Failure { messages, error }),
            }
        }
        written
    }
}

/// What the object at `key` holds. A batched file is a gzip file, not gzip-encoded JSON: no `Content-Encoding`,
/// so no HTTP client decompresses it on the way and every reader sees the bytes Athena reads.
fn content_type(key: &str) -> &'static str {
    if key.ends_with(BATCH_EXTENSION) {
        "application/gzip"
    } else {
        "application/json"
    }
}

fn decode(message: &SqsMessage) -> Result<PredictionLogRecord, RecordError> {
    PredictionLogRecord::decode(message.body.as_deref().unwrap_or_default().as_bytes())
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
    fn config_names_the_missing_bucket_and_a_bad_delivery() {
        let err = LoggerConfig::from_env(&[("LOG_BUCKET", " ")]).unwrap_err();
        assert_eq!(err.to_string(), "configuration: LOG_BUCKET is required but not set");
        let config = LoggerConfig::from_env(&[("LOG_BUCKET", "logs")]).unwrap();
        assert_eq!((config.bucket.as_str(), config.delivery), ("logs", LogDelivery::PerPrediction));
        let batched = LoggerConfig::from_env(&[("LOG_BUCKET", "logs"), ("PREDICTION_LOG_DELIVERY", "batched")]);
        assert_eq!(batched.unwrap().delivery, LogDelivery::Batched);
        let err =
            LoggerConfig::from_env(&[("LOG_BUCKET", "logs"), ("PREDICTION_LOG_DELIVERY", "firehose")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: PREDICTION_LOG_DELIVERY = \"firehose\" is invalid: must be per-prediction or batched"
        );
    }
}

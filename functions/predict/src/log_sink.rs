//! Where scored transactions go to be logged. A logging failure never fails a prediction, but a
//! prediction that was answered must not vanish either, so delivery degrades in steps:
//!
//! 1. SQS (`SendMessageBatch`, the SDK's retries) → the prediction-logger writes the S3 object;
//! 2. if SQS keeps failing: the same S3 object written directly (same key, so a late SQS delivery just
//!    rewrites it — still exactly one object);
//! 3. if S3 fails too: the record is written to stdout as a `prediction_log_fallback` JSON line (kept by
//!    CloudWatch Logs; `fraudctl logs recover` writes it to its key).
//!
//! Each step is counted apart — SQS refusals (`fraudwatch_log_enqueue_failures_total`), records written by the
//! fallback (`…_written_by_fallback_total`: safe, warning) and records only in stdout
//! (`…_only_in_stdout_total`: to recover, critical) — and each call is bounded by its client's time budget
//! (`fraudwatch_core::aws`), so a stalled SQS hands over to S3, and a stalled S3 to stdout, well inside the
//! function's timeout (docs/contracts.md#timeouts).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::metric_names::{
    LOG_ENQUEUE_FAILURES_TOTAL, LOG_ENQUEUE_SECONDS, LOG_ONLY_IN_STDOUT_TOTAL, LOG_WRITTEN_BY_FALLBACK_TOTAL,
};
use fraudwatch_core::store::ObjectStore;
use futures::future::join_all;

/// SQS takes at most 10 messages per `SendMessageBatch`.
const SQS_BATCH_LIMIT: usize = 10;

/// How the records of one call were delivered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub queued: usize,
    pub written_to_s3: usize,
    pub only_in_stdout: usize,
}

pub trait PredictionLogSink: Send + Sync {
    /// Delivers the records as durably as it can. Infallible by design: see the module docs.
    fn submit(&self, records: &[PredictionLogRecord]) -> impl Future<Output = Delivery> + Send;
}

/// The production sink: SQS, with a direct-to-S3 fallback.
pub struct SqsLogSink {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// The bucket written directly when SQS fails (`LOG_BUCKET`), through a client with the
    /// `PREDICT_S3_FALLBACK` budget; `None`: straight to stdout.
    pub fallback: Option<Arc<dyn ObjectStore>>,
}

impl SqsLogSink {
    /// Sends one chunk of ≤ 10 records; returns the indices (into `chunk`) that SQS did not accept.
    async fn send_chunk(&self, chunk: &[PredictionLogRecord]) -> Vec<usize> {
        let entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(String::from_utf8(r.encode()).expect("records encode as UTF-8 JSON"))
                    .build()
                    .expect("id and body are set")
            })
            .collect();
        match self.sqs.send_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await {
            Ok(out) => {
                let failed: Vec<usize> = out.failed().iter().filter_map(|f| f.id().parse().ok()).collect();
                if !failed.is_empty() {
                    tracing::warn!(failed = failed.len(), "SQS refused some prediction-log messages");
                }
                failed
            }
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "SQS SendMessageBatch failed");
                (0..chunk.len()).collect()
            }
        }
    }

    async fn write_directly(&self, record: &PredictionLogRecord) -> bool {
        let Some(fallback) = &self.fallback else {
            return false;
        };
        match fallback.put(&record.s3_key(), record.encode(), "application/json").await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "direct S3 write of a prediction log failed");
                false
            }
        }
    }

    async fn deliver(&self, records: &[PredictionLogRecord]) -> Delivery {
        let chunks: Vec<&[PredictionLogRecord]> = records.chunks(SQS_BATCH_LIMIT).collect();
        let failed_per_chunk = join_all(chunks.iter().map(|c| self.send_chunk(c))).await;
        let undelivered: Vec<&PredictionLogRecord> = chunks
            .iter()
            .zip(failed_per_chunk)
            .flat_map(|(chunk, failed)| failed.into_iter().map(move |i| &chunk[i]))
            .collect();
        let mut delivery = Delivery { queued: records.len() - undelivered.len(), ..Delivery::default() };
        if undelivered.is_empty() {
            return delivery;
        }
        metrics::counter!(LOG_ENQUEUE_FAILURES_TOTAL).increment(undelivered.len() as u64);
        let written = join_all(undelivered.iter().map(|r| self.write_directly(r))).await;
        for (record, ok) in undelivered.into_iter().zip(written) {
            if ok {
                delivery.written_to_s3 += 1;
            } else {
                delivery.only_in_stdout += 1;
                write_to_stdout(record);
            }
        }
        metrics::counter!(LOG_WRITTEN_BY_FALLBACK_TOTAL).increment(delivery.written_to_s3 as u64);
        metrics::counter!(LOG_ONLY_IN_STDOUT_TOTAL).increment(delivery.only_in_stdout as u64);
        delivery
    }
}

impl PredictionLogSink for SqsLogSink {
    async fn submit(&self, records: &[PredictionLogRecord]) -> Delivery {
        let started = Instant::now();
        let delivery = self.deliver(records).await;
        metrics::histogram!(LOG_ENQUEUE_SECONDS).record(started.elapsed());
        delivery
    }
}

/// Last resort: the full record on stdout, one JSON line, recoverable from CloudWatch Logs.
fn write_to_stdout(record: &PredictionLogRecord) {
    let line = serde_json::json!({
        "level": "ERROR",
        "message": "prediction_log_fallback",
        "s3_key": record.s3_key(),
        "record": record,
    });
    println!("{line}");
}

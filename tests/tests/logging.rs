//! The prediction-log path against real servers: predict's `SqsLogSink` → SQS (moto) → the
//! prediction-logger handler, fed the received messages the way Lambda's event source mapping does →
//! S3 (s3s-fs). "Nothing lost, nothing duplicated" is checked by reading the bucket back.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use fraudwatch_shared::log_record::{PredictionLogRecord, PREDICTION_LOG_PREFIX};
use fraudwatch_shared::metric_names::{LOG_ENQUEUE_FAILURES_TOTAL, LOG_ENQUEUE_SECONDS};
use fraudwatch_tests::{prediction_records, S3Server, SqsServer};
use lambda_runtime::{Context, LambdaEvent};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use predict::log_sink::{Delivery, PredictionLogSink, S3Fallback, SqsLogSink};
use prediction_logger::{LogStore, Logger, S3Store, StoreError};
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

const BUCKET: &str = "fraudwatch-data";
/// The event source mapping's `BatchSize` in infra/template.yaml.
const BATCH_SIZE: usize = 100;

async fn s3_with_bucket() -> S3Server {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    s3
}

fn s3_store(s3: &S3Server) -> S3Store {
    S3Store { client: s3.client(), bucket: BUCKET.into() }
}

/// predict's production sink, with its direct-to-S3 fallback.
fn sink(sqs: &SqsServer, queue_url: &str, s3: &S3Server) -> SqsLogSink {
    SqsLogSink {
        sqs: sqs.client(),
        queue_url: queue_url.into(),
        fallback: Some(S3Fallback { s3: s3.client(), bucket: BUCKET.into() }),
    }
}

/// What one `submit` recorded in predict's metrics.
#[derive(Debug, Default)]
struct SubmitMetrics {
    enqueue_seconds: Vec<f64>,
    enqueue_failures: u64,
}

/// `sink.submit(records)` with a recorder installed for this (current-thread) test runtime.
async fn submit_recording(sink: &SqsLogSink, records: &[PredictionLogRecord]) -> (Delivery, SubmitMetrics) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let delivery = {
        let _local = metrics::set_default_local_recorder(&recorder);
        sink.submit(records).await
    };
    let mut recorded = SubmitMetrics::default();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        match (key.key().name(), value) {
            (LOG_ENQUEUE_SECONDS, DebugValue::Histogram(samples)) => {
                recorded.enqueue_seconds.extend(samples.into_iter().map(|s| s.into_inner()))
            }
            (LOG_ENQUEUE_FAILURES_TOTAL, DebugValue::Counter(n)) => recorded.enqueue_failures += n,
            _ => {}
        }
    }
    (delivery, recorded)
}

/// `n` records spread over the last few hours, so they land in several partitions.
fn records(n: usize) -> Vec<PredictionLogRecord> {
    let start = OffsetDateTime::now_utc() - Duration::hours(3);
    prediction_records(n, start, Duration::minutes(1)).unwrap()
}

/// Asserts the bucket holds exactly one object per record, at its key, reading back as the record.
async fn assert_logged_exactly(s3: &S3Server, records: &[PredictionLogRecord]) {
    let keys = s3.keys(BUCKET, PREDICTION_LOG_PREFIX).await.unwrap();
    let expected: BTreeSet<String> = records.iter().map(|r| r.s3_key()).collect();
    assert_eq!(expected.len(), records.len(), "the fixture's keys are distinct");
    assert_eq!(keys.len(), records.len(), "one object per record");
    assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), expected);
    let client = s3.client();
    for record in records {
        let object = client.get_object().bucket(BUCKET).key(record.s3_key()).send().await.unwrap();
        assert_eq!(object.content_type(), Some("application/json"));
        let body = object.body.collect().await.unwrap().into_bytes();
        assert_eq!(PredictionLogRecord::decode(&body).unwrap(), *record);
    }
}

/// What Lambda's SQS event source mapping does, against a real queue: receive a batch, invoke the
/// function with it, delete the messages it did not report as failed. A failed message is made visible
/// again at once (Lambda leaves it to the visibility timeout), so redeliveries happen within the test.
struct EventSourceMapping {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl EventSourceMapping {
    fn new(sqs: &SqsServer, queue_url: &str) -> Self {
        EventSourceMapping { sqs: sqs.client(), queue_url: queue_url.into() }
    }

    /// Up to [`BATCH_SIZE`] messages (SQS hands out at most 10 per call), as Lambda gathers a batch.
    async fn receive(&self) -> Vec<Message> {
        let mut batch = Vec::new();
        while batch.len() < BATCH_SIZE {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10.min(BATCH_SIZE - batch.len()) as i32)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                break;
            }
            batch.extend_from_slice(out.messages());
        }
        batch
    }

    /// The event Lambda builds from a received batch.
    fn event(messages: &[Message]) -> LambdaEvent<SqsEvent> {
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id().map(String::from);
                record.receipt_handle = m.receipt_handle().map(String::from);
                record.body = m.body().map(String::from);
                record.md5_of_body = m.md5_of_body().map(String::from);
                record.attributes =
                    m.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
                record.event_source = Some("aws:sqs".into());
                record
            })
            .collect();
        LambdaEvent::new(event, Context::default())
    }

    /// Deletes the messages the function handled; makes the failed ones visible again.
    async fn settle(&self, messages: &[Message], response: &SqsBatchResponse) {
        let failed: BTreeSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        let (retry, done): (Vec<&Message>, Vec<&Message>) =
            messages.iter().partition(|m| failed.contains(m.message_id().unwrap()));
        for chunk in done.chunks(10) {
            let entries = chunk.iter().enumerate().map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap()
            });
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .unwrap();
            assert!(out.failed().is_empty(), "{:?}", out.failed());
        }
        self.make_visible(&retry).await;
    }

    async fn make_visible(&self, messages: &[&Message]) {
        for chunk in messages.chunks(10) {
            let entries = chunk.iter().enumerate().map(|(i, m)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .visibility_timeout(0)
                    .build()
                    .unwrap()
            });
            self.sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .unwrap();
        }
    }

    /// One poll: receive a batch, invoke, settle. `None` when the queue had nothing to deliver.
    async fn deliver_once<S: LogStore>(&self, logger: &Logger<S>) -> Option<(Vec<Message>, SqsBatchResponse)> {
        let batch = self.receive().await;
        if batch.is_empty() {
            return None;
        }
        let response = logger.handle(Self::event(&batch)).await;
        self.settle(&batch, &response).await;
        Some((batch, response))
    }

    /// Polls until the queue has nothing to deliver; returns the invocations' responses.
    async fn drain<S: LogStore>(&self, logger: &Logger<S>) -> Vec<SqsBatchResponse> {
        let mut responses = Vec::new();
        while let Some((_, response)) = self.deliver_once(logger).await {
            responses.push(response);
            assert!(responses.len() <= 50, "the queue never drained");
        }
        responses
    }

    /// Messages still in the queue, visible or in flight.
    async fn remaining(&self) -> usize {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        out.attributes().unwrap().values().map(|v| v.parse::<usize>().unwrap()).sum()
    }

    async fn send_raw(&self, body: &str) -> String {
        let out = self.sqs.send_message().queue_url(&self.queue_url).message_body(body).send().await.unwrap();
        out.message_id().unwrap().to_string()
    }
}

fn failed_ids(response: &SqsBatchResponse) -> BTreeSet<String> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
}

#[tokio::test]
async fn every_prediction_sent_through_sqs_becomes_exactly_one_object() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let records = records(250);

    let (delivery, metrics) = submit_recording(&sink(&sqs, &queue, &s3), &records).await;
    assert_eq!(delivery, Delivery { queued: 250, ..Delivery::default() });
    // The hand-over is timed once per request (it is all that logging adds to the response), none failed.
    assert_eq!(metrics.enqueue_seconds.len(), 1, "{metrics:?}");
    assert!(metrics.enqueue_seconds[0] > 0.0 && metrics.enqueue_seconds[0] < 60.0, "{metrics:?}");
    assert_eq!(metrics.enqueue_failures, 0);

    let esm = EventSourceMapping::new(&sqs, &queue);
    let responses = esm.drain(&Logger::new(s3_store(&s3))).await;
    assert_eq!(responses.len(), 3, "batches of at most {BATCH_SIZE}");
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_eq!(esm.remaining().await, 0);
    assert_logged_exactly(&s3, &records).await;
}

/// The real S3 store, signalling after its `after`-th successful write: lets the test kill the server at
/// an exact point in the middle of a batch, which a real server cannot be asked to arrange.
struct SignalAfter {
    inner: S3Store,
    after: usize,
    written: AtomicUsize,
    signal: Arc<Notify>,
}

impl LogStore for SignalAfter {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let result = self.inner.put(key, body).await;
        if result.is_ok() && self.written.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.signal.notify_one();
        }
        result
    }
}

#[tokio::test]
async fn an_s3_outage_mid_batch_loses_and_duplicates_nothing() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let (mut s3, sqs) = (s3, sqs.unwrap());
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let records = records(200);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 200);
    let esm = EventSourceMapping::new(&sqs, &queue);

    // First batch: S3 dies after 20 objects are written, with up to 31 more writes in flight.
    let batch = esm.receive().await;
    assert_eq!(batch.len(), BATCH_SIZE);
    let killed = Arc::new(Notify::new());
    let logger = Logger::new(SignalAfter {
        inner: s3_store(&s3),
        after: 20,
        written: AtomicUsize::new(0),
        signal: killed.clone(),
    });
    let (response, ()) = tokio::join!(logger.handle(EventSourceMapping::event(&batch)), async {
        killed.notified().await;
        s3.stop();
    });
    let failed = response.batch_item_failures.len();
    assert!((1..=BATCH_SIZE - 20).contains(&failed), "{failed} of {BATCH_SIZE} reported failed");
    esm.settle(&batch, &response).await;

    // While S3 is down, a whole batch fails and stays queued.
    let logger = Logger::new(s3_store(&s3));
    let (batch, response) = esm.deliver_once(&logger).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), batch.len());
    assert_eq!(esm.remaining().await, 200 - (BATCH_SIZE - failed));

    // S3 is back: the retries write everything, once.
    s3.restart().await.unwrap();
    let responses = esm.drain(&logger).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_eq!(esm.remaining().await, 0);
    assert_logged_exactly(&s3, &records).await;
}

#[tokio::test]
async fn a_bad_message_fails_alone_and_its_batch_is_written() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let records = records(30);
    let esm = EventSourceMapping::new(&sqs, &queue);
    let from_the_future = {
        let mut v: serde_json::Value = serde_json::from_slice(&records[0].encode()).unwrap();
        v["schema_version"] = 2.into();
        v["prediction_id"] = uuid::Uuid::now_v7().to_string().into();
        v.to_string()
    };
    let impossible = {
        let mut v: serde_json::Value = serde_json::from_slice(&records[1].encode()).unwrap();
        v["fraud_probability"] = 1.5.into();
        v["prediction_id"] = uuid::Uuid::now_v7().to_string().into();
        v.to_string()
    };
    let mut bad = BTreeSet::new();
    bad.insert(esm.send_raw("not a record").await);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records[..15]).await.queued, 15);
    bad.insert(esm.send_raw(&from_the_future).await);
    bad.insert(esm.send_raw(&impossible).await);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records[15..]).await.queued, 15);

    let batch = esm.receive().await;
    assert_eq!(batch.len(), 33, "one batch holds everything");
    let response = Logger::new(s3_store(&s3)).handle(EventSourceMapping::event(&batch)).await;
    assert_eq!(failed_ids(&response), bad);
    assert_logged_exactly(&s3, &records).await;
}

#[tokio::test]
async fn a_redelivered_message_still_makes_one_object() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let records = records(5);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 5);
    let esm = EventSourceMapping::new(&sqs, &queue);
    let logger = Logger::new(s3_store(&s3));

    // Written, but the deletes never happen (say the invocation timed out after the writes).
    let first = esm.receive().await;
    assert!(logger.handle(EventSourceMapping::event(&first)).await.batch_item_failures.is_empty());
    esm.make_visible(&first.iter().collect::<Vec<_>>()).await;

    let (again, response) = esm.deliver_once(&logger).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let ids = |batch: &[Message]| batch.iter().map(|m| m.message_id().unwrap().to_string()).collect::<BTreeSet<_>>();
    assert_eq!(ids(&again), ids(&first), "the same messages, delivered twice");
    assert!(again.iter().all(|m| m.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount] == "2"));
    assert_eq!(esm.remaining().await, 0);
    assert_logged_exactly(&s3, &records).await;
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", Some(("prediction-log-dlq", 2))).await.unwrap();
    let records = records(3);
    let esm = EventSourceMapping::new(&sqs, &queue);
    let poison = r#"{"schema_version": 1, "prediction_id": "not-a-uuid"}"#;
    let poison_id = esm.send_raw(poison).await;
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 3);

    let responses = esm.drain(&Logger::new(s3_store(&s3))).await;
    // Received and refused maxReceiveCount (2) times; at the next receive SQS moves it to the DLQ.
    let failures: Vec<BTreeSet<String>> = responses.iter().map(failed_ids).collect();
    assert_eq!(failures, vec![BTreeSet::from([poison_id.clone()]); 2]);
    assert_eq!(esm.remaining().await, 0);
    assert_logged_exactly(&s3, &records).await;

    let dlq_url = sqs.client().get_queue_url().queue_name("prediction-log-dlq").send().await.unwrap();
    let dlq = EventSourceMapping::new(&sqs, dlq_url.queue_url().unwrap());
    let dead = dlq.receive().await;
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].message_id(), dead[0].body()), (Some(poison_id.as_str()), Some(poison)));
}

#[tokio::test]
async fn predict_writes_to_s3_directly_when_sqs_is_down_and_to_stdout_when_both_are() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let (mut s3, mut sqs) = (s3, sqs.unwrap());
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let sink = sink(&sqs, &queue, &s3);
    sqs.kill();

    let records = records(12);
    let (delivery, metrics) = submit_recording(&sink, &records).await;
    assert_eq!(delivery, Delivery { written_to_s3: 12, ..Delivery::default() });
    assert_eq!((metrics.enqueue_failures, metrics.enqueue_seconds.len()), (12, 1), "counted for the alarm");
    // At the key the logger would have used: a late SQS delivery rewrites the same object.
    assert_logged_exactly(&s3, &records).await;

    s3.stop();
    let (delivery, metrics) = submit_recording(&sink, &self::records(4)).await;
    assert_eq!(delivery, Delivery { only_in_stdout: 4, ..Delivery::default() });
    assert_eq!(metrics.enqueue_failures, 4);
}

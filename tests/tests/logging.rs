//! The prediction-log path against real servers: predict's `SqsLogSink` → SQS (moto) → the
//! prediction-logger handler, fed the received messages the way Lambda's event source mapping does →
//! S3 (s3s-fs). "Nothing lost, nothing duplicated" is checked by reading the bucket back.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use fraudwatch_core::log_record::{PredictionLogRecord, PREDICTION_LOG_PREFIX};
use fraudwatch_core::metric_names::{LOG_ENQUEUE_FAILURES_TOTAL, LOG_ENQUEUE_SECONDS};
use fraudwatch_tests::event_source::EventSourceMapping;
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

/// The event source mapping (`fraudwatch_tests::event_source`) with the template's batch size, retrying
/// failed messages at once so redeliveries happen within the test.
fn mapping(sqs: &SqsServer, queue_url: &str) -> EventSourceMapping {
    EventSourceMapping::for_tests(sqs.client(), queue_url, BATCH_SIZE)
}

fn lambda_event(event: SqsEvent) -> LambdaEvent<SqsEvent> {
    LambdaEvent::new(event, Context::default())
}

/// One poll through the logger: `None` when the queue had nothing to deliver.
async fn deliver_once<S: LogStore>(
    esm: &EventSourceMapping,
    logger: &Logger<S>,
) -> Option<(Vec<Message>, SqsBatchResponse)> {
    let delivered = esm.deliver_once(|event| async { Ok(logger.handle(lambda_event(event)).await) }).await.unwrap();
    delivered.map(|(batch, response)| (batch, response.unwrap()))
}

/// Polls until the queue has nothing to deliver; returns the invocations' responses.
async fn drain<S: LogStore>(esm: &EventSourceMapping, logger: &Logger<S>) -> Vec<SqsBatchResponse> {
    let mut responses = Vec::new();
    while let Some((_, response)) = deliver_once(esm, logger).await {
        responses.push(response);
        assert!(responses.len() <= 50, "the queue never drained");
    }
    responses
}

async fn send_raw(esm: &EventSourceMapping, body: &str) -> String {
    let out = esm.sqs.send_message().queue_url(&esm.queue_url).message_body(body).send().await.unwrap();
    out.message_id().unwrap().to_string()
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

    let esm = mapping(&sqs, &queue);
    let responses = drain(&esm, &Logger::new(s3_store(&s3))).await;
    assert_eq!(responses.len(), 3, "batches of at most {BATCH_SIZE}");
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_eq!(esm.remaining().await.unwrap(), 0);
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
    let esm = mapping(&sqs, &queue);

    // First batch: S3 dies after 20 objects are written, with up to 31 more writes in flight.
    let batch = esm.receive().await.unwrap();
    assert_eq!(batch.len(), BATCH_SIZE);
    let killed = Arc::new(Notify::new());
    let logger = Logger::new(SignalAfter {
        inner: s3_store(&s3),
        after: 20,
        written: AtomicUsize::new(0),
        signal: killed.clone(),
    });
    let (response, ()) = tokio::join!(logger.handle(lambda_event(esm.event(&batch))), async {
        killed.notified().await;
        s3.stop();
    });
    let failed = response.batch_item_failures.len();
    assert!((1..=BATCH_SIZE - 20).contains(&failed), "{failed} of {BATCH_SIZE} reported failed");
    esm.settle(&batch, &response).await.unwrap();

    // While S3 is down, a whole batch fails and stays queued.
    let logger = Logger::new(s3_store(&s3));
    let (batch, response) = deliver_once(&esm, &logger).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), batch.len());
    assert_eq!(esm.remaining().await.unwrap(), 200 - (BATCH_SIZE - failed));

    // S3 is back: the retries write everything, once.
    s3.restart().await.unwrap();
    let responses = drain(&esm, &logger).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_eq!(esm.remaining().await.unwrap(), 0);
    assert_logged_exactly(&s3, &records).await;
}

#[tokio::test]
async fn a_bad_message_fails_alone_and_its_batch_is_written() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let records = records(30);
    let esm = mapping(&sqs, &queue);
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
    bad.insert(send_raw(&esm, "not a record").await);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records[..15]).await.queued, 15);
    bad.insert(send_raw(&esm, &from_the_future).await);
    bad.insert(send_raw(&esm, &impossible).await);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records[15..]).await.queued, 15);

    let batch = esm.receive().await.unwrap();
    assert_eq!(batch.len(), 33, "one batch holds everything");
    let response = Logger::new(s3_store(&s3)).handle(lambda_event(esm.event(&batch))).await;
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
    let esm = mapping(&sqs, &queue);
    let logger = Logger::new(s3_store(&s3));

    // Written, but the deletes never happen (say the invocation timed out after the writes).
    let first = esm.receive().await.unwrap();
    assert!(logger.handle(lambda_event(esm.event(&first))).await.batch_item_failures.is_empty());
    esm.make_visible(&first.iter().collect::<Vec<_>>()).await.unwrap();

    let (again, response) = deliver_once(&esm, &logger).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let ids = |batch: &[Message]| batch.iter().map(|m| m.message_id().unwrap().to_string()).collect::<BTreeSet<_>>();
    assert_eq!(ids(&again), ids(&first), "the same messages, delivered twice");
    assert!(again.iter().all(|m| m.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount] == "2"));
    assert_eq!(esm.remaining().await.unwrap(), 0);
    assert_logged_exactly(&s3, &records).await;
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", Some(("prediction-log-dlq", 2))).await.unwrap();
    let records = records(3);
    let esm = mapping(&sqs, &queue);
    let poison = r#"{"schema_version": 1, "prediction_id": "not-a-uuid"}"#;
    let poison_id = send_raw(&esm, poison).await;
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 3);

    let responses = drain(&esm, &Logger::new(s3_store(&s3))).await;
    // Received and refused maxReceiveCount (2) times; at the next receive SQS moves it to the DLQ.
    let failures: Vec<BTreeSet<String>> = responses.iter().map(failed_ids).collect();
    assert_eq!(failures, vec![BTreeSet::from([poison_id.clone()]); 2]);
    assert_eq!(esm.remaining().await.unwrap(), 0);
    assert_logged_exactly(&s3, &records).await;

    let dlq_url = sqs.client().get_queue_url().queue_name("prediction-log-dlq").send().await.unwrap();
    let dlq = mapping(&sqs, dlq_url.queue_url().unwrap());
    let dead = dlq.receive().await.unwrap();
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

//! The prediction-log path against real servers: predict's `SqsLogSink` → SQS (moto) → the
//! prediction-logger handler, fed the received messages the way Lambda's event source mapping does →
//! S3 (s3s-fs). "Nothing lost, nothing duplicated" is checked by reading the bucket back: one object per record
//! in the per-prediction layout; in the batched layout (`batched_*` tests) one *distinct* record per answered
//! prediction, read the way every reader reads (`fraudwatch_monitor::log_reader`, duplicates removed).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use fraudwatch_core::aws::{self, LOGGER_S3, PREDICT_S3_FALLBACK, PREDICT_SQS};
use fraudwatch_core::label::{LabelRecord, LabelSet, LabelTarget};
use fraudwatch_core::log_files::LogObjectName;
use fraudwatch_core::log_record::{
    partition_prefix, LoggedContribution, LoggedExplanation, PredictionLogRecord, PREDICTION_LOG_PREFIX,
};
use fraudwatch_core::metric_names::{
    LOG_ENQUEUE_FAILURES_TOTAL, LOG_ENQUEUE_SECONDS, LOG_ONLY_IN_STDOUT_TOTAL, LOG_WRITTEN_BY_FALLBACK_TOTAL,
};
use fraudwatch_core::prediction_id::PredictionId;
use fraudwatch_core::store::{
    Folder, ListedObject, ObjectStore, PutOutcome, ReplaceOutcome, S3Store, StoreError, VersionedObject,
};
use fraudwatch_monitor::log_reader::{find_records, read_partition, sample_window};
use fraudwatch_monitor::quality::s3::read_cohorts;
use fraudwatch_monitor::quality::QualityBaseline;
use fraudwatch_monitor::run::read_window;
use fraudwatch_monitor::window::Window;
use fraudwatch_tests::event_source::EventSourceMapping;
use fraudwatch_tests::{
    budgeted_s3, prediction_records, repo_root, sdk_config, S3Server, SqsServer, StalledServer,
    LOGGER_BATCHED_BATCH_SIZE, LOGGER_BATCH_SIZE,
};
use lambda_runtime::{Context, LambdaEvent};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use predict::log_sink::{Delivery, PredictionLogSink, SqsLogSink};
use prediction_logger::{LogDelivery, Logger};
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

const BUCKET: &str = "fraudwatch-data";
const BATCH_SIZE: usize = LOGGER_BATCH_SIZE;

async fn s3_with_bucket() -> S3Server {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    s3
}

fn s3_store(s3: &S3Server) -> Arc<dyn ObjectStore> {
    bucket_at(s3.client())
}

/// The test bucket through `client`.
fn bucket_at(client: aws_sdk_s3::Client) -> Arc<dyn ObjectStore> {
    Arc::new(S3Store::new(client, BUCKET))
}

/// predict's production sink, with its direct-to-S3 fallback.
fn sink(sqs: &SqsServer, queue_url: &str, s3: &S3Server) -> SqsLogSink {
    SqsLogSink { sqs: sqs.client(), queue_url: queue_url.into(), fallback: Some(s3_store(s3)) }
}

/// What one `submit` recorded in predict's metrics.
#[derive(Debug, Default)]
struct SubmitMetrics {
    enqueue_seconds: Vec<f64>,
    enqueue_failures: u64,
    written_by_fallback: u64,
    only_in_stdout: u64,
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
            (LOG_WRITTEN_BY_FALLBACK_TOTAL, DebugValue::Counter(n)) => recorded.written_by_fallback += n,
            (LOG_ONLY_IN_STDOUT_TOTAL, DebugValue::Counter(n)) => recorded.only_in_stdout += n,
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
async fn deliver_once(esm: &EventSourceMapping, logger: &Logger) -> Option<(Vec<Message>, SqsBatchResponse)> {
    let delivered = esm.deliver_once(|event| async { Ok(logger.handle(lambda_event(event)).await) }).await.unwrap();
    delivered.map(|(batch, response)| (batch, response.unwrap()))
}

/// Polls until the queue has nothing to deliver; returns the invocations' responses.
async fn drain(esm: &EventSourceMapping, logger: &Logger) -> Vec<SqsBatchResponse> {
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

/// Schema version 1 records still in the queue when version 2 is deployed, and version 2 records of explained
/// predictions, go through the logger unchanged: one object each, reading back as what was sent.
#[tokio::test]
async fn version_1_records_and_explained_records_are_written_as_they_are() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let explainer = predict::embedded_explainer().unwrap();
    let mut records = records(30);
    for (i, record) in records.iter_mut().enumerate() {
        if i % 3 == 0 {
            record.schema_version = 1;
        } else if i % 3 == 1 {
            let contributions = explainer.contributions(&record.features.0);
            let top = contributions.top(5);
            let shown: f64 = top.iter().map(|r| r.contribution).sum();
            record.explanation = Some(LoggedExplanation {
                bias: contributions.bias as f32,
                margin: contributions.margin as f32,
                top: top
                    .iter()
                    .map(|r| LoggedContribution { feature: r.feature.into(), contribution: r.contribution as f32 })
                    .collect(),
                other_features: (contributions.features.iter().sum::<f64>() - shown) as f32,
            });
        }
    }
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 30);
    let esm = mapping(&sqs, &queue);
    let responses = drain(&esm, &Logger::new(s3_store(&s3))).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_logged_exactly(&s3, &records).await;
    let key = records[0].s3_key();
    let object = s3.client().get_object().bucket(BUCKET).key(&key).send().await.unwrap();
    let text = String::from_utf8(object.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(text.starts_with("{\"schema_version\":1,") && !text.contains("explanation"), "{text}");
}

/// The real S3 store, signalling after its `after`-th successful write: lets the test kill the server at
/// an exact point in the middle of a batch, which a real server cannot be asked to arrange. With `hold`, writes
/// after the first `after` wait until it opens (the test opens it once the server is down), so none of them can
/// slip through before the outage (a batched batch is only a few concurrent writes). Every other call goes straight
/// to the real store.
#[derive(Debug)]
struct SignalAfter {
    inner: Arc<dyn ObjectStore>,
    after: usize,
    written: AtomicUsize,
    signal: Arc<Notify>,
    started: AtomicUsize,
    hold: Option<tokio::sync::watch::Receiver<bool>>,
}

#[async_trait::async_trait]
impl ObjectStore for SignalAfter {
    fn bucket(&self) -> &str {
        self.inner.bucket()
    }

    async fn for_each_object(
        &self,
        prefix: &str,
        visit: &mut (dyn FnMut(ListedObject) + Send),
    ) -> Result<(), StoreError> {
        self.inner.for_each_object(prefix, visit).await
    }

    async fn list_folder(&self, prefix: &str) -> Result<Folder, StoreError> {
        self.inner.list_folder(prefix).await
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<VersionedObject>, StoreError> {
        self.inner.get_versioned(key).await
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        if let Some(hold) = &self.hold {
            if self.started.fetch_add(1, Ordering::SeqCst) >= self.after {
                hold.clone().wait_for(|open| *open).await.expect("the test holds the sender");
            }
        }
        let result = self.inner.put(key, body, content_type).await;
        if result.is_ok() && self.written.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.signal.notify_one();
        }
        result
    }

    async fn put_if_absent(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<PutOutcome, StoreError> {
        self.inner.put_if_absent(key, body, content_type).await
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        etag: &str,
    ) -> Result<ReplaceOutcome, StoreError> {
        self.inner.put_if_match(key, body, content_type, etag).await
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
    let logger = Logger::new(Arc::new(SignalAfter {
        inner: s3_store(&s3),
        after: 20,
        written: AtomicUsize::new(0),
        signal: killed.clone(),
        started: AtomicUsize::new(0),
        hold: None,
    }));
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
        v["schema_version"] = 3.into();
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
    // Written by the fallback: safe, counted apart from the records that would need recovering.
    assert_eq!((metrics.written_by_fallback, metrics.only_in_stdout), (12, 0));
    // At the key the logger would have used: a late SQS delivery rewrites the same object.
    assert_logged_exactly(&s3, &records).await;

    s3.stop();
    let (delivery, metrics) = submit_recording(&sink, &self::records(4)).await;
    assert_eq!(delivery, Delivery { only_in_stdout: 4, ..Delivery::default() });
    assert_eq!((metrics.enqueue_failures, metrics.written_by_fallback, metrics.only_in_stdout), (4, 0, 4));
}

/// A client of the production time budget for a local endpoint.
/// Longest a log hand-off may take: SQS's whole budget, then the direct S3 write's, plus scheduling slack.
fn hand_off_budget() -> std::time::Duration {
    PREDICT_SQS.operation + PREDICT_S3_FALLBACK.operation + std::time::Duration::from_secs(1)
}

#[tokio::test]
async fn a_stalled_queue_hands_every_record_to_s3_within_the_budget_and_a_late_delivery_adds_nothing() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let sink = SqsLogSink {
        sqs: aws::sqs_client(&sdk_config(&sqs.endpoint()), PREDICT_SQS),
        queue_url: queue.clone(),
        fallback: Some(bucket_at(budgeted_s3(&s3.endpoint(), PREDICT_S3_FALLBACK))),
    };
    let records = records(25);

    // Frozen, not dead: the kernel still accepts connections, nothing answers (SIGSTOP).
    sqs.process().freeze().unwrap();
    let started = std::time::Instant::now();
    let delivery = tokio::time::timeout(4 * hand_off_budget(), sink.submit(&records)).await;
    let took = started.elapsed();
    sqs.process().thaw().unwrap();
    let delivery = delivery.expect("the hand-off outlived its budget: the stalled queue held the request");
    assert!(took <= hand_off_budget(), "the hand-off took {took:?}");
    assert_eq!(delivery, Delivery { written_to_s3: 25, ..Delivery::default() });
    assert_logged_exactly(&s3, &records).await;

    // The queue comes back and may still take the sends it had buffered: the logger then rewrites the same
    // keys — still exactly one object per prediction.
    let esm = mapping(&sqs, &queue);
    let responses = drain(&esm, &Logger::new(s3_store(&s3))).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_logged_exactly(&s3, &records).await;
}

#[tokio::test]
async fn a_stalled_bucket_behind_a_dead_queue_sends_the_records_to_stdout_within_the_budget() {
    let stalled = StalledServer::start().unwrap();
    let sink = SqsLogSink {
        // Nothing listens on port 1: the queue refuses at once.
        sqs: aws::sqs_client(&sdk_config("http://127.0.0.1:1"), PREDICT_SQS),
        queue_url: "http://127.0.0.1:1/000000000000/prediction-log".into(),
        fallback: Some(bucket_at(budgeted_s3(&stalled.endpoint(), PREDICT_S3_FALLBACK))),
    };
    let started = std::time::Instant::now();
    let delivery = tokio::time::timeout(4 * hand_off_budget(), sink.submit(&records(7))).await;
    let took = started.elapsed();
    let delivery = delivery.expect("the hand-off outlived its budget: the stalled bucket held the request");
    assert!(took <= hand_off_budget(), "the hand-off took {took:?}");
    assert_eq!(delivery, Delivery { only_in_stdout: 7, ..Delivery::default() });
}

#[tokio::test]
async fn a_stalled_bucket_fails_the_batch_items_before_the_invocation_s_deadline() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    let records = records(BATCH_SIZE);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, BATCH_SIZE);
    let esm = mapping(&sqs, &queue);
    let batch = esm.receive().await.unwrap();
    assert_eq!(batch.len(), BATCH_SIZE);

    // The logger's S3 stalls; Lambda would kill the invocation at its deadline (here 12 s away, the
    // template's is 30 s) and redeliver the whole batch.
    let stalled = StalledServer::start().unwrap();
    let logger = Logger::new(bucket_at(budgeted_s3(&stalled.endpoint(), LOGGER_S3)));
    let response = handled_before_the_deadline(&logger, esm.event(&batch)).await;
    assert_eq!(failed_ids(&response).len(), BATCH_SIZE, "every unwritten record is a batch item failure");

    // Redelivered to a logger whose S3 answers: every record written once.
    esm.settle(&batch, &response).await.unwrap();
    drain(&esm, &Logger::new(s3_store(&s3))).await;
    assert_logged_exactly(&s3, &records).await;
}

// ---------------------------------------------------------------------------------------------------------------
// PredictionLogDelivery=batched: one gzip'd JSON-lines file per batch and hour.

fn batched_logger(store: Arc<dyn ObjectStore>) -> Logger {
    Logger::with_delivery(store, LogDelivery::Batched)
}

/// The event source mapping with the template's batched `BatchSize`.
fn batched_mapping(sqs: &SqsServer, queue_url: &str) -> EventSourceMapping {
    EventSourceMapping::for_tests(sqs.client(), queue_url, LOGGER_BATCHED_BATCH_SIZE)
}

/// A prediction-log queue with the template's visibility timeout (300 s): gathering a batch of up to 2,000 from
/// moto, 10 per receive, can take longer than moto's default 30 s, after which the first messages received would
/// be handed out again within the same batch.
async fn batched_queue(sqs: &SqsServer) -> String {
    let queue = sqs.create_queue("prediction-log", None).await.unwrap();
    sqs.client()
        .set_queue_attributes()
        .queue_url(&queue)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "300")
        .send()
        .await
        .unwrap();
    queue
}

/// Every distinct record logged in the partitions of `records`, in either layout, as the readers read them
/// (sorted by id), and the copies they removed.
async fn distinct_logged(s3: &S3Server, records: &[PredictionLogRecord]) -> (Vec<PredictionLogRecord>, usize) {
    let prefixes: BTreeSet<String> = records.iter().map(|r| partition_prefix(r.timestamp)).collect();
    let everything = (OffsetDateTime::UNIX_EPOCH, OffsetDateTime::now_utc() + Duration::days(1));
    let (mut logged, mut duplicates) = (Vec::new(), 0);
    for prefix in prefixes {
        let partition = read_partition(&s3.client(), BUCKET, &prefix, everything).await.unwrap();
        assert!(partition.corrupt.is_empty(), "{:?}", partition.corrupt);
        duplicates += partition.duplicates;
        logged.extend(partition.records);
    }
    logged.sort_unstable_by_key(|r| r.prediction_id);
    (logged, duplicates)
}

/// Asserts every record is logged as exactly one distinct record, equal to it; returns the copies removed.
async fn assert_distinct_records_exactly(s3: &S3Server, records: &[PredictionLogRecord]) -> usize {
    let (logged, duplicates) = distinct_logged(s3, records).await;
    let mut expected = records.to_vec();
    expected.sort_unstable_by_key(|r| r.prediction_id);
    assert_eq!(logged.len(), expected.len(), "one distinct record per answered prediction");
    assert_eq!(logged, expected);
    duplicates
}

/// The bucket's prediction-log keys that are batched files, and the records their names count.
async fn batched_files(s3: &S3Server) -> (Vec<String>, usize) {
    let keys = s3.keys(BUCKET, PREDICTION_LOG_PREFIX).await.unwrap();
    let files: Vec<String> =
        keys.into_iter().filter(|k| matches!(LogObjectName::parse(k), LogObjectName::Batch(_))).collect();
    let records = files.iter().map(|k| LogObjectName::parse(k).records()).sum();
    (files, records)
}

/// `n` records, one a second from minute 10 of the hour two hours ago: one partition.
fn records_in_one_hour(n: usize) -> Vec<PredictionLogRecord> {
    let hour = Window::hours_before(OffsetDateTime::now_utc(), 2).start;
    prediction_records(n, hour + Duration::minutes(10), Duration::SECOND).unwrap()
}

#[tokio::test]
async fn batched_every_prediction_sent_through_sqs_becomes_one_record_in_one_file_per_hour() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = batched_queue(&sqs).await;
    let records = records(250);
    let hours: BTreeSet<String> = records.iter().map(|r| partition_prefix(r.timestamp)).collect();
    assert!(hours.len() >= 4, "the records cross hour boundaries");
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 250);

    let esm = batched_mapping(&sqs, &queue);
    let responses = drain(&esm, &batched_logger(s3_store(&s3))).await;
    assert_eq!(responses.len(), 1, "one batch holds all 250");
    assert!(responses[0].batch_item_failures.is_empty(), "{responses:?}");
    assert_eq!(esm.remaining().await.unwrap(), 0);

    // One file per hour the batch touched, nothing else; the names count every record.
    let keys = s3.keys(BUCKET, PREDICTION_LOG_PREFIX).await.unwrap();
    let (files, named) = batched_files(&s3).await;
    assert_eq!((keys.len(), files.len(), named), (hours.len(), hours.len(), 250));
    let object = s3.client().get_object().bucket(BUCKET).key(&files[0]).send().await.unwrap();
    assert_eq!(object.content_type(), Some("application/gzip"));
    assert_eq!(object.content_encoding(), None, "a gzip file, not gzip-encoded JSON");
    assert_eq!(assert_distinct_records_exactly(&s3, &records).await, 0);
}

#[tokio::test]
async fn batched_an_s3_outage_mid_batch_fails_the_unwritten_files_and_loses_nothing() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let (mut s3, sqs) = (s3, sqs.unwrap());
    let queue = batched_queue(&sqs).await;
    let records = records(200);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 200);
    let esm = batched_mapping(&sqs, &queue);

    // One batch of 200 records over 4+ hours: 4+ files. S3 dies once the first file is written.
    let batch = esm.receive().await.unwrap();
    assert_eq!(batch.len(), 200);
    let killed = Arc::new(Notify::new());
    let (open, hold) = tokio::sync::watch::channel(false);
    let logger = batched_logger(Arc::new(SignalAfter {
        inner: s3_store(&s3),
        after: 1,
        written: AtomicUsize::new(0),
        signal: killed.clone(),
        started: AtomicUsize::new(0),
        hold: Some(hold),
    }));
    let (response, ()) = tokio::join!(logger.handle(lambda_event(esm.event(&batch))), async {
        killed.notified().await;
        s3.stop();
        open.send(true).unwrap();
    });
    esm.settle(&batch, &response).await.unwrap();
    s3.restart().await.unwrap();
    // Exactly the messages of the files that were not written failed: the bucket holds the first file only.
    let (files, named) = batched_files(&s3).await;
    let failed = response.batch_item_failures.len();
    assert_eq!(files.len(), 1);
    assert_eq!(named + failed, 200, "every message is in the written file or failed, never both");
    s3.stop();

    // While S3 is down, the whole redelivered batch fails and stays queued.
    let logger = batched_logger(s3_store(&s3));
    let (batch, response) = deliver_once(&esm, &logger).await.unwrap();
    assert_eq!((batch.len(), response.batch_item_failures.len()), (failed, failed));
    assert_eq!(esm.remaining().await.unwrap(), failed);

    // S3 is back: the retries write the rest.
    s3.restart().await.unwrap();
    let responses = drain(&esm, &logger).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    assert_eq!(esm.remaining().await.unwrap(), 0);
    assert_eq!(assert_distinct_records_exactly(&s3, &records).await, 0, "failed files were never written");
}

#[tokio::test]
async fn batched_a_stalled_bucket_fails_every_file_before_the_invocation_s_deadline() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = batched_queue(&sqs).await;
    let records = records(300);
    assert_eq!(sink(&sqs, &queue, &s3).submit(&records).await.queued, 300);
    let esm = batched_mapping(&sqs, &queue);
    let batch = esm.receive().await.unwrap();
    assert_eq!(batch.len(), 300);

    let stalled = StalledServer::start().unwrap();
    let logger = batched_logger(bucket_at(budgeted_s3(&stalled.endpoint(), LOGGER_S3)));
    let response = handled_before_the_deadline(&logger, esm.event(&batch)).await;
    assert_eq!(failed_ids(&response).len(), 300, "every message of every unwritten file is a batch item failure");

    esm.settle(&batch, &response).await.unwrap();
    drain(&esm, &batched_logger(s3_store(&s3))).await;
    assert_eq!(assert_distinct_records_exactly(&s3, &records).await, 0);
}

#[tokio::test]
async fn batched_a_redelivery_after_the_write_rewrites_the_same_file_or_adds_a_copy_readers_count_once() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = batched_queue(&sqs).await;
    let records = records_in_one_hour(15);
    let (a, rest) = records.split_at(5);
    let (b, c) = rest.split_at(5);
    let esm = batched_mapping(&sqs, &queue);
    let logger = batched_logger(s3_store(&s3));
    let submit = |r: &[PredictionLogRecord]| {
        let r = r.to_vec();
        let producer = sink(&sqs, &queue, &s3);
        async move { assert_eq!(producer.submit(&r).await.queued, r.len()) }
    };

    // Written, but the deletes never happen (the invocation timed out after its PUT): the same messages come
    // back alone, make the same file (same ids, same key, same bytes), and nothing is duplicated.
    submit(a).await;
    let first = esm.receive().await.unwrap();
    assert!(logger.handle(lambda_event(esm.event(&first))).await.batch_item_failures.is_empty());
    let (files, _) = batched_files(&s3).await;
    esm.make_visible(&first.iter().collect::<Vec<_>>()).await.unwrap();
    let (again, response) = deliver_once(&esm, &logger).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(again.len(), 5);
    assert_eq!(batched_files(&s3).await.0, files, "rewritten in place");

    // This time the redelivered messages arrive together with new ones: a second file holds copies of them.
    submit(b).await;
    let second = esm.receive().await.unwrap();
    assert!(logger.handle(lambda_event(esm.event(&second))).await.batch_item_failures.is_empty());
    esm.make_visible(&second.iter().collect::<Vec<_>>()).await.unwrap();
    submit(c).await;
    let responses = drain(&esm, &logger).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    let (files, named) = batched_files(&s3).await;
    assert_eq!((files.len(), named), (3, 20), "files of a, of b, and of b's copies with c");

    // Every reader sees 15 distinct records: a partition read, a window sample, a lookup by id.
    assert_eq!(assert_distinct_records_exactly(&s3, &records).await, 5, "b's five copies removed");
    let hour = Window::hours_before(OffsetDateTime::now_utc(), 2);
    let sample = sample_window(&s3.client(), BUCKET, (hour.start, hour.start + Duration::HOUR), 1000, 3).await.unwrap();
    assert_eq!((sample.records.len(), sample.duplicates, sample.listed_records), (15, 5, 20));
    let ids: Vec<PredictionId> = records.iter().map(|r| r.prediction_id).collect();
    let found = find_records(&s3.client(), BUCKET, &ids).await.unwrap();
    assert_eq!(found.len(), 15);
    assert!(records.iter().all(|r| found[&r.prediction_id].record == *r));
}

/// The whole path in batched mode with both layouts in one window: predict's sink hands records to SQS, then (SQS
/// frozen) writes them to their single-object keys itself, then to SQS again; the logger drains the queue first
/// per prediction, then batched (a switch of `PredictionLogDelivery` mid-window). The frozen queue may still
/// deliver what it buffered, so a record can be both a single object and a line of a file. Every answered
/// prediction is one distinct record, and the readers agree: a partition read, drift-check's window, the quality
/// check's window joined to labels.
#[tokio::test]
async fn batched_mode_accounts_for_every_answered_prediction_across_both_layouts() {
    let (s3, sqs) = tokio::join!(s3_with_bucket(), SqsServer::start());
    let sqs = sqs.unwrap();
    let queue = batched_queue(&sqs).await;
    // The production time budgets while the queue is frozen (so the hand-off gives up on it in time); the tests'
    // patient clients otherwise, so a loaded machine cannot push records past the fallback into stdout.
    let budgeted = SqsLogSink {
        sqs: aws::sqs_client(&sdk_config(&sqs.endpoint()), PREDICT_SQS),
        queue_url: queue.clone(),
        fallback: Some(bucket_at(budgeted_s3(&s3.endpoint(), PREDICT_S3_FALLBACK))),
    };
    let patient = sink(&sqs, &queue, &s3);
    let hour = Window::hours_before(OffsetDateTime::now_utc(), 2);
    let records = prediction_records(600, hour.start, Duration::seconds(12)).unwrap();
    let (before, rest) = records.split_at(250);
    let (during, after) = rest.split_at(30);

    let mut answered = Delivery::default();
    let mut add = |d: Delivery| {
        answered.queued += d.queued;
        answered.written_to_s3 += d.written_to_s3;
        answered.only_in_stdout += d.only_in_stdout;
    };
    add(patient.submit(before).await);
    sqs.process().freeze().unwrap();
    add(budgeted.submit(during).await);
    sqs.process().thaw().unwrap();
    add(patient.submit(after).await);
    assert_eq!(answered.only_in_stdout, 0);
    assert_eq!(answered.queued + answered.written_to_s3, 600, "{answered:?}");
    assert!(answered.written_to_s3 >= 1, "the frozen queue sent records to the fallback: {answered:?}");

    // One per-prediction batch, then the switch to batched.
    let (_, response) = deliver_once(&mapping(&sqs, &queue), &Logger::new(s3_store(&s3))).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let responses = drain(&batched_mapping(&sqs, &queue), &batched_logger(s3_store(&s3))).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()), "{responses:?}");
    let keys = s3.keys(BUCKET, PREDICTION_LOG_PREFIX).await.unwrap();
    let (files, _) = batched_files(&s3).await;
    assert!(
        files.len() >= 2 && keys.len() > files.len(),
        "both layouts: {} singles, {} files",
        keys.len() - files.len(),
        files.len()
    );

    assert_distinct_records_exactly(&s3, &records).await;
    // drift-check's reader on the same two hours: every record once, or a sample of exactly max_rows.
    let window = Window { start: hour.start, end: hour.start + Duration::hours(2) };
    let all = read_window(&s3.client(), BUCKET, &window, 100_000, 5).await.unwrap();
    assert_eq!((all.data.rows(), all.sampling.sampled, all.corrupt_objects), (600, false, 0));
    let half = read_window(&s3.client(), BUCKET, &window, 300, 5).await.unwrap();
    assert_eq!((half.data.rows(), half.sampling.sampled), (300, true));
    let (read_half, read_all) = (half.sampling.read_objects, all.sampling.read_objects);
    assert!(read_half < read_all, "{read_half} of {read_all} objects");

    // The quality check's reader on the same window: 6 predictions labelled fraud (3 of them handed over while the
    // queue was frozen), 100 labelled legitimate, and a label naming an id nothing logged.
    let labelled_at = OffsetDateTime::now_utc();
    let label = |id: PredictionId, is_fraud: bool| LabelRecord {
        target: LabelTarget::Prediction(id),
        is_fraud,
        labelled_at,
        source: Some("test".into()),
    };
    let frauds: Vec<&PredictionLogRecord> = before.iter().take(3).chain(during.iter().take(3)).collect();
    let mut labels = LabelSet::default();
    for (record, is_fraud) in frauds.iter().map(|r| (*r, true)).chain(after.iter().take(100).map(|r| (r, false))) {
        labels.insert(label(record.prediction_id, is_fraud));
    }
    // After the last record (1:59:48), so no batched file's id range holds it either.
    let unknown = PredictionId::new(hour.start + Duration::seconds(7195));
    labels.insert(label(unknown, true));
    // Two legitimate predictions labelled by their transaction ids, and a transaction id nothing logged.
    let by_transaction = |t: &str| LabelRecord {
        target: LabelTarget::Transaction(t.into()),
        is_fraud: false,
        labelled_at,
        source: Some("analyst".into()),
    };
    for t in [&after[100], &after[101]].map(|r| r.transaction_id.as_deref().unwrap()).into_iter().chain(["tx-none"]) {
        labels.insert(by_transaction(t));
    }
    let card =
        fraudwatch_core::card::ModelCard::from_json(&std::fs::read(repo_root().join("model/card.json")).unwrap())
            .unwrap();
    let baseline = QualityBaseline::from_card(&card);
    let client = s3.client();
    let cohorts = |max_rows| read_cohorts(&client, BUCKET, &window, &labels, &baseline, max_rows, 5);
    let whole = cohorts(100_000).await.unwrap();
    assert_eq!(whole.rows.len(), 600, "every prediction once");
    assert!(whole.rows.iter().all(|r| r.weight == 1.0));
    assert_eq!((whole.matched, whole.unmatched, whole.sampling.read_in_full), (108, 1, 6));
    assert_eq!((labels.transaction_labels(), whole.transaction_id_labels_matched), (3, 2));
    let sampled = cohorts(300).await.unwrap();
    assert!(sampled.sampling.sampled);
    assert_eq!(sampled.sampling.read_in_full, 6, "every fraud-labelled prediction, sampled or not");
    let fraud_rows: Vec<f64> =
        sampled.rows.iter().filter(|r| r.label.is_some_and(|(fraud, _)| fraud)).map(|r| r.weight).collect();
    assert_eq!(fraud_rows, [1.0; 6], "read in full, each standing for itself");
    assert!(sampled.rows.len() <= 306 && sampled.rows.len() >= 290, "{} rows", sampled.rows.len());
    // The weights stand for the window: 594 others, counted from the listing (a record both a single object and a
    // line of a file is counted twice there).
    let others: f64 = sampled.rows.iter().filter(|r| !r.label.is_some_and(|(fraud, _)| fraud)).map(|r| r.weight).sum();
    let listed = half.sampling.listed_records as f64;
    assert!((594.0..=listed - 6.0 + 1e-9).contains(&others), "{others} of 594 ({listed} listed)");
}

/// The logger's answer to `event` in an invocation whose deadline is 12 s away (the template's is 30 s), asserting it
/// came before the deadline: a later answer is one Lambda would have killed, redelivering the whole batch.
async fn handled_before_the_deadline(logger: &Logger, event: SqsEvent) -> SqsBatchResponse {
    let budget = std::time::Duration::from_secs(12);
    let mut context = Context::default();
    let deadline = std::time::SystemTime::now() + budget;
    context.deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let started = std::time::Instant::now();
    let response = tokio::time::timeout(2 * budget, logger.handle(LambdaEvent::new(event, context))).await;
    let took = started.elapsed();
    let response = response.expect("the batch outlived the invocation: Lambda would have killed it");
    assert!(took < budget, "returned after {took:?}, past the deadline");
    response
}

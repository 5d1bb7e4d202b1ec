//! Records per second the logger sustains against a real S3 server (s3s-fs, started by the test harness):
//! - per prediction: one SQS batch of 500 realistic records per iteration, one object each, written
//!   [`MAX_IN_FLIGHT`] at a time;
//! - batched: one SQS batch of 2,000 (the template's batched `BatchSize`) per iteration, one gzip'd JSON-lines
//!   file (the records are in one hour).
//!
//! Run: `cargo bench -p prediction-logger --bench throughput` (criterion reports `thrpt` in elements/s, one
//! element = one record written).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fraudwatch_core::store::S3Store;
use lambda_runtime::{Context, LambdaEvent};
use prediction_logger::{LogDelivery, Logger, MAX_IN_FLIGHT};

const BATCH: usize = 500;
const BATCHED_BATCH: usize = fraudwatch_tests::LOGGER_BATCHED_BATCH_SIZE;
const BUCKET: &str = "bench-logs";

fn event(records: &[fraudwatch_core::log_record::PredictionLogRecord]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records
        .iter()
        .map(|r| {
            let mut message = SqsMessage::default();
            message.message_id = Some(r.prediction_id.to_string());
            message.body = Some(String::from_utf8(r.encode()).expect("records are UTF-8 JSON"));
            message
        })
        .collect();
    event
}

fn throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_server, per_prediction, batched, event_of_500, event_of_2000) = runtime.block_on(async {
        let server = fraudwatch_tests::S3Server::start().await.unwrap();
        server.create_bucket(BUCKET).await.unwrap();
        let store = || std::sync::Arc::new(S3Store::new(server.client(), BUCKET));
        // Within one hour (one file per batched batch), as at high traffic.
        let start = time::OffsetDateTime::now_utc().replace_minute(0).unwrap() - time::Duration::HOUR;
        let records = fraudwatch_tests::prediction_records(BATCHED_BATCH, start, time::Duration::SECOND).unwrap();
        let (per_prediction, batched) = (Logger::new(store()), Logger::with_delivery(store(), LogDelivery::Batched));
        (server, per_prediction, batched, event(&records[..BATCH]), event(&records))
    });

    let mut group = c.benchmark_group("prediction-logger");
    group.sample_size(10);
    for (name, logger, event) in [
        (format!("batch of {BATCH} to s3s-fs, {MAX_IN_FLIGHT} in flight"), &per_prediction, &event_of_500),
        (format!("batched, batch of {BATCHED_BATCH} to s3s-fs, one file"), &batched, &event_of_2000),
    ] {
        group.throughput(Throughput::Elements(event.records.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || LambdaEvent::new(event.clone(), Context::default()),
                |e| {
                    let response = runtime.block_on(logger.handle(e));
                    // A failing store answers fast: only count batches that were really written.
                    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);

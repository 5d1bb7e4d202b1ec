//! Objects per second the logger sustains against a real S3 server (s3s-fs, started by the test
//! harness): one SQS batch of 500 realistic records per iteration, written [`MAX_IN_FLIGHT`] at a time.
//! Run: `cargo bench -p prediction-logger --bench throughput` (criterion reports `thrpt` in elements/s,
//! one element = one object written).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lambda_runtime::{Context, LambdaEvent};
use prediction_logger::{Logger, S3Store, MAX_IN_FLIGHT};

const BATCH: usize = 500;
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
    let (_server, logger, event) = runtime.block_on(async {
        let server = fraudwatch_tests::S3Server::start().await.unwrap();
        server.create_bucket(BUCKET).await.unwrap();
        let store = S3Store { client: server.client(), bucket: BUCKET.into() };
        let start = time::OffsetDateTime::now_utc() - time::Duration::HOUR;
        let records = fraudwatch_tests::prediction_records(BATCH, start, time::Duration::SECOND).unwrap();
        (server, Logger::new(store), event(&records))
    });

    let mut group = c.benchmark_group("prediction-logger");
    group.throughput(Throughput::Elements(BATCH as u64)).sample_size(10);
    group.bench_function(format!("batch of {BATCH} to s3s-fs, {MAX_IN_FLIGHT} in flight"), |b| {
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
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);

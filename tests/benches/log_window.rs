//! Reading a 100,000-row window of prediction logs from each layout, against a real S3 server (s3s-fs, started by
//! the harness), through drift-check's reader (`read_window`: list, sample, GET, decode, deduplicate):
//! - per prediction: 100,000 `<id>.json` objects;
//! - batched: the same records as the logger writes them with `PredictionLogDelivery=batched` (batches of 2,000,
//!   one gzip'd JSON-lines file per batch and hour).
//!
//! Each is read whole (`DRIFT_MAX_ROWS` = 100,000) and sampled to 10,000 rows. Setup writes both layouts once
//! (about a minute for the 100,000 single objects). One whole read of the single objects takes on the order of
//! 100 s here, so this bench takes ~25 minutes in all.
//! Run: `cargo bench -p fraudwatch-tests --bench log_window`.

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use fraudwatch_core::log_files::BatchFile;
use fraudwatch_core::log_record::{partition_prefix, PredictionLogRecord};
use fraudwatch_monitor::run::read_window;
use fraudwatch_monitor::window::Window;
use fraudwatch_tests::{prediction_records, S3Server, LOGGER_BATCHED_BATCH_SIZE};
use futures::StreamExt;

const ROWS: usize = 100_000;
const SINGLES: &str = "bench-per-prediction";
const BATCHED: &str = "bench-batched";

async fn put_all(s3: &aws_sdk_s3::Client, bucket: &str, objects: Vec<(String, Vec<u8>)>) {
    futures::stream::iter(objects)
        .map(|(key, body)| async move { s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.unwrap() })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
}

/// The files the batched logger writes for these records, taken from the queue `LOGGER_BATCHED_BATCH_SIZE` at a
/// time.
fn batched_files(records: &[PredictionLogRecord]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for batch in records.chunks(LOGGER_BATCHED_BATCH_SIZE) {
        let mut by_hour: BTreeMap<String, Vec<&PredictionLogRecord>> = BTreeMap::new();
        batch.iter().for_each(|r| by_hour.entry(partition_prefix(r.timestamp)).or_default().push(r));
        for group in by_hour.values() {
            let file = BatchFile::encode(group).unwrap();
            files.push((file.key, file.body));
        }
    }
    files
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let window = Window::hours_before(time::OffsetDateTime::now_utc(), 24);
    let (_server, s3) = runtime.block_on(async {
        let server = S3Server::start().await.unwrap();
        server.create_bucket(SINGLES).await.unwrap();
        server.create_bucket(BATCHED).await.unwrap();
        let s3 = server.client();
        let spacing = time::Duration::DAY / ROWS as u32;
        let records = prediction_records(ROWS, window.start, spacing).unwrap();
        let files = batched_files(&records);
        let json: usize = records.iter().map(|r| r.encode().len()).sum();
        let gzip: usize = files.iter().map(|(_, body)| body.len()).sum();
        eprintln!(
            "writing {ROWS} single objects ({:.0} bytes of JSON each) and {} batched files ({:.0} bytes per record)",
            json as f64 / ROWS as f64,
            files.len(),
            gzip as f64 / ROWS as f64
        );
        put_all(&s3, BATCHED, files).await;
        put_all(&s3, SINGLES, records.iter().map(|r| (r.s3_key(), r.encode())).collect()).await;
        (server, s3)
    });

    let mut group = c.benchmark_group(format!("read a {ROWS}-row window"));
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(1));
    for (layout, bucket) in [("batched", BATCHED), ("per-prediction", SINGLES)] {
        for max_rows in [ROWS, 10_000] {
            group.bench_function(format!("{layout}, DRIFT_MAX_ROWS {max_rows}"), |b| {
                b.iter(|| {
                    let logs = runtime.block_on(read_window(&s3, bucket, &window, max_rows, 7)).unwrap();
                    assert_eq!(logs.data.rows(), max_rows);
                    logs.sampling.read_objects
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

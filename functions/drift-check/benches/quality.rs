//! How large a quality window one drift-check run handles: the quality check end to end against a real S3 server
//! (s3s-fs, started by the test harness) — list the labels and the window, read every label and prediction log,
//! join, compute the per-day and span metrics and CBPE — and its computation alone at `QUALITY_MAX_ROWS`.
//! Run: `cargo bench -p drift-check --bench quality` (criterion's `thrpt` is prediction logs per second).
//!
//! The window: 20,000 held-out transactions (`model/parity.csv`, cycled) over 5 days, every one labelled by its
//! prediction id in one JSON-lines object, as `POST /labels` writes them (explicit labels, so every log is judged).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fraudwatch_core::label::{encode_json_lines, label_object_key, LabelRecord, LabelTarget};
use fraudwatch_monitor::quality::s3::check_quality;
use fraudwatch_monitor::quality::{
    assess, Assessment, LabelConvention, LabelSummary, QualityRow, QualitySampling, QualitySettings,
};
use fraudwatch_monitor::window::Window;
use futures::StreamExt;
use time::macros::datetime;

const LOGS: usize = 20_000;
const BUCKET: &str = "bench-quality";
/// `QUALITY_MAX_ROWS`'s default: the rows the computation holds at most.
const MAX_ROWS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let start = datetime!(2026-11-17 00:00 UTC);
    let records = fraudwatch_tests::prediction_records(LOGS, start, time::Duration::seconds(21)).unwrap();
    let server = runtime.block_on(async {
        let server = fraudwatch_tests::S3Server::start().await.unwrap();
        server.create_bucket(BUCKET).await.unwrap();
        let client = server.client();
        let puts = futures::stream::iter(&records)
            .map(|r| client.put_object().bucket(BUCKET).key(r.s3_key()).body(r.encode().into()).send())
            .buffer_unordered(32);
        assert!(puts.all(|put| async move { put.is_ok() }).await);
        let labels: Vec<LabelRecord> = records
            .iter()
            .map(|r| LabelRecord {
                target: LabelTarget::Prediction(r.prediction_id),
                is_fraud: r.fraud_probability > 0.5,
                labelled_at: datetime!(2026-11-23 00:00 UTC),
                source: Some("bench".into()),
            })
            .collect();
        let key = label_object_key(datetime!(2026-11-23 00:00 UTC), uuid::Uuid::now_v7());
        client.put_object().bucket(BUCKET).key(key).body(encode_json_lines(&labels).into()).send().await.unwrap();
        server
    });
    let reference = drift_check::load_reference().unwrap();
    let settings = QualitySettings {
        lookback_days: 90,
        convention: LabelConvention::Explicit,
        max_rows: MAX_ROWS,
        label_stale_days: 3,
    };
    let run_end = datetime!(2026-11-23 00:00 UTC);

    let mut group = c.benchmark_group("quality");
    group.sample_size(10).measurement_time(Duration::from_secs(60)).throughput(Throughput::Elements(LOGS as u64));
    group.bench_function(format!("check of a 90-day window holding {LOGS} labelled logs, s3s-fs"), |b| {
        b.iter(|| {
            let report = runtime.block_on(check_quality(
                &server.client(),
                BUCKET,
                run_end,
                &settings,
                &reference.quality,
                None,
                run_end,
            ));
            assert_eq!(report.unwrap().unwrap().labels.matched, LOGS);
        })
    });

    // The computation alone at MAX_ROWS rows over 90 days, half of them sampled rows of weight 10.
    let rows: Vec<QualityRow> = (0..MAX_ROWS)
        .map(|i| {
            let r = &records[i % LOGS];
            QualityRow {
                day: (start + time::Duration::days((i % 90) as i64)).date(),
                score: r.fraud_probability,
                weight: if i % 2 == 0 { 1.0 } else { 10.0 },
                label: Some((r.fraud_probability > 0.5, 48.0)),
            }
        })
        .collect();
    let scores: Vec<f64> = rows.iter().map(|r| f64::from(r.score)).collect();
    group.throughput(Throughput::Elements(MAX_ROWS as u64));
    group.bench_function(format!("assess {MAX_ROWS} rows over 90 days, with CBPE on {MAX_ROWS} scores"), |b| {
        b.iter(|| {
            assess(
                black_box(&rows),
                Assessment {
                    baseline: &reference.quality,
                    window: Window { start, end: start + time::Duration::days(90) },
                    convention: LabelConvention::Explicit,
                    labels: LabelSummary::default(),
                    sampling: QualitySampling::default(),
                    drift_window_scores: Some(&scores),
                    label_stale_after_days: 3,
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

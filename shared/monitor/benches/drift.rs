//! The drift check's computation at its documented size: 29 features (+ the prediction column), the
//! 5,000-row reference against 100,000 window rows (`DRIFT_MAX_ROWS`'s default). Target: < 1 s. And attribution
//! drift, which explains every row with TreeSHAP: the reference's ranking (once per cold start, 5,000 rows) and a
//! window's (timed on 10,000 rows; it is linear in the rows).
//!
//! The window is real held-out traffic (`model/parity.csv`, 3,000 rows) repeated with a tiny per-copy
//! scaling, so values stay distinct, as real traffic's are, and the sorts do real work.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use fraudwatch_core::schema::FEATURE_COUNT;
use fraudwatch_explain::Explainer;
use fraudwatch_monitor::baseline::Reference;
use fraudwatch_monitor::drift::{compare, AttributionBaseline, Dataset};
use fraudwatch_traffic::{read_parity_rows, ParityRow};

const WINDOW_ROWS: usize = 100_000;

fn repo_file(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(name)).expect("repo file")
}

fn window() -> Dataset {
    let rows = read_parity_rows().unwrap();
    // Column j of the model's features, then (j = FEATURE_COUNT) the trainer's probabilities.
    let value = |row: &ParityRow, j: usize| match row.transaction.features.get(j) {
        Some(&v) => f64::from(v),
        None => row.expected_probability,
    };
    let column = |j: usize| -> Vec<f64> {
        (0..WINDOW_ROWS).map(|i| value(&rows[i % rows.len()], j) * (1.0 + (i / rows.len()) as f64 * 1e-9)).collect()
    };
    Dataset::from_columns((0..FEATURE_COUNT).map(column).collect(), Some(column(FEATURE_COUNT)))
}

fn bench(c: &mut Criterion) {
    let reference = Reference::from_artifacts(&repo_file("model/card.json"), &repo_file("model/reference.csv.gz"))
        .expect("the committed reference");
    let current = window();
    let mut group = c.benchmark_group("drift");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("compare 29 features + prediction, 5,000 reference x 100,000 window rows", |b| {
        b.iter(|| compare(black_box(&reference.data), black_box(&current)).unwrap())
    });
    let explainer = Explainer::from_bytes(&repo_file("model/trees.json"), &repo_file("model/card.json")).unwrap();
    group.bench_function("attribution: the reference's ranking (5,000 rows explained)", |b| {
        b.iter(|| AttributionBaseline::new(explainer.clone(), black_box(&reference.data)))
    });
    let baseline = AttributionBaseline::new(explainer, &reference.data);
    let sample: Vec<Vec<f64>> = (0..FEATURE_COUNT).map(|j| current.feature(j)[..10_000].to_vec()).collect();
    let sample = Dataset::from_columns(sample, None);
    group.bench_function("attribution: a window's ranking and nDCG (10,000 rows explained)", |b| {
        b.iter(|| baseline.compare(black_box(&sample)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! TreeSHAP reason codes: one `Explainer::contributions` call (what an explained `POST /predict` adds), the
//! plain margin walk for comparison, and the explainer load a cold start pays (sha256 + JSON parse + checks).
//! Real rows from `model/parity.csv`, cycled so every call explains a different row; the committed
//! `model/trees.json` and `model/card.json`.
//! Run: `cargo bench -p fraudwatch-explain --bench explain`.

use std::hint::black_box;
use std::path::Path;

use criterion::Criterion;
use fraudwatch_core::schema::Features;
use fraudwatch_explain::Explainer;

fn repo_file(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(name)).expect("repo file")
}

fn parity_rows() -> Vec<Features> {
    let parity = repo_file("model/parity.csv");
    let mut reader = csv::Reader::from_reader(parity.as_slice());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            std::array::from_fn(|j| r[j].parse::<f64>().unwrap() as f32)
        })
        .collect()
}

fn main() {
    let trees = repo_file("model/trees.json");
    let card = repo_file("model/card.json");
    let explainer = Explainer::from_bytes(&trees, &card).unwrap();
    let rows = parity_rows();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("explain");
    let mut next = rows.iter().cycle();
    group.bench_function("contributions (one row)", |b| {
        b.iter(|| explainer.contributions(black_box(next.next().unwrap())))
    });
    group.bench_function("margin (one row)", |b| b.iter(|| explainer.margin(black_box(next.next().unwrap()))));
    group.sample_size(20);
    group.bench_function("load (from_bytes)", |b| b.iter(|| Explainer::from_bytes(black_box(&trees), &card).unwrap()));
    group.finish();
    c.final_summary();
}

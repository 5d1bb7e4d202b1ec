//! The fraud model under ONNX Runtime, with the options `FraudModel` uses (Level3, one intra-op thread, only
//! the `probabilities` output): one row (what `POST /predict` does), 100 rows, and the session build a cold
//! start pays. Then the alternatives, measured *paired*: blocks of calls alternate between the production
//! options and each alternative inside one process, and the per-pair ratio's median is reported — on a
//! shared machine whose speed drifts by ±50% between runs, separate criterion runs cannot resolve a 5% effect.
//! Real rows from `model/parity.csv`, the committed `model/model.onnx`.
//! Run: `cargo bench -p fraudwatch-model --bench model`.
//!
//! ONNX Runtime allows one environment per process, so this drives `ort` directly rather than `FraudModel`
//! (whose own path is measured by `cargo bench -p predict --bench handler`, "model: one score call").

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::Criterion;
use fraudwatch_core::schema::{Features, FEATURE_COUNT};
use fraudwatch_model::locate_onnx_runtime;
use fraudwatch_traffic::read_parity_rows;
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::TensorRef;

fn repo_file(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(name)).expect("repo file")
}

fn rows(n: usize) -> Vec<Features> {
    read_parity_rows().unwrap().iter().take(n).map(|r| r.transaction.features).collect()
}

fn session(env: &Environment, model: &[u8], level: GraphOptimizationLevel, threads: usize) -> Session {
    Session::builder(env)
        .unwrap()
        .with_optimization_level(level)
        .unwrap()
        .with_intra_threads(threads)
        .unwrap()
        .with_inter_threads(1)
        .unwrap()
        .commit_from_memory(model)
        .unwrap()
}

fn only_probabilities() -> RunOptions<HasSelectedOutputs> {
    RunOptions::new().unwrap().with_outputs(OutputSelector::no_default().with("probabilities"))
}

/// P(fraud) of the first row, read from the `probabilities` output as `FraudModel` does.
fn run(session: &mut Session, rows: &[Features], options: Option<&RunOptions<HasSelectedOutputs>>) -> f32 {
    let input = TensorRef::from_array_view(([rows.len(), FEATURE_COUNT], rows.as_flattened())).unwrap();
    let outputs = match options {
        Some(o) => session.run_with_options(ort::inputs![input], o).unwrap(),
        None => session.run(ort::inputs![input]).unwrap(),
    };
    let (_, values) = outputs["probabilities"].try_extract_tensor::<f32>().unwrap();
    values[1]
}

fn production(c: &mut Criterion, env: &Environment, model: &[u8], batch: &[Features]) {
    let options = only_probabilities();
    let mut s = session(env, model, GraphOptimizationLevel::Level3, 1);
    let mut group = c.benchmark_group("model (Level3, 1 thread, probabilities only)");
    group.bench_function("one row", |b| b.iter(|| run(&mut s, black_box(&batch[..1]), Some(&options))));
    group.bench_function("100 rows", |b| b.iter(|| run(&mut s, black_box(batch), Some(&options))));
    group.sample_size(20);
    group.bench_function("session build (cold start)", |b| {
        b.iter(|| session(env, black_box(model), GraphOptimizationLevel::Level3, 1))
    });
    group.finish();
}

/// Each alternative against the production options, in alternating blocks; prints medians and paired ratios.
fn paired(env: &Environment, model: &[u8], batch: &[Features]) {
    const PAIRS: usize = 150;
    let options = only_probabilities();
    let mut production = session(env, model, GraphOptimizationLevel::Level3, 1);
    let mut level1 = session(env, model, GraphOptimizationLevel::Level1, 1);
    let mut disabled = session(env, model, GraphOptimizationLevel::Disable, 1);
    let mut two_threads = session(env, model, GraphOptimizationLevel::Level3, 2);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for rows in [&batch[..1], batch] {
        let calls = if rows.len() == 1 { 2_000 } else { 40 };
        // Mean µs per call over one block.
        let block = |s: &mut Session, o: Option<&RunOptions<HasSelectedOutputs>>| {
            let started = Instant::now();
            for _ in 0..calls {
                black_box(run(s, black_box(rows), o));
            }
            started.elapsed().as_secs_f64() * 1e6 / calls as f64
        };
        let names = ["production", "all outputs", "Level1", "Disable", "2 intra-op threads"];
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(PAIRS); names.len()];
        for _ in 0..PAIRS {
            times[0].push(block(&mut production, Some(&options)));
            times[1].push(block(&mut production, None));
            times[2].push(block(&mut level1, Some(&options)));
            times[3].push(block(&mut disabled, Some(&options)));
            times[4].push(block(&mut two_threads, Some(&options)));
        }
        println!(
            "paired, {} row(s), {PAIRS} pairs of {calls}-call blocks (ratio < 1: faster than production)",
            rows.len()
        );
        for (name, t) in names.iter().zip(&times) {
            let mut ratios: Vec<f64> = t.iter().zip(&times[0]).map(|(a, b)| a / b).collect();
            let ratio = median(&mut ratios);
            println!("  {name:<20} median {:9.2} µs/call   paired ratio {ratio:.3}", median(&mut t.clone()));
        }
    }
}

fn main() {
    let env = ort::init_from(locate_onnx_runtime().unwrap()).unwrap().with_telemetry(false).build().unwrap();
    let model = repo_file("model/model.onnx");
    let batch = rows(100);
    let mut c = Criterion::default().configure_from_args();
    production(&mut c, &env, &model, &batch);
    c.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` runs each criterion bench once and skips this.
    if std::env::args().any(|a| a == "--bench") {
        paired(&env, &model, &batch);
    }
}

//! What `?explain=true` adds to a prediction: the handler on the same transaction with and without reasons
//! (the app as production builds it, explainer loaded), one and 100 at a time, and the parts of the difference
//! (TreeSHAP itself, picking the top reasons). The same app answers both, in one process, so the difference is
//! the added cost. Timed as CPU time of the benchmark's thread (`on_cpu`), so other jobs on a shared machine do
//! not count. Run: `cargo bench -p predict --bench explain`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Discard, TRANSACTION};
use criterion::{criterion_group, criterion_main, Criterion};
use fraudwatch_core::schema::parse_transaction;
use fraudwatch_model::locate_onnx_runtime;
use predict::api::{App, REASONS_RETURNED};
use predict::test_util::ApiGatewayEvent;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    let explainer = predict::embedded_explainer().unwrap();
    let app = App::new(model, Discard).with_explainer(Some(explainer.clone()));
    let batch_body = format!("{{\"transactions\":[{}]}}", vec![TRANSACTION; 100].join(","));
    let cases = [
        ("handler: 1 transaction", ApiGatewayEvent::post("/predict", TRANSACTION).to_json()),
        (
            "handler: 1 transaction, ?explain=false",
            ApiGatewayEvent::post("/predict", TRANSACTION).query("explain=false").to_json(),
        ),
        (
            "handler: 1 transaction, ?explain=true",
            ApiGatewayEvent::post("/predict", TRANSACTION).query("explain=true").to_json(),
        ),
        ("handler: batch of 100", ApiGatewayEvent::post("/predict/batch", &batch_body).to_json()),
        (
            "handler: batch of 100, ?explain=true",
            ApiGatewayEvent::post("/predict/batch", &batch_body).query("explain=true").to_json(),
        ),
    ];
    let respond = |event: &str| {
        let response = runtime.block_on(app.handle(lambda_http::request::from_str(event).unwrap()));
        assert_eq!(response.status(), 200);
        response
    };
    let explained = respond(&cases[2].1);
    let plain = respond(&cases[0].1);
    println!(
        "response bytes: {} without reasons, {} with {REASONS_RETURNED}",
        plain.body().len(),
        explained.body().len()
    );

    let mut group = c.benchmark_group("explain");
    for (name, event) in &cases {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                on_cpu(iters, || {
                    respond(event);
                })
            })
        });
    }
    let features = parse_transaction(TRANSACTION.as_bytes()).unwrap().features;
    group.bench_function("TreeSHAP contributions alone (200 trees)", |b| {
        b.iter_custom(|iters| {
            on_cpu(iters, || {
                black_box(explainer.contributions(black_box(&features)));
            })
        })
    });
    let contributions = explainer.contributions(&features);
    group.bench_function("top reasons from the contributions", |b| {
        b.iter_custom(|iters| {
            on_cpu(iters, || {
                black_box(black_box(&contributions).top(REASONS_RETURNED));
            })
        })
    });
    group.bench_function("explainer load at cold start (trees.json: checksum, parse, checks, leaf shares)", |b| {
        b.iter_custom(|iters| {
            on_cpu(iters, || {
                black_box(predict::embedded_explainer().unwrap());
            })
        })
    });
    group.finish();
}

/// The CPU time `iters` runs of `f` take on this thread (`CLOCK_THREAD_CPUTIME_ID`), for
/// `Bencher::iter_custom`: on a machine other jobs share, wall time also counts the time they ran instead.
fn on_cpu(iters: u64, mut f: impl FnMut()) -> Duration {
    let now = || {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid, writable timespec; the clock id is a constant the kernel knows.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    };
    let start = now();
    for _ in 0..iters {
        f();
    }
    now() - start
}

criterion_group!(explain, benches);
criterion_main!(explain);

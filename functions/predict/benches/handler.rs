//! Request JSON → response JSON through the handler in-process, and the model call alone.
//! Run: `cargo bench -p predict --bench handler`.

mod common;

use common::{Discard, TRANSACTION};
use criterion::{criterion_group, criterion_main, Criterion};
use fraudwatch_core::schema::parse_transaction;
use fraudwatch_model::locate_onnx_runtime;
use predict::api::App;
use predict::test_util::ApiGatewayEvent;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    let app = App::new(model, Discard);
    let single = ApiGatewayEvent::post("/predict", TRANSACTION).to_json();
    let batch_body = format!("{{\"transactions\":[{}]}}", vec![TRANSACTION; 100].join(","));
    let batch = ApiGatewayEvent::post("/predict/batch", &batch_body).to_json();

    c.bench_function("handler: event JSON -> response JSON (1 transaction)", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(&single).unwrap();
            let response = runtime.block_on(app.handle(request));
            assert_eq!(response.status(), 200);
        })
    });
    c.bench_function("handler: batch of 100", |b| {
        b.iter(|| {
            let request = lambda_http::request::from_str(&batch).unwrap();
            assert_eq!(runtime.block_on(app.handle(request)).status(), 200);
        })
    });
    let features = parse_transaction(TRANSACTION.as_bytes()).unwrap().features;
    c.bench_function("model: one score call", |b| b.iter(|| app.model.score(&features).unwrap()));
    c.bench_function("schema: parse + validate one transaction", |b| {
        b.iter(|| parse_transaction(TRANSACTION.as_bytes()).unwrap())
    });
}

criterion_group!(handler, benches);
criterion_main!(handler);

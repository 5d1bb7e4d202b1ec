//! The prediction-log record on its hot paths: predict encodes one per prediction (the SQS message body),
//! the prediction-logger decodes one and derives its S3 key per object, drift-check decodes every sampled one.
//! A realistic record: a real transaction's 29 features, a UUIDv7, a request id, a transaction id; and the
//! same record of an explained prediction (`?explain=true`: its five reasons, as predict computes them).
//! Run: `cargo bench -p fraudwatch-core --bench log_record`.
//!
//! (This crate's dev build of serde_json has `float_roundtrip`, exact but slightly slower than the default
//! parser the functions use: decode here is an upper bound.)

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fraudwatch_core::log_record::{LoggedContribution, LoggedExplanation, PredictionLogRecord};
use fraudwatch_core::schema::parse_transaction;
use fraudwatch_core::test_util::LogRecordBuilder;
use time::macros::datetime;

const TRANSACTION: &str = r#"{"V1":-1.3598071336738,"V2":-0.0727811733098497,"V3":2.53634673796914,"V4":1.37815522427443,"V5":-0.338320769942518,"V6":0.462387777762292,"V7":0.239598554061257,"V8":0.0986979012610507,"V9":0.363786969611213,"V10":0.0907941719789316,"V11":-0.551599533260813,"V12":-0.617800855762348,"V13":-0.991389847235408,"V14":-0.311169353699879,"V15":1.46817697209427,"V16":-0.470400525259478,"V17":0.207971241929242,"V18":0.0257905801985591,"V19":0.403992960255733,"V20":0.251412098239705,"V21":-0.018306777944153,"V22":0.277837575558899,"V23":-0.110473910188767,"V24":0.0669280749146731,"V25":0.128539358273528,"V26":-0.189114843888824,"V27":0.133558376740387,"V28":-0.0210530534538215,"Amount":149.62,"transaction_id":"order-77"}"#;

fn bench(c: &mut Criterion) {
    let transaction = parse_transaction(TRANSACTION.as_bytes()).unwrap();
    let unexplained = LogRecordBuilder::at(datetime!(2026-11-22 03:04:05.123456 UTC))
        .request_id("c3d4e5f6-a7b8-4c9d-8e0f-112233445566")
        .features(transaction.features)
        .scored(0.000_087_1, 0.986_222_2)
        .transaction_id(transaction.transaction_id.expect("the transaction has an id"));
    let record = unexplained.clone().build();
    let encoded = record.encode();
    assert_eq!(PredictionLogRecord::decode(&encoded).unwrap(), record);
    // This transaction's explanation by the committed model (`?explain=true`, five reasons).
    let reason = |feature: &str, contribution: f32| LoggedContribution { feature: feature.into(), contribution };
    let explained = unexplained
        .explanation(LoggedExplanation {
            bias: 2.345_466_6,
            margin: -5.865_594,
            top: vec![
                reason("V14", -1.781_765_2),
                reason("V3", -1.702_772_6),
                reason("V10", -0.727_999_45),
                reason("V20", -0.590_891_8),
                reason("V24", -0.476_237_83),
            ],
            other_features: -2.931_393_9,
        })
        .build();
    let explained_encoded = explained.encode();
    assert_eq!(PredictionLogRecord::decode(&explained_encoded).unwrap(), explained);

    let mut group = c.benchmark_group("log record");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("encode ({} bytes of JSON)", encoded.len()), |b| {
        b.iter(|| black_box(&record).encode())
    });
    group.bench_function("decode + validate", |b| b.iter(|| PredictionLogRecord::decode(black_box(&encoded)).unwrap()));
    group.bench_function("s3_key", |b| b.iter(|| black_box(&record).s3_key()));
    group.bench_function(format!("encode, explained ({} bytes of JSON)", explained_encoded.len()), |b| {
        b.iter(|| black_box(&explained).encode())
    });
    group.bench_function("decode + validate, explained", |b| {
        b.iter(|| PredictionLogRecord::decode(black_box(&explained_encoded)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

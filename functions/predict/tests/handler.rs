//! The handler fed real API Gateway HTTP API (payload v2) events, for success and every error class.

use std::path::Path;
use std::sync::Mutex;

use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::schema::FEATURE_NAMES;
use fraudwatch_model::locate_onnx_runtime;
use lambda_http::{Body, Response};

use predict::api::{App, MAX_BATCH_SIZE, MAX_BODY_BYTES};
use predict::log_sink::{Delivery, PredictionLogSink};
use serde_json::{json, Value};

/// Keeps what the handler hands over for logging, so tests can check it (the SQS path itself is
/// exercised against a real SQS server in the `tests` crate).
#[derive(Default)]
struct KeptRecords(Mutex<Vec<PredictionLogRecord>>);

impl PredictionLogSink for KeptRecords {
    async fn submit(&self, records: &[PredictionLogRecord]) -> Delivery {
        self.0.lock().unwrap().extend_from_slice(records);
        Delivery { queued: records.len(), ..Delivery::default() }
    }
}

fn app() -> App<KeptRecords> {
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    App::new(model, KeptRecords::default())
}

/// Real held-out transactions with the trainer's probabilities: (features as JSON object, probability).
fn parity_rows() -> Vec<(serde_json::Map<String, Value>, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/parity.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let mut m = serde_json::Map::new();
            for name in FEATURE_NAMES {
                let i = headers.iter().position(|h| h == name).unwrap();
                m.insert(name.into(), json!(r[i].parse::<f64>().unwrap()));
            }
            let p = headers.iter().position(|h| h == "expected_probability").unwrap();
            (m, r[p].parse().unwrap())
        })
        .collect()
}

fn event(method: &str, path: &str, content_type: Option<&str>, body: &str) -> lambda_http::Request {
    let mut e: Value = serde_json::from_str(include_str!("fixtures/apigw-v2-request.json")).unwrap();
    e["rawPath"] = json!(path);
    e["requestContext"]["http"]["path"] = json!(path);
    e["requestContext"]["http"]["method"] = json!(method);
    match content_type {
        Some(ct) => e["headers"]["content-type"] = json!(ct),
        None => {
            e["headers"].as_object_mut().unwrap().remove("content-type");
        }
    }
    e["body"] = json!(body);
    lambda_http::request::from_str(&e.to_string()).unwrap()
}

fn post(path: &str, body: &str) -> lambda_http::Request {
    event("POST", path, Some("application/json"), body)
}

fn parts(r: Response<Body>) -> (u16, Value) {
    let status = r.status().as_u16();
    let body = String::from_utf8(r.body().to_vec()).unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

#[tokio::test]
async fn scores_real_transactions_like_the_trainer_and_logs_each() {
    let app = app();
    let rows = parity_rows();
    for (features, expected) in rows.iter().take(25) {
        let (status, body) = parts(app.handle(post("/predict", &Value::Object(features.clone()).to_string())).await);
        assert_eq!(status, 200, "{body}");
        let p = body["fraud_probability"].as_f64().unwrap();
        assert!((p - expected).abs() <= 1e-5, "{p} vs {expected}");
        assert_eq!(body["is_fraud"], json!(p >= body["threshold"].as_f64().unwrap()));
        assert_eq!(body["model_version"], json!(app.model.version()));
    }
    let logged = app.log_sink.0.lock().unwrap();
    assert_eq!(logged.len(), 25);
    assert_eq!(logged[0].request_id, "JKJaXmPLvHcESHA=");
    let (first, _) = &rows[0];
    assert_eq!(logged[0].features.0[0] as f64, first["V1"].as_f64().unwrap() as f32 as f64);
}

#[tokio::test]
async fn the_response_echoes_the_callers_transaction_id() {
    let app = app();
    let mut features = parity_rows().remove(0).0;
    features.insert("transaction_id".into(), json!("order-77"));
    let (status, body) = parts(app.handle(post("/predict", &Value::Object(features).to_string())).await);
    assert_eq!(status, 200);
    assert_eq!(body["transaction_id"], "order-77");
    assert_eq!(app.log_sink.0.lock().unwrap()[0].transaction_id.as_deref(), Some("order-77"));
}

#[tokio::test]
async fn a_batch_is_scored_in_one_call_and_every_item_logged() {
    let app = app();
    let rows = parity_rows();
    let transactions: Vec<Value> = rows.iter().take(120).map(|(f, _)| Value::Object(f.clone())).collect();
    let body = json!({ "transactions": transactions }).to_string();
    let (status, out) = parts(app.handle(post("/predict/batch", &body)).await);
    assert_eq!(status, 200, "{out}");
    let predictions = out["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 120);
    for ((_, expected), p) in rows.iter().zip(predictions) {
        assert!((p["fraud_probability"].as_f64().unwrap() - expected).abs() <= 1e-5);
    }
    let logged = app.log_sink.0.lock().unwrap();
    assert_eq!(logged.len(), 120);
    let ids: std::collections::HashSet<_> = logged.iter().map(|r| r.prediction_id).collect();
    assert_eq!(ids.len(), 120, "prediction ids are unique");
}

#[tokio::test]
async fn health_model_and_demo_page() {
    let app = app();
    let (status, body) = parts(app.handle(event("GET", "/health", None, "")).await);
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, card) = parts(app.handle(event("GET", "/model", None, "")).await);
    assert_eq!(status, 200);
    assert_eq!(card["features"].as_array().unwrap().len(), 29);
    assert_eq!(card["version"], json!(app.model.version()));
    let page = app.handle(event("GET", "/", None, "")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(page.body().to_vec()).unwrap();
    assert!(!html.contains("/*DEMO_TRANSACTIONS*/"), "the real transactions are filled in");
    assert!(html.contains("model/parity.csv data row"), "the page offers real held-out transactions");
}

/// (request, expected status, expected error code, a phrase the detail must contain)
#[tokio::test]
async fn every_error_class_is_a_clear_4xx() {
    let app = app();
    let valid = Value::Object(parity_rows().remove(0).0);
    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("V17");
    let mut misspelt = valid.clone();
    let amount = misspelt.as_object_mut().unwrap().remove("Amount").unwrap();
    misspelt["amount"] = amount;
    let mut as_string = valid.clone();
    as_string["V3"] = json!("0.5");
    let over_limit = json!({"transactions": vec![valid.clone(); MAX_BATCH_SIZE + 1]}).to_string();
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
    let cases: Vec<(lambda_http::Request, u16, &str, &str)> = vec![
        (post("/predict", "{\"V1\": 1.0,"), 400, "malformed_json", "EOF"),
        (post("/predict", "{\"V1\": NaN}"), 400, "malformed_json", "expected value"),
        (post("/predict", "[1, 2, 3]"), 422, "invalid_body", "expected a JSON object"),
        (post("/predict", &missing.to_string()), 422, "invalid_fields", "V17: is required but missing"),
        (post("/predict", &misspelt.to_string()), 422, "invalid_fields", "did you mean `Amount`"),
        (post("/predict", &as_string.to_string()), 422, "invalid_fields", "V3: must be a JSON number, got a string"),
        (post("/predict/batch", &over_limit), 422, "batch_size", "this one has 501"),
        (post("/predict", &huge), 413, "payload_too_large", "limit is 1048576"),
        (
            event("POST", "/predict", Some("text/plain"), &valid.to_string()),
            415,
            "unsupported_media_type",
            "text/plain",
        ),
        (event("POST", "/predict", None, &valid.to_string()), 415, "unsupported_media_type", "got nothing"),
        (event("GET", "/predict", None, ""), 405, "method_not_allowed", "allowed: POST"),
        (event("DELETE", "/health", None, ""), 405, "method_not_allowed", "allowed: GET"),
        (event("GET", "/nope", None, ""), 404, "not_found", "/nope"),
    ];
    for (request, status, code, phrase) in cases {
        let response = app.handle(request).await;
        let allow = response.headers().get("allow").cloned();
        let (got_status, body) = parts(response);
        assert_eq!((got_status, body["error"].as_str()), (status, Some(code)), "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(phrase), "{code}: {detail:?} lacks {phrase:?}");
        assert_eq!(allow.is_some(), status == 405);
    }
    assert!(app.log_sink.0.lock().unwrap().is_empty(), "refused requests are not logged");
}

#[tokio::test]
async fn field_errors_are_listed_one_by_one() {
    let app = app();
    let body = json!({"V1": "x", "Amount": -1}).to_string();
    let (status, out) = parts(app.handle(post("/predict", &body)).await);
    assert_eq!(status, 422);
    let fields = out["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 29, "V1 and Amount invalid, 27 missing: {out}");
    assert!(fields.iter().any(|f| f["field"] == "Amount" && f["problem"] == "must be ≥ 0, got -1"));
}

//! The handler fed real API Gateway HTTP API (payload v2) events, for success and every error class.

use fraudwatch_core::schema::FEATURE_NAMES;
use fraudwatch_model::locate_onnx_runtime;
use fraudwatch_traffic::read_parity_rows;
use lambda_http::{Body, Response};

use fraudwatch_core::schema::parse_transaction;
use predict::api::{App, MAX_BATCH_SIZE, MAX_BODY_BYTES, REASONS_RETURNED};
use predict::test_util::ApiGatewayEvent;
use serde_json::{json, Value};

mod common;
use common::{app, KeptRecords};

/// Real held-out transactions with the trainer's probabilities: (features as JSON object, probability).
fn parity_rows() -> Vec<(serde_json::Map<String, Value>, f64)> {
    read_parity_rows()
        .unwrap()
        .into_iter()
        .map(|r| {
            let features = FEATURE_NAMES.iter().zip(r.transaction.features);
            (features.map(|(name, v)| (name.to_string(), json!(v))).collect(), r.expected_probability)
        })
        .collect()
}

fn post(path: &str, body: &str) -> lambda_http::Request {
    ApiGatewayEvent::post(path, body).request()
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
    let (status, body) = parts(app.handle(ApiGatewayEvent::new("GET", "/health").request()).await);
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, card) = parts(app.handle(ApiGatewayEvent::new("GET", "/model").request()).await);
    assert_eq!(status, 200);
    assert_eq!(card["features"].as_array().unwrap().len(), 29);
    assert_eq!(card["version"], json!(app.model.version()));
    // How to read the reasons: on the log-odds scale, from the explainer's bias, the top 5.
    let guide = &card["reason_codes"];
    assert_eq!(guide["available"], true);
    assert_eq!(guide["output"], "log-odds margin");
    assert_eq!(as_f32(&guide["bias"]), app.explainer.as_ref().unwrap().bias() as f32);
    assert_eq!(guide["reasons_returned"], REASONS_RETURNED);
    let how = guide["how_to_read"].as_str().unwrap();
    assert!(how.contains("bias + the reasons' contributions + other_features = margin"), "{how}");
    assert_eq!(card["explanation"]["file"], "trees.json", "the card itself is served whole");
    let page = app.handle(ApiGatewayEvent::new("GET", "/").request()).await;
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
            ApiGatewayEvent::post("/predict", &valid.to_string()).content_type(Some("text/plain")).request(),
            415,
            "unsupported_media_type",
            "text/plain",
        ),
        (
            ApiGatewayEvent::post("/predict", &valid.to_string()).content_type(None).request(),
            415,
            "unsupported_media_type",
            "got nothing",
        ),
        (ApiGatewayEvent::new("GET", "/predict").request(), 405, "method_not_allowed", "allowed: POST"),
        (ApiGatewayEvent::new("DELETE", "/health").request(), 405, "method_not_allowed", "allowed: GET"),
        (ApiGatewayEvent::new("GET", "/nope").request(), 404, "not_found", "/nope"),
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

/// The transaction of `parity.csv` row `i` as a request body.
fn parity_body(i: usize) -> String {
    Value::Object(parity_rows().swap_remove(i).0).to_string()
}

/// The first fraud the model flags in `parity.csv`.
fn flagged_fraud_row() -> usize {
    parity_rows().iter().position(|(_, p)| *p > 0.99).unwrap()
}

#[tokio::test]
async fn explain_true_returns_the_top_treeshap_reasons_and_logs_them() {
    let app = app();
    let i = flagged_fraud_row();
    let (status, body) =
        parts(app.handle(ApiGatewayEvent::post("/predict", &parity_body(i)).query("explain=true").request()).await);
    assert_eq!(status, 200, "{body}");
    let explanation = &body["explanation"];
    let reasons = explanation["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), REASONS_RETURNED);

    // The reasons are the explainer's own top contributions for these features, with their values.
    let features = parse_transaction(parity_body(i).as_bytes()).unwrap().features;
    let contributions = app.explainer.as_ref().unwrap().contributions(&features);
    for (reason, expected) in reasons.iter().zip(contributions.top(REASONS_RETURNED)) {
        assert_eq!(reason["feature"], expected.feature);
        assert_eq!(as_f32(&reason["contribution"]), expected.contribution as f32, "{reason}");
        assert_eq!(as_f32(&reason["value"]), features[expected.index]);
        let direction = if expected.contribution > 0.0 { "towards_fraud" } else { "towards_legit" };
        assert_eq!(reason["direction"], direction);
    }
    assert_eq!(reasons[0]["direction"], "towards_fraud", "a flagged fraud's first reason raises the score");
    // bias + reasons + the rest add up to the margin (float32), whose sigmoid is the served probability.
    let number = |v: &Value| f64::from(as_f32(v));
    let margin = number(&explanation["margin"]);
    let sum = number(&explanation["bias"])
        + reasons.iter().map(|r| number(&r["contribution"])).sum::<f64>()
        + number(&explanation["other_features"]);
    assert!((sum - margin).abs() < 1e-5, "{sum} vs {margin}");
    let p = number(&body["fraud_probability"]);
    assert!((1.0 / (1.0 + (-margin).exp()) - p).abs() < 1e-6, "sigmoid({margin}) vs {p}");

    // The log record keeps exactly what the response said.
    let logged = app.log_sink.0.lock().unwrap();
    let record = &logged[0];
    assert_eq!(record.schema_version, 2);
    let kept = record.explanation.as_ref().unwrap();
    let answered =
        (as_f32(&explanation["bias"]), as_f32(&explanation["margin"]), as_f32(&explanation["other_features"]));
    assert_eq!((kept.bias, kept.margin, kept.other_features), answered);
    let kept: Vec<(&str, f32)> = kept.top.iter().map(|c| (c.feature.as_str(), c.contribution)).collect();
    let answered: Vec<(&str, f32)> =
        reasons.iter().map(|r| (r["feature"].as_str().unwrap(), as_f32(&r["contribution"]))).collect();
    assert_eq!(kept, answered);
}

/// A float32 the response wrote (its shortest text reads back as the same float32).
fn as_f32(v: &Value) -> f32 {
    v.as_f64().unwrap() as f32
}

#[tokio::test]
async fn without_explain_true_the_response_and_the_record_are_as_before() {
    let app = app();
    for query in ["", "explain=false"] {
        let (status, body) =
            parts(app.handle(ApiGatewayEvent::post("/predict", &parity_body(0)).query(query).request()).await);
        assert_eq!(status, 200, "{body}");
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["fraud_probability", "is_fraud", "model_version", "prediction_id", "threshold"], "{query:?}");
    }
    assert!(app.log_sink.0.lock().unwrap().iter().all(|r| r.explanation.is_none()));
}

#[tokio::test]
async fn a_batch_with_explain_true_explains_every_prediction() {
    let app = app();
    let transactions: Vec<Value> = parity_rows().into_iter().take(30).map(|(f, _)| Value::Object(f)).collect();
    let body = json!({ "transactions": transactions }).to_string();
    let (status, out) =
        parts(app.handle(ApiGatewayEvent::post("/predict/batch", &body).query("explain=true").request()).await);
    assert_eq!(status, 200, "{out}");
    let predictions = out["predictions"].as_array().unwrap();
    assert!(predictions.iter().all(|p| p["explanation"]["reasons"].as_array().is_some_and(|r| !r.is_empty())));
    let logged = app.log_sink.0.lock().unwrap();
    assert_eq!(logged.len(), 30);
    for (record, prediction) in logged.iter().zip(predictions) {
        assert_eq!(record.explanation.as_ref().unwrap().margin, as_f32(&prediction["explanation"]["margin"]));
    }
}

#[tokio::test]
async fn bad_query_parameters_are_a_400_naming_the_parameter() {
    let app = app();
    for (query, phrase) in [
        ("explain=yes", "query parameter `explain` must be true or false, got `yes`"),
        ("explain=TRUE", "got `TRUE`"),
        ("explain", "got ``"),
        ("explain=true&explain=false", "query parameter `explain` is given 2 times"),
        ("explian=true", "unknown query parameter `explian`: the only one is `explain`"),
        ("explain=true&debug=1", "unknown query parameter `debug`"),
        (&format!("{}=1", "k".repeat(500)), "…`: the only one"),
    ] {
        for path in ["/predict", "/predict/batch"] {
            let (status, body) =
                parts(app.handle(ApiGatewayEvent::post(path, &parity_body(0)).query(query).request()).await);
            assert_eq!((status, body["error"].as_str()), (400, Some("invalid_query")), "{query}: {body}");
            let detail = body["detail"].as_str().unwrap();
            assert!(detail.contains(phrase), "{query}: {detail}");
            assert!(detail.len() < 200, "a long name is cut: {detail}");
        }
    }
    assert!(app.log_sink.0.lock().unwrap().is_empty(), "refused requests are not logged");
}

#[tokio::test]
async fn a_model_without_an_explanation_scores_but_refuses_explain_true_with_a_409() {
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    let app = App::new(model, KeptRecords::default());
    let (status, body) =
        parts(app.handle(ApiGatewayEvent::post("/predict", &parity_body(0)).query("explain=true").request()).await);
    assert_eq!((status, body["error"].as_str()), (409, Some("explanation_unavailable")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("model v1 is served without reason codes"), "{body}");
    assert!(app.log_sink.0.lock().unwrap().is_empty());
    let (status, _) = parts(app.handle(post("/predict", &parity_body(0))).await);
    assert_eq!(status, 200, "scoring without reasons still works");
    let (_, card) = parts(app.handle(ApiGatewayEvent::new("GET", "/model").request()).await);
    assert_eq!((card["reason_codes"]["available"].as_bool(), card["reason_codes"].get("bias")), (Some(false), None));
}

//! The CloudWatch EMF metrics predict emits for a full batch, through the real `metrics_cloudwatch_embedded`
//! collector: every prediction counted and every probability kept (the collector holds 100 values of a
//! histogram between flushes and drops the rest, so a 500-item batch used to lose 400 and log 400 errors), one
//! latency per request, and the stage and function dimensions on every document.
//!
//! Its own test binary: the collector is installed as the process's global recorder, once.

use std::sync::{Arc, Mutex};

use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::metric_names as m;
use fraudwatch_core::schema::FEATURE_NAMES;
use fraudwatch_core::telemetry::{self, FlushMetrics};
use fraudwatch_model::locate_onnx_runtime;
use metrics_cloudwatch_embedded::Collector;
use predict::api::{App, MAX_BATCH_SIZE};
use predict::log_sink::{Delivery, PredictionLogSink};
use predict::test_util::ApiGatewayEvent;
use serde_json::{json, Value};

struct Discard;

impl PredictionLogSink for Discard {
    async fn submit(&self, records: &[PredictionLogRecord]) -> Delivery {
        Delivery { queued: records.len(), ..Delivery::default() }
    }
}

/// What the Lambda runtime would find on stdout: every flush, mid-request or at the end.
#[derive(Clone)]
struct Captured(&'static Collector, Arc<Mutex<Vec<u8>>>);

impl FlushMetrics for Captured {
    fn flush(&self) {
        self.0.flush(&mut *self.1.lock().unwrap()).unwrap();
    }
}

#[tokio::test]
async fn a_full_batch_emits_every_prediction_and_one_latency_with_stage_and_function() {
    let collector = telemetry::metrics_builder(predict::FUNCTION, "test-stage").init().unwrap();
    let captured = Captured(collector, Arc::default());
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    let app = App::new(model, Discard).with_metrics(Box::new(captured.clone()));

    let transaction: serde_json::Map<String, Value> =
        FEATURE_NAMES.iter().enumerate().map(|(i, f)| (f.to_string(), json!(i as f64 * 0.1))).collect();
    let body = json!({ "transactions": vec![transaction; MAX_BATCH_SIZE] }).to_string();
    let response = app.handle(ApiGatewayEvent::post("/predict/batch", &body).request()).await;
    assert_eq!(response.status(), 200);
    captured.flush(); // the runner's end-of-invocation flush

    let output = String::from_utf8(captured.1.lock().unwrap().clone()).unwrap();
    let (mut probabilities, mut predictions, mut latencies) = (0, 0, 0);
    for line in output.lines() {
        let document: Value = serde_json::from_str(line).unwrap();
        assert_eq!((document["stage"].as_str(), document["function"].as_str()), (Some("test-stage"), Some("predict")));
        let dimensions = &document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0];
        assert!(dimensions.as_array().unwrap().iter().any(|d| d == "stage"), "{line}");
        assert!(dimensions.as_array().unwrap().iter().any(|d| d == "function"), "{line}");
        if let Some(values) = document[m::FRAUD_PROBABILITY].as_array() {
            assert!(values.len() <= telemetry::HISTOGRAM_VALUES_PER_FLUSH, "{} values in one document", values.len());
            probabilities += values.len();
        } else if document[m::FRAUD_PROBABILITY].is_number() {
            probabilities += 1;
        }
        predictions += document[m::PREDICTIONS_TOTAL].as_u64().unwrap_or(0);
        latencies += match &document[m::PREDICT_LATENCY_SECONDS] {
            Value::Array(values) => values.len(),
            Value::Number(_) => 1,
            _ => 0,
        };
    }
    assert_eq!(probabilities, MAX_BATCH_SIZE, "one fraud_probability per prediction:\n{output}");
    assert_eq!(predictions, MAX_BATCH_SIZE as u64);
    assert_eq!(latencies, 1, "one latency for the request, not the batch's latency per item");
}

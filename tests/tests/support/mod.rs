//! What the end-to-end tests share (`mod support;` in each): real traffic through predict → SQS →
//! prediction-logger → S3.

use fraudwatch_core::log_record::FeatureMap;
use fraudwatch_core::store::S3Store;
use fraudwatch_model::locate_onnx_runtime;
use fraudwatch_tests::event_source::EventSourceMapping;
use fraudwatch_tests::{S3Server, SqsServer, LOGGER_BATCH_SIZE};
use fraudwatch_traffic::LabelledTransaction;
use lambda_runtime::{Context, LambdaEvent};
use predict::api::App;
use predict::log_sink::SqsLogSink;
use predict::test_util::ApiGatewayEvent;
use prediction_logger::Logger;
use serde_json::{json, Value};

/// Sends `traffic` through predict's handler (the real model, the real SQS sink on `sqs`) into a new queue named
/// `bucket`, and prediction-logger (the event source mapping) into the bucket `bucket` on `s3`. Returns the
/// prediction id predict answered for each transaction, with the transaction's true class.
pub async fn send_through_pipeline(
    s3: &S3Server,
    sqs: &SqsServer,
    bucket: &str,
    traffic: &[LabelledTransaction],
) -> Vec<(String, bool)> {
    s3.create_bucket(bucket).await.unwrap();
    let queue_url = sqs.create_queue(bucket, None).await.unwrap();
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    let predict = App::new(model, SqsLogSink { sqs: sqs.client(), queue_url: queue_url.clone(), fallback: None });
    // POST /predict/batch, 100 transactions a call, each call's records drained by the event source mapping
    // into the logger before the next: moto, a Python server on these two cores, slows down as its queue
    // grows (each SendMessageBatch and ReceiveMessage scans the whole queue: 1.8 s per receive with 2,000
    // messages waiting), so the queue is kept short. POST /predict one by one is driven end to end by
    // scripts/up and the demo-page test.
    let logger = Logger::new(std::sync::Arc::new(S3Store::new(s3.client(), bucket)));
    let esm = EventSourceMapping::for_tests(sqs.client(), &queue_url, LOGGER_BATCH_SIZE);
    let mut delivered = std::collections::HashSet::new();
    let mut predictions = Vec::with_capacity(traffic.len());
    for chunk in traffic.chunks(100) {
        let items: Vec<FeatureMap> = chunk.iter().map(|t| FeatureMap(t.features)).collect();
        let body = serde_json::to_string(&json!({ "transactions": items })).unwrap();
        let response = predict.handle(ApiGatewayEvent::post("/predict/batch", &body).request()).await;
        assert_eq!(response.status(), 200, "{:?}", response.body());
        let answer: Value = serde_json::from_slice(response.body()).unwrap();
        let ids = answer["predictions"].as_array().unwrap().iter().map(|p| p["prediction_id"].as_str().unwrap());
        predictions.extend(ids.zip(chunk).map(|(id, t)| (id.to_string(), t.is_fraud)));
        while delivered.len() < predictions.len() {
            let invoke = |event| async { Ok(logger.handle(LambdaEvent::new(event, Context::default())).await) };
            if let Some((batch, response)) = esm.deliver_once(invoke).await.unwrap() {
                assert!(response.unwrap().batch_item_failures.is_empty());
                // A redelivery (moto's visibility timeout) counts once.
                delivered.extend(batch.iter().filter_map(|m| m.message_id().map(String::from)));
            }
        }
    }
    assert_eq!(s3.keys(bucket, "prediction-logs/").await.unwrap().len(), traffic.len());
    predictions
}

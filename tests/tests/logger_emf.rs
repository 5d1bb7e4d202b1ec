//! The CloudWatch EMF metrics prediction-logger emits, through the real `metrics_cloudwatch_embedded` collector,
//! match what the template's CloudWatch dashboard plots: a batched batch counts its records and its one file under
//! the metric names and `function` dimension value the dashboard's "prediction logs" widget names.
//!
//! Its own test binary: the collector is installed as the process's global recorder, once.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use fraudwatch_core::metric_names as m;
use fraudwatch_core::store::S3Store;
use fraudwatch_tests::{prediction_records, repo_yaml, untagged, S3Server};
use lambda_runtime::{Context, LambdaEvent};
use prediction_logger::{LogDelivery, Logger};
use serde_json::{json, Value};

const BUCKET: &str = "fraudwatch-data";

#[tokio::test]
async fn a_batch_counts_its_records_and_files_with_the_dimensions_the_dashboard_plots() {
    let stage = "fraudwatch-test";
    let collector = fraudwatch_core::telemetry::metrics_builder(prediction_logger::FUNCTION, stage).init().unwrap();
    let s3 = S3Server::with_objects(BUCKET, Vec::new()).await.unwrap();
    // Ten predictions of one hour: one batched file.
    let records =
        prediction_records(10, time::OffsetDateTime::now_utc().replace_minute(0).unwrap(), time::Duration::SECOND)
            .unwrap();
    let messages = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m-{i}"));
            message.body = Some(String::from_utf8(r.encode()).unwrap());
            message
        })
        .collect();
    let logger = Logger::with_delivery(std::sync::Arc::new(S3Store::new(s3.client(), BUCKET)), LogDelivery::Batched);
    let mut event = SqsEvent::default();
    event.records = messages;
    let response = logger.handle(LambdaEvent::new(event, Context::default())).await;
    assert!(response.batch_item_failures.is_empty());

    let mut stdout = Vec::new();
    collector.flush(&mut stdout).unwrap(); // the runner's end-of-invocation flush
    let documents: Vec<Value> =
        String::from_utf8(stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let counted = |metric: &str| -> Vec<&Value> { documents.iter().filter(|d| d.get(metric).is_some()).collect() };
    let (records_written, objects_written) =
        (counted(m::LOG_RECORDS_WRITTEN_TOTAL), counted(m::LOG_OBJECTS_WRITTEN_TOTAL));
    assert_eq!(records_written.iter().map(|d| &d[m::LOG_RECORDS_WRITTEN_TOTAL]).collect::<Vec<_>>(), [&json!(10)]);
    assert_eq!(objects_written.iter().map(|d| &d[m::LOG_OBJECTS_WRITTEN_TOTAL]).collect::<Vec<_>>(), [&json!(1)]);
    let emitted = records_written[0];
    assert_eq!(
        (emitted["stage"].as_str(), emitted["function"].as_str()),
        (Some(stage), Some(prediction_logger::FUNCTION))
    );

    // The dashboard's metric lines for the logger name these metrics with this function (and the stack as stage).
    let template = repo_yaml("infra/template.yaml");
    let body = untagged(&template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]);
    let body = body.as_str().or_else(|| body[0].as_str()).expect("the dashboard body");
    for metric in [m::LOG_RECORDS_WRITTEN_TOTAL, m::LOG_OBJECTS_WRITTEN_TOTAL] {
        let line = format!(
            r#"["{}", "{metric}", "stage", "${{AWS::StackName}}", "function", "{}""#,
            emitted["_aws"]["CloudWatchMetrics"][0]["Namespace"].as_str().unwrap(),
            prediction_logger::FUNCTION
        );
        assert!(body.contains(&line), "the dashboard does not plot {line}");
    }
}

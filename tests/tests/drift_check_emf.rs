//! The CloudWatch EMF metrics drift-check emits, through the real `metrics_cloudwatch_embedded` collector, match
//! what its alarm in infra/template.yaml selects: a run whose push fails counts one
//! `fraudwatch_drift_check_push_failures_total` with the `stage` and `function` dimension values the
//! DriftCheckPushFailuresAlarm names (an alarm on a dimension value nobody emits would never have data).
//!
//! Its own test binary: the collector is installed as the process's global recorder, once.

use drift_check::{load_reference, App, DriftCheckConfig};
use fraudwatch_core::metric_names as m;
use fraudwatch_tests::{log_objects, prediction_records, repo_yaml, untagged, S3Server};
use serde_json::{json, Value};
use time::macros::datetime;

const BUCKET: &str = "fraudwatch-data";

#[tokio::test]
async fn a_failed_push_is_counted_with_the_dimensions_its_alarm_selects() {
    let stage = "fraudwatch-test";
    let collector = fraudwatch_core::telemetry::metrics_builder(drift_check::FUNCTION, stage).init().unwrap();
    let records = prediction_records(300, datetime!(2026-11-20 00:00 UTC), time::Duration::minutes(4)).unwrap();
    let s3 = S3Server::with_objects(BUCKET, log_objects(&records)).await.unwrap();
    // Port 1 on loopback: connection refused, the push fails after the report is saved.
    let env = [("LOG_BUCKET", BUCKET), ("PUSHGATEWAY_URL", "http://127.0.0.1:1"), ("FRAUDWATCH_STAGE", stage)];
    let app =
        App::new(s3.client(), DriftCheckConfig::from_env(&env).unwrap(), load_reference().unwrap(), None).unwrap();
    let day = json!({"window": {"date": "2026-11-20"}});
    assert!(app.run(&day, time::OffsetDateTime::now_utc()).await.is_err());

    let mut stdout = Vec::new();
    collector.flush(&mut stdout).unwrap(); // the runner's end-of-invocation flush
    let documents: Vec<Value> =
        String::from_utf8(stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let failures = documents
        .iter()
        .find(|d| d.get(m::DRIFT_CHECK_PUSH_FAILURES_TOTAL).is_some())
        .unwrap_or_else(|| panic!("no push-failure count in {documents:?}"));
    assert_eq!(failures[m::DRIFT_CHECK_PUSH_FAILURES_TOTAL], json!(1));
    let rows = documents.iter().find_map(|d| d.get(m::DRIFT_CHECK_WINDOW_ROWS)).expect("the window's rows");
    assert_eq!(rows, &json!([300.0]));

    // The alarm selects exactly what was emitted: namespace, metric, and each dimension's value.
    let template = repo_yaml("infra/template.yaml");
    let alarm = &template["Resources"]["DriftCheckPushFailuresAlarm"]["Properties"];
    let cloudwatch = &failures["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(alarm["Namespace"].as_str(), cloudwatch["Namespace"].as_str());
    assert_eq!(alarm["MetricName"].as_str(), Some(m::DRIFT_CHECK_PUSH_FAILURES_TOTAL));
    for dimension in alarm["Dimensions"].as_sequence().unwrap() {
        let name = dimension["Name"].as_str().unwrap();
        let selected = untagged(&dimension["Value"]).as_str().unwrap();
        let emitted = failures[name].as_str().unwrap_or_else(|| panic!("no dimension {name} emitted"));
        match name {
            // !Ref AWS::StackName: the stack name, which the template also gives the function as FRAUDWATCH_STAGE.
            "stage" => {
                assert_eq!(selected, "AWS::StackName");
                let variables = &template["Resources"]["DriftCheckFunction"]["Properties"]["Environment"]["Variables"];
                assert_eq!(untagged(&variables["FRAUDWATCH_STAGE"]).as_str(), Some("AWS::StackName"));
                assert_eq!(emitted, stage);
            }
            _ => assert_eq!(selected, emitted, "dimension {name}"),
        }
    }
}

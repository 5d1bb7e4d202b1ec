//! One source for each fact, or a check that fails when the copies disagree. PromQL and CloudFormation cannot
//! import Rust, so where a number must be written in `infra/` too this test compares it with the constant the
//! code uses; where it need not, it checks the number is gone (the alert rules read the pushed thresholds).

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use fraudwatch_core::alert_thresholds::{
    ATTRIBUTION_NDCG_ALERT, DRIFT_MIN_WINDOW_ROWS, FRAUD_RATE_ALERT, FRAUD_RATE_MIN_WINDOW_ROWS,
    QUALITY_MIN_FLAGGED_ROWS, QUALITY_MIN_LABELLED_FRAUDS, QUALITY_MIN_LABEL_COVERAGE, QUALITY_MIN_WINDOW_ROWS,
    QUALITY_TOLERANCE,
};
use fraudwatch_core::aws::{DRIFT_S3, PREDICT_S3_FALLBACK, PREDICT_SQS, PREDICT_STARTUP_S3, STARTUP_SECRET};
use fraudwatch_core::log_record::{LoggedContribution, LoggedExplanation};
use fraudwatch_core::schema::FEATURE_NAMES;
use fraudwatch_monitor::pushgateway::PUSH_TIMEOUT;
use fraudwatch_tests::{
    prediction_records, repo_yaml, untagged, yaml_number, LOGGER_BATCHED_BATCH_SIZE, LOGGER_BATCH_SIZE,
};
use prediction_logger::LogDelivery;
use regex::Regex;
use serde_norway::Value;

fn template() -> Value {
    repo_yaml("infra/template.yaml")
}

fn seconds(v: &Value) -> Duration {
    Duration::from_secs_f64(yaml_number(v))
}

#[test]
fn each_function_s_worst_case_fits_its_lambda_timeout() {
    let t = template();
    let timeout = |function: &str| seconds(&t["Resources"][function]["Properties"]["Timeout"]);
    // predict: SQS with its retries, then the direct S3 write, with at least 2 s to spare.
    let predict = PREDICT_SQS.operation + PREDICT_S3_FALLBACK.operation;
    assert!(predict + Duration::from_secs(2) <= timeout("PredictFunction"), "{predict:?}");
    // predict's cold start: Lambda's init phase has 10 s, and an init that overran is re-run inside the first
    // request's timeout; the registry read (each call, and all together) leaves 2 s of both for the ONNX session.
    let cold_start = predict::REGISTRY_READ_DEADLINE;
    assert!(PREDICT_STARTUP_S3.operation <= cold_start, "{PREDICT_STARTUP_S3:?}");
    assert!(cold_start + Duration::from_secs(2) <= timeout("PredictFunction").min(Duration::from_secs(10)));
    // prediction-logger: no write starts in the last DEADLINE_MARGIN, which must leave room to start any.
    let logger = timeout("PredictionLoggerFunction");
    assert!(prediction_logger::DEADLINE_MARGIN * 2 <= logger, "{logger:?}");
    // The queue must not redeliver a batch while its invocation may still run: AWS's rule for SQS event sources,
    // 6 x the function's timeout + the batching window, in either delivery mode.
    let visibility = seconds(&t["Resources"]["PredictionLogQueue"]["Properties"]["VisibilityTimeout"]);
    for (mode, source) in event_source_settings(&t) {
        let window = seconds(&source["MaximumBatchingWindowInSeconds"]);
        assert!(visibility >= logger * 6 + window, "{mode}: {visibility:?} < 6 x {logger:?} + {window:?}");
    }
    // drift-check: a stalled S3 operation or push fails well inside the timeout.
    let drift = timeout("DriftCheckFunction");
    assert!(DRIFT_S3.operation * 4 + PUSH_TIMEOUT <= drift, "{drift:?}");
    // drift-check's cold start: the secret read fits the init phase's 10 s.
    assert!(STARTUP_SECRET.operation + Duration::from_secs(2) <= Duration::from_secs(10), "{STARTUP_SECRET:?}");
}

#[test]
fn template_parameters_default_to_the_code_s_numbers() {
    let t = template();
    let p = &t["Parameters"];
    assert_eq!(yaml_number(&p["FraudRateThreshold"]["Default"]), FRAUD_RATE_ALERT, "the CloudWatch fraud-rate alarm");
    assert_eq!(yaml_number(&p["DriftWindowHours"]["MaxValue"]) as u32, drift_check::MAX_WINDOW_HOURS);
    assert_eq!(yaml_number(&p["DriftMaxRows"]["Default"]) as usize, drift_check::DEFAULT_MAX_ROWS);
    let default_interval =
        drift_check::DriftCheckConfig::from_env(&[("LOG_BUCKET", "b")]).unwrap().run.interval_seconds;
    assert_eq!(yaml_number(&p["DriftIntervalMinutes"]["Default"]) as u64 * 60, default_interval);
    let quality = drift_check::DriftCheckConfig::from_env(&[("LOG_BUCKET", "b")]).unwrap().run.quality;
    assert_eq!(yaml_number(&p["QualityLookbackDays"]["Default"]) as u32, quality.lookback_days);
    assert_eq!(yaml_number(&p["QualityLookbackDays"]["MaxValue"]) as u32, drift_check::MAX_QUALITY_LOOKBACK_DAYS);
    assert_eq!(yaml_number(&p["QualityMaxRows"]["Default"]) as usize, quality.max_rows);
    assert_eq!(yaml_number(&p["LabelStaleDays"]["Default"]) as u32, quality.label_stale_days);
    // LabelMaturityDays 0 leaves LABEL_MATURITY_DAYS unset: explicit labels, the code's default too.
    assert_eq!(yaml_number(&p["LabelMaturityDays"]["Default"]), 0.0);
    assert_eq!(quality.convention, fraudwatch_monitor::quality::LabelConvention::Explicit);
    let delivery = &p["PredictionLogDelivery"];
    assert_eq!(delivery["Default"].as_str(), Some(LogDelivery::PerPrediction.as_str()));
    let allowed: Vec<&str> =
        delivery["AllowedValues"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(allowed, LogDelivery::ALL.map(LogDelivery::as_str), "the values PREDICTION_LOG_DELIVERY parses");
    let logger = &t["Resources"]["PredictionLoggerFunction"]["Properties"];
    assert_eq!(
        logger["Environment"]["Variables"]["PREDICTION_LOG_DELIVERY"],
        serde_norway::from_str::<Value>("!Ref PredictionLogDelivery").unwrap()
    );
    let settings = event_source_settings(&t);
    assert_eq!(settings.iter().map(|(mode, _)| mode.as_str()).collect::<Vec<_>>(), allowed);
    assert_eq!(yaml_number(&settings[0].1["BatchSize"]) as usize, LOGGER_BATCH_SIZE, "the tests' event source mapping");
    assert_eq!(yaml_number(&settings[1].1["BatchSize"]) as usize, LOGGER_BATCHED_BATCH_SIZE, "the same, batched");
    let source = &logger["Events"]["PredictionLogs"]["Properties"];
    for setting in ["BatchSize", "MaximumBatchingWindowInSeconds"] {
        let expected = format!("!FindInMap [PredictionLogDeliveries, !Ref PredictionLogDelivery, {setting}]");
        assert_eq!(source[setting], serde_norway::from_str::<Value>(&expected).unwrap(), "{setting}");
    }
}

/// The event source's settings per `PredictionLogDelivery`, in the order of its `AllowedValues`.
fn event_source_settings(t: &Value) -> Vec<(String, Value)> {
    let modes = t["Parameters"]["PredictionLogDelivery"]["AllowedValues"].as_sequence().unwrap();
    modes
        .iter()
        .map(|m| {
            let mode = m.as_str().unwrap().to_string();
            let settings = t["Mappings"]["PredictionLogDeliveries"][mode.as_str()].clone();
            assert!(settings.is_mapping(), "no PredictionLogDeliveries entry for {mode}");
            (mode, settings)
        })
        .collect()
}

/// A batched invocation gets `BatchSize` messages in one event, and Lambda passes at most 6 MB to a function: the
/// batch is sized from what one message weighs in the event (a realistic record, escaped into `body`, with
/// the attributes Lambda adds and a 1,024-character receipt handle), with 15 % to spare for larger records.
#[test]
fn a_full_batched_batch_fits_lambda_s_invocation_payload() {
    let record = &prediction_records(1, time::OffsetDateTime::now_utc(), time::Duration::SECOND).unwrap()[0];
    let mut message = SqsMessage::default();
    message.message_id = Some(uuid::Uuid::new_v4().to_string());
    message.receipt_handle = Some("A".repeat(1024));
    message.body = Some(String::from_utf8(record.encode()).unwrap());
    message.md5_of_body = Some("0".repeat(32));
    message.event_source = Some("aws:sqs".into());
    // A queue ARN as CloudFormation names it (the detector reads its suffix as a token).
    let queue_arn = "arn:aws:sqs:eu-west-1:123456789012:fraudwatch-prod-PredictionLogQueue-AbCdEfGhIjKl"; // pragma: allowlist secret
    message.event_source_arn = Some(queue_arn.into());
    message.aws_region = Some("eu-west-1".into());
    for (name, value) in [
        ("ApproximateReceiveCount", "5"),
        ("SentTimestamp", "1764730800000"),
        ("SenderId", "AROAEXAMPLEEXAMPLE00000:fraudwatch-prod-predict"),
        ("ApproximateFirstReceiveTimestamp", "1764730800001"),
        ("AWSTraceHeader", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
    ] {
        message.attributes.insert(name.into(), value.into());
    }
    let event = |n: usize| {
        let mut event = SqsEvent::default();
        event.records = vec![message.clone(); n];
        serde_json::to_vec(&event).unwrap().len()
    };
    let per_message = event(2) - event(1);
    let batch = yaml_number(&event_source_settings(&template())[1].1["BatchSize"]) as usize;
    let limit = 6 * 1024 * 1024;
    assert!(
        batch * per_message * 115 / 100 <= limit,
        "{batch} messages of {per_message} bytes: {} bytes of {limit}",
        batch * per_message
    );
    // And not needlessly small: at least half of what fits, so a batch is as few PUTs as it can be.
    assert!(batch * per_message * 2 >= limit, "{batch} x {per_message} bytes leaves most of {limit} unused");
}

/// What an alert rule's expression writes that it must compare with a pushed gauge instead: a threshold of
/// alert_thresholds, a row minimum, a feature name or a feature matcher of its own (the window minimums and the
/// important features come with drift-check's results).
fn hard_coded(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    for number in [
        FRAUD_RATE_ALERT.to_string(),
        DRIFT_MIN_WINDOW_ROWS.to_string(),
        FRAUD_RATE_MIN_WINDOW_ROWS.to_string(),
        ATTRIBUTION_NDCG_ALERT.to_string(),
        QUALITY_TOLERANCE.to_string(),
        QUALITY_MIN_LABELLED_FRAUDS.to_string(),
        QUALITY_MIN_FLAGGED_ROWS.to_string(),
        QUALITY_MIN_LABEL_COVERAGE.to_string(),
        QUALITY_MIN_WINDOW_ROWS.to_string(),
    ] {
        if expr.split(|c: char| !(c.is_ascii_digit() || c == '.')).any(|w| w == number) {
            found.push(format!("writes {number}: compare with the pushed threshold instead"));
        }
    }
    for feature in FEATURE_NAMES {
        if expr.contains(&format!("\"{feature}\"")) || expr.contains(&format!("{feature}|")) {
            found.push(format!("names {feature}"));
        }
    }
    if Regex::new(r">=\s*\d").unwrap().is_match(expr) {
        found.push("compares with a row minimum of its own (>= a number)".into());
    }
    if Regex::new(r#"feature\s*=~?\s*""#).unwrap().is_match(expr) {
        found.push("selects features of its own (feature=\"...\")".into());
    }
    found
}

#[test]
fn no_alert_rule_hard_codes_a_threshold_or_names_a_feature() {
    let rules = repo_yaml("infra/prometheus/alerts.yml");
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let expr = rule["expr"].as_str().unwrap();
            let name = rule.get("alert").or(rule.get("record")).unwrap();
            assert_eq!(hard_coded(expr), Vec::<String>::new(), "{name:?}\n{expr}");
        }
    }
}

#[test]
fn canary_rule_with_its_own_row_minimum_and_features() {
    let expr = r#"fraud_drift_feature_score{feature=~"V14|V4"} > 0.1 and fraud_drift_window_rows >= 200"#;
    let found = hard_coded(expr);
    for expected in [
        "names V14",
        "compares with a row minimum of its own (>= a number)",
        "selects features of its own (feature=\"...\")",
    ] {
        assert!(found.iter().any(|f| f == expected), "{expected:?} not in {found:?}");
    }
}

fn glue_columns(table: &Value) -> Vec<(String, String)> {
    table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| (c["Name"].as_str().unwrap().to_string(), c["Type"].as_str().unwrap().to_string()))
        .collect()
}

/// The Hive type Athena's JSON SerDe reads a JSON value as (numbers as `double`, as the table declares them;
/// struct fields in name order, which is how the table lists them: the SerDe matches them by name).
fn hive_type(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(_) => "double".into(),
        serde_json::Value::String(_) => "string".into(),
        serde_json::Value::Bool(_) => "boolean".into(),
        serde_json::Value::Array(items) => format!("array<{}>", hive_type(&items[0])),
        serde_json::Value::Object(fields) => {
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{}", hive_type(v))).collect();
            format!("struct<{}>", fields.join(","))
        }
        serde_json::Value::Null => panic!("a null field has no type"),
    }
}

/// The Glue table Athena reads the logs through has exactly the record's fields (of an explained prediction,
/// the only one with every field), with the 29 features and the explanation's structure.
#[test]
fn the_glue_table_s_columns_are_the_log_record_s_fields() {
    let t = template();
    let columns = glue_columns(&t["Resources"]["PredictionLogsTable"]);
    let mut record = prediction_records(1, time::OffsetDateTime::now_utc(), time::Duration::SECOND).unwrap().remove(0);
    let contribution = |feature: &str, contribution| LoggedContribution { feature: feature.into(), contribution };
    record.explanation = Some(LoggedExplanation {
        bias: -7.9,
        margin: -9.1,
        top: vec![contribution("V14", -0.8), contribution("V4", -0.4)],
        other_features: 0.0,
    });
    let json: serde_json::Value = serde_json::from_slice(&record.encode()).unwrap();
    let mut fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let mut names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    fields.sort_unstable();
    names.sort_unstable();
    assert_eq!(names, fields);
    let features = &columns.iter().find(|(n, _)| n == "features").unwrap().1;
    let expected: Vec<String> = FEATURE_NAMES.iter().map(|f| format!("{f}:double")).collect();
    assert_eq!(features, &format!("struct<{}>", expected.join(",")));
    let explanation = &columns.iter().find(|(n, _)| n == "explanation").unwrap().1;
    assert_eq!(explanation, &hive_type(&json["explanation"]));
}

/// The Glue table over `labels/` has exactly the label record's fields, as predict and fraudctl write them.
#[test]
fn the_labels_glue_table_s_columns_are_the_label_record_s_fields() {
    use fraudwatch_core::label::{encode_json_lines, LabelRecord, LabelTarget, LABEL_FIELDS};
    let t = template();
    let table = &t["Resources"]["LabelsTable"]["Properties"]["TableInput"];
    let mut columns: Vec<(&str, &str)> = table["StorageDescriptor"]["Columns"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| (c["Name"].as_str().unwrap(), c["Type"].as_str().unwrap()))
        .collect();
    columns.sort_unstable();
    let mut fields = LABEL_FIELDS.to_vec();
    fields.sort_unstable();
    assert_eq!(columns.iter().map(|(n, _)| *n).collect::<Vec<_>>(), fields);
    assert!(columns.contains(&("label", "int")), "{columns:?}");
    // Every field a stored record can carry is a column (a record written with all of them, both id kinds).
    let now = time::OffsetDateTime::now_utc();
    for target in [LabelTarget::Prediction(uuid::Uuid::now_v7().into()), LabelTarget::Transaction("t-1".into())] {
        let record = LabelRecord { target, is_fraud: true, labelled_at: now, source: Some("analyst".into()) };
        let line: serde_json::Value = serde_json::from_slice(&encode_json_lines([&record])).unwrap();
        for key in line.as_object().unwrap().keys() {
            assert!(fields.contains(&key.as_str()), "{key} has no column");
        }
    }
    // `!Sub s3://${DataBucket}/labels/dt=${!dt}/`: the layout of fraudwatch_core::label's keys.
    let location = format!("{:?}", table["Parameters"]["storage.location.template"]);
    let day = time::macros::date!(2026 - 11 - 22);
    let layout = fraudwatch_core::label::label_partition_prefix(day).replace("2026-11-22", "${!dt}");
    assert!(location.contains(&format!("/{layout}\"")), "{location} vs {layout}");
}

/// The Presto type Athena shows a Hive column type as (struct fields lower-cased, as Athena stores them).
fn presto_type(hive: &str) -> String {
    match hive {
        "int" => "integer".into(),
        "string" => "varchar".into(),
        "double" | "boolean" | "bigint" => hive.into(),
        s if s.starts_with("array<") => format!("array({})", presto_type(&s["array<".len()..s.len() - 1])),
        s => {
            let fields = s.strip_prefix("struct<").and_then(|f| f.strip_suffix('>')).expect("a struct");
            let fields: Vec<String> = top_level_fields(fields)
                .into_iter()
                .map(|f| {
                    let (name, ty) = f.split_once(':').unwrap();
                    format!("{} {}", name.to_lowercase(), presto_type(ty))
                })
                .collect();
            format!("row({})", fields.join(", "))
        }
    }
}

/// `a:int,b:struct<c:int,d:int>` → `["a:int", "b:struct<c:int,d:int>"]`.
fn top_level_fields(fields: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in fields.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&fields[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&fields[start..]);
    out
}

/// The deduplicating view has the table's columns and partition keys, and its Presto definition (base64 in
/// `ViewOriginalText`, which Athena reads) names the same columns with the matching Presto types and keeps one row
/// per (dt, hour, prediction_id).
#[test]
fn the_distinct_view_is_the_table_deduplicated_by_prediction_id() {
    let t = template();
    let table = &t["Resources"]["PredictionLogsTable"];
    let view = &t["Resources"]["PredictionLogsDistinctView"];
    let mut expected = glue_columns(table);
    for key in table["Properties"]["TableInput"]["PartitionKeys"].as_sequence().unwrap() {
        expected.push((key["Name"].as_str().unwrap().to_string(), key["Type"].as_str().unwrap().to_string()));
    }
    assert_eq!(glue_columns(view), expected);

    // ViewOriginalText: !Join ["", ["/* Presto View: ", {Fn::Base64: !Sub '<json>'}, " */"]]
    let input = &view["Properties"]["TableInput"];
    assert_eq!(input["TableType"].as_str(), Some("VIRTUAL_VIEW"));
    let join = untagged(&input["ViewOriginalText"]);
    let parts = join[1].as_sequence().unwrap();
    assert_eq!((parts[0].as_str(), parts[2].as_str()), (Some("/* Presto View: "), Some(" */")));
    let sub = untagged(&parts[1]["Fn::Base64"]);
    let json = sub.as_str().unwrap().replace("${AnalyticsDatabase}", "fraudwatch_test");
    let presto: serde_json::Value = serde_json::from_str(&json).expect("the view definition is JSON");
    let columns: Vec<(String, String)> = presto["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["type"].as_str().unwrap().to_string()))
        .collect();
    let expected_presto: Vec<(String, String)> = expected.iter().map(|(n, ty)| (n.clone(), presto_type(ty))).collect();
    assert_eq!(columns, expected_presto);
    let sql = presto["originalSql"].as_str().unwrap();
    let selected: Vec<String> = expected.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    assert!(sql.starts_with(&format!("SELECT {} FROM (", selected.join(", "))), "{sql}");
    assert!(sql.contains("row_number() OVER (PARTITION BY dt, hour, prediction_id)"), "{sql}");
    assert!(sql.contains("FROM \"fraudwatch_test\".\"prediction_logs\""), "{sql}");
    assert!(sql.ends_with("WHERE copy = 1"), "{sql}");
    assert_eq!(presto["schema"], "fraudwatch_test");
}

//! Every metric the Grafana dashboard, the alert rules, the CloudWatch alarms and the CloudWatch dashboard name is
//! one the code emits (fraudwatch_core::metric_names, which docs/contracts.md lists), one of the Pushgateway's own,
//! or an AWS metric of this file's list: a typo in a name or a namespace would give a panel, rule or alarm that never
//! has data. PromQL is read by a PromQL parser (promql-parser), so a name is a selector, not a word that looks like one.

use std::collections::BTreeSet;

use fraudwatch_core::metric_names::{self as names, EMF_FUNCTION_DIMENSION, EMF_NAMESPACE, EMF_STAGE_DIMENSION};
use fraudwatch_tests::{repo_root, repo_yaml};
use promql_parser::label::METRIC_NAME;
use promql_parser::parser::{self as promql, Expr, VectorSelector};
use promql_parser::util::{walk_expr, ExprVisitor};
use regex::Regex;
use serde_json::Value as Json;
use serde_norway::Value;

use crate::{assert_reported, cfn_text, one_or_many};

const GRAFANA: &str = "infra/grafana/dashboards/fraudwatch.json";

/// The Pushgateway's own per-group metrics (when a group was last pushed, last failed to be).
const PUSHGATEWAY_METRICS: [&str; 2] = ["push_time_seconds", "push_failure_time_seconds"];

/// The AWS metrics alarms and dashboards may name, by namespace (AWS documents them).
const AWS_METRICS: [(&str, &[&str]); 4] = [
    ("AWS/ApiGateway", &["Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"]),
    ("AWS/Lambda", &["Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions", "IteratorAge"]),
    (
        "AWS/SQS",
        &[
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesSent",
            "NumberOfMessagesReceived",
            "NumberOfMessagesDeleted",
        ],
    ),
    ("AWS/Events", &["Invocations", "FailedInvocations", "TriggeredRules"]),
];

/// The dimensions every FraudWatch (EMF) metric carries (docs/contracts.md).
const EMF_DIMENSIONS: [&str; 2] = [EMF_STAGE_DIMENSION, EMF_FUNCTION_DIMENSION];

/// The drift-check metrics the Grafana dashboard must show.
const GRAFANA_SHOWS: [&str; 8] = [
    names::DRIFT_FRAUD_RATE,
    names::DRIFT_SHARE,
    names::DRIFT_FEATURE_SCORE,
    names::DRIFT_PREDICTION_SCORE,
    names::DRIFT_WINDOW_ROWS,
    names::DRIFT_WINDOW_MIN_ROWS,
    names::DRIFT_LAST_SUCCESS,
    names::DRIFT_RUN_DURATION_SECONDS,
];

/// The CloudWatch metrics (namespace/name) the Grafana dashboard must show.
fn grafana_shows_from_cloudwatch() -> BTreeSet<String> {
    let emf = [
        names::PREDICT_LATENCY_SECONDS,
        names::PREDICTIONS_TOTAL,
        names::LOG_ENQUEUE_FAILURES_TOTAL,
        names::LOG_WRITTEN_BY_FALLBACK_TOTAL,
        names::LOG_ONLY_IN_STDOUT_TOTAL,
    ];
    let aws = [
        "AWS/ApiGateway/Count",
        "AWS/ApiGateway/4xx",
        "AWS/ApiGateway/5xx",
        "AWS/SQS/ApproximateNumberOfMessagesVisible",
    ];
    emf.iter().map(|m| format!("{EMF_NAMESPACE}/{m}")).chain(aws.map(String::from)).collect()
}

/// The metric names a PromQL expression selects (by name or by a `__name__` matcher).
fn selected_metrics(expr: &str) -> Result<Vec<String>, String> {
    struct Selectors(Vec<String>);
    impl ExprVisitor for Selectors {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
            let selector: Option<&VectorSelector> = match expr {
                Expr::VectorSelector(selector) => Some(selector),
                Expr::MatrixSelector(matrix) => Some(&matrix.vs),
                _ => None,
            };
            if let Some(selector) = selector {
                let by_matcher =
                    selector.matchers.matchers.iter().filter(|m| m.name == METRIC_NAME).map(|m| m.value.clone());
                self.0.extend(selector.name.clone().into_iter().chain(by_matcher));
            }
            Ok(true)
        }
    }
    let ast = promql::parse(expr)?;
    let mut selectors = Selectors(Vec::new());
    let Ok(_) = walk_expr(&mut selectors, &ast);
    Ok(selectors.0)
}

/// Collects the problems of the metric references it is shown.
#[derive(Default)]
struct Checker {
    problems: Vec<String>,
}

impl Checker {
    /// A PromQL expression at `at`: parsed, naming at least one metric, only known ones. Returns the names.
    fn promql(&mut self, at: &str, expr: &str) -> Vec<String> {
        let selected = match selected_metrics(expr) {
            Ok(selected) => selected,
            Err(e) => {
                self.problems.push(format!("{at}: {expr:?} is not PromQL: {e}"));
                return Vec::new();
            }
        };
        if selected.is_empty() {
            self.problems.push(format!("{at}: no metric in {expr:?}"));
        }
        for name in &selected {
            if !names::ALL.contains(&name.as_str()) && !PUSHGATEWAY_METRICS.contains(&name.as_str()) {
                self.problems.push(format!("{at}: unknown metric {name:?} in {expr:?}"));
            }
        }
        selected
    }

    /// One CloudWatch metric reference (an alarm's, a dashboard widget's, a Grafana CloudWatch query's). Returns
    /// `namespace/metric`.
    fn cloudwatch(&mut self, at: &str, namespace: &str, metric: &str, dimensions: &[&str]) -> String {
        if namespace == EMF_NAMESPACE {
            if !metric.starts_with("fraudwatch_") || !names::ALL.contains(&metric) {
                self.problems.push(format!("{at}: {EMF_NAMESPACE} metric {metric:?} is not one the functions emit"));
            }
            let missing: Vec<&str> = EMF_DIMENSIONS.into_iter().filter(|d| !dimensions.contains(d)).collect();
            if !missing.is_empty() {
                self.problems.push(format!("{at}: {EMF_NAMESPACE} metric {metric} without dimension(s) {missing:?}"));
            }
        } else if let Some((_, metrics)) = AWS_METRICS.iter().find(|(ns, _)| *ns == namespace) {
            if !metrics.contains(&metric) {
                self.problems.push(format!("{at}: {namespace} has no metric {metric:?} in the list of AWS metrics"));
            }
        } else {
            self.problems.push(format!("{at}: unknown CloudWatch namespace {namespace:?} ({metric})"));
        }
        format!("{namespace}/{metric}")
    }

    /// The metrics a CloudWatch `SEARCH('{Namespace,dims...} MetricName="..."', ...)` expression names.
    fn search(&mut self, at: &str, expression: &str) {
        let search = Regex::new(r#"SEARCH\('\{([^,}]+)[^}]*\}([^']*)'"#).unwrap();
        let metric = Regex::new(r#"MetricName=\\?"([^"\\]+)"#).unwrap();
        for found in search.captures_iter(expression) {
            // The schema in braces names the dimensions; a FraudWatch search matches them by construction.
            let dimensions: &[&str] = if &found[1] == EMF_NAMESPACE { &EMF_DIMENSIONS } else { &[] };
            for name in metric.captures_iter(&found[2]) {
                self.cloudwatch(at, &found[1], &name[1], dimensions);
            }
        }
    }
}

fn non_empty(v: &Json) -> bool {
    !(v.is_null() || v.as_str().is_some_and(str::is_empty) || v.as_array().is_some_and(Vec::is_empty))
}

/// The Grafana dashboard: its panels, their Prometheus and CloudWatch queries, its template variables.
fn grafana_problems(dashboard: &Json) -> (usize, Vec<String>) {
    let mut c = Checker::default();
    for key in ["uid", "title", "panels"] {
        if !non_empty(&dashboard[key]) {
            c.problems.push(format!("{GRAFANA}: missing {key}"));
        }
    }
    let panels: Vec<&Json> =
        dashboard["panels"].as_array().into_iter().flatten().filter(|p| p["type"] != "row").collect();
    if panels.is_empty() {
        c.problems.push(format!("{GRAFANA}: no panels"));
    }
    let ids: Vec<String> = panels.iter().map(|p| p["id"].to_string()).collect();
    if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
        c.problems.push(format!("{GRAFANA}: duplicate panel ids"));
    }
    let variables = dashboard["templating"]["list"].as_array().cloned().unwrap_or_default();
    for name in ["stage", "model_version"] {
        if !variables.iter().any(|v| v["name"] == name) {
            c.problems.push(format!("{GRAFANA}: no ${name} template variable"));
        }
    }
    let (mut shown, mut shown_from_cloudwatch) = (BTreeSet::new(), BTreeSet::new());
    let identifier = Regex::new(r"\b[a-z][A-Za-z0-9_]*\b").unwrap();
    for panel in &panels {
        let at = format!("{GRAFANA} panel {} {}", panel["id"], panel["title"]);
        for key in ["title", "type", "gridPos", "datasource"] {
            if !non_empty(&panel[key]) {
                c.problems.push(format!("{at}: missing {key}"));
            }
        }
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            c.problems.push(format!("{at}: no targets"));
        }
        for target in &targets {
            let source = if non_empty(&target["datasource"]) { &target["datasource"] } else { &panel["datasource"] };
            let ref_id = &target["refId"];
            if source["type"] == "cloudwatch" {
                if let Some(expression) = target["expression"].as_str().filter(|e| !e.is_empty()) {
                    if expression.contains("SEARCH(") {
                        c.search(&at, expression);
                        continue;
                    }
                    // Math over the panel's other queries: each name must be one of their ids.
                    let ids: Vec<&str> = targets.iter().filter_map(|t| t["id"].as_str()).collect();
                    for name in identifier.find_iter(expression).map(|m| m.as_str()) {
                        if !ids.contains(&name) {
                            c.problems
                                .push(format!("{at}: expression {expression:?} names {name:?}, no query of that id"));
                        }
                    }
                } else if let (Some(namespace), Some(metric)) =
                    (target["namespace"].as_str(), target["metricName"].as_str())
                {
                    let dimensions = target["dimensions"].as_object().cloned().unwrap_or_default();
                    if namespace == EMF_NAMESPACE && dimensions.get(EMF_STAGE_DIMENSION) != Some(&"$stage".into()) {
                        c.problems.push(format!("{at}: {EMF_NAMESPACE} query must select dimension stage=$stage"));
                    }
                    let dimensions: Vec<&str> = dimensions.keys().map(String::as_str).collect();
                    shown_from_cloudwatch.insert(c.cloudwatch(&at, namespace, metric, &dimensions));
                } else {
                    c.problems.push(format!("{at}: CloudWatch target {ref_id} has neither metric nor expression"));
                }
            } else if let Some(expr) = target["expr"].as_str().filter(|e| !e.is_empty()) {
                shown.extend(c.promql(&at, expr));
                if expr.contains("fraud_drift") && !expr.contains("$stage") {
                    c.problems.push(format!("{at}: drift query without stage=~\"$stage\": {expr:?}"));
                }
            } else {
                c.problems.push(format!("{at}: target {ref_id} has no expr"));
            }
        }
    }
    let label_values = Regex::new(r"label_values\((.*),\s*\w+\)\s*$").unwrap();
    for variable in &variables {
        if variable["type"] != "query" || variable["datasource"]["type"] == "cloudwatch" {
            continue;
        }
        let query = &variable["query"];
        let text = query["query"].as_str().or(query.as_str()).unwrap_or_default();
        if let Some(found) = label_values.captures(text) {
            c.promql(&format!("{GRAFANA} variable {}", variable["name"]), &found[1]);
        }
    }
    for metric in GRAFANA_SHOWS.into_iter().filter(|m| !shown.contains(*m)) {
        c.problems.push(format!("{GRAFANA}: no panel shows {metric}"));
    }
    for metric in grafana_shows_from_cloudwatch().difference(&shown_from_cloudwatch) {
        c.problems.push(format!("{GRAFANA}: no CloudWatch panel shows {metric}"));
    }
    (panels.len(), c.problems)
}

/// Every rule of infra/prometheus/alerts.yml (alerting and recording) selects known metrics.
fn rule_problems(rules: &Value) -> (usize, Vec<String>) {
    let mut c = Checker::default();
    let groups = rules["groups"].as_sequence().expect("groups");
    let all: Vec<&Value> = groups.iter().flat_map(|g| g["rules"].as_sequence().expect("rules")).collect();
    for rule in &all {
        let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap_or("?");
        c.promql(&format!("infra/prometheus/alerts.yml {name}"), rule["expr"].as_str().unwrap_or_default());
    }
    (all.len(), c.problems)
}

/// The CloudWatch alarms (their metrics; severity first in the description; critical ones, and only they, notify
/// PageTopic) and the CloudWatch dashboard's widgets in infra/template.yaml.
fn template_problems(template: &Value) -> (usize, Vec<String>) {
    let mut c = Checker::default();
    let mut alarms = 0;
    let severity = Regex::new(r"\b(Critical|Warning)\.").unwrap();
    let critical = Regex::new(r"\bCritical\.").unwrap();
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        let at = format!("infra/template.yaml {}", name.as_str().unwrap_or("?"));
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::CloudWatch::Alarm") => {
                alarms += 1;
                let metrics: Vec<&Value> = if properties["MetricName"].is_null() {
                    one_or_many(&properties["Metrics"])
                        .into_iter()
                        .map(|m| &m["MetricStat"]["Metric"])
                        .filter(|m| !m.is_null())
                        .collect()
                } else {
                    vec![properties]
                };
                if metrics.is_empty() {
                    c.problems.push(format!("{at}: no metric"));
                }
                for metric in metrics {
                    let dimensions: Vec<String> =
                        one_or_many(&metric["Dimensions"]).into_iter().map(|d| cfn_text(&d["Name"])).collect();
                    let dimensions: Vec<&str> = dimensions.iter().map(String::as_str).collect();
                    c.cloudwatch(&at, &cfn_text(&metric["Namespace"]), &cfn_text(&metric["MetricName"]), &dimensions);
                }
                let description = cfn_text(&properties["AlarmDescription"]);
                if !severity.is_match(&description) {
                    c.problems
                        .push(format!("{at}: AlarmDescription must start with its severity (Critical. / Warning.)"));
                }
                if critical.is_match(&description) != cfn_text(&properties["AlarmActions"]).contains("PageTopic") {
                    c.problems.push(format!("{at}: critical alarms (and only they) notify PageTopic"));
                }
            }
            Some("AWS::CloudWatch::Dashboard") => cloudwatch_dashboard(&mut c, &at, &properties["DashboardBody"]),
            _ => {}
        }
    }
    (alarms, c.problems)
}

/// A `DashboardBody: !Sub` (its parameters replaced by placeholders so it parses as JSON): each widget's metrics.
fn cloudwatch_dashboard(c: &mut Checker, at: &str, body: &Value) {
    let parameter = Regex::new(r"\$\{([^}!]+)\}").unwrap();
    let text = cfn_text(body);
    let body = parameter.replace_all(&text, |p: &regex::Captures| {
        // The one parameter written as a JSON number (the threshold line); every other one is inside a string.
        if &p[1] == "FraudRateThreshold" { "0" } else { "X" }.to_string()
    });
    let board: Json = match serde_json::from_str(&body) {
        Ok(board) => board,
        Err(e) => return c.problems.push(format!("{at}: DashboardBody is not JSON: {e}")),
    };
    for (i, widget) in board["widgets"].as_array().into_iter().flatten().enumerate() {
        let at = format!("{at} widget {i} {}", widget["properties"]["title"]);
        for row in widget["properties"]["metrics"].as_array().into_iter().flatten() {
            let row = row.as_array().cloned().unwrap_or_default();
            if let Some(options) = row.first().filter(|r| r.is_object()) {
                c.search(&at, options["expression"].as_str().unwrap_or_default());
                continue;
            }
            // [namespace, metric, dimension, value, dimension, value, ..., {options}]
            let words: Vec<&str> = row.iter().filter_map(Json::as_str).collect();
            match words.as_slice() {
                [namespace, metric, rest @ ..] => {
                    let dimensions: Vec<&str> = rest.iter().step_by(2).copied().collect();
                    c.cloudwatch(&at, namespace, metric, &dimensions);
                }
                _ => c.problems.push(format!("{at}: a metric row without namespace and name: {row:?}")),
            }
        }
    }
}

fn grafana() -> Json {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(GRAFANA)).unwrap()).unwrap()
}

fn rules() -> Value {
    repo_yaml("infra/prometheus/alerts.yml")
}

fn template() -> Value {
    repo_yaml("infra/template.yaml")
}

#[test]
fn the_grafana_dashboard_shows_known_metrics_per_stage() {
    let (panels, problems) = grafana_problems(&grafana());
    assert!(panels >= 20, "only {panels} panels");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_alert_rules_select_known_metrics() {
    let (rules, problems) = rule_problems(&rules());
    assert!(rules >= 15, "only {rules} rules");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_alarms_and_the_cloudwatch_dashboard_name_known_metrics_and_their_severity() {
    let (alarms, problems) = template_problems(&template());
    assert!(alarms >= 9, "only {alarms} alarms");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn promql_selectors_are_read_by_name_and_by_name_matcher_not_by_word() {
    let expr = r#"sum by (stage) (rate(a_total{job="fraud_drift_check"}[5m])) / on(stage) {__name__="b"} > bool 0"#;
    assert_eq!(selected_metrics(expr).unwrap(), ["a_total", "b"]);
    assert!(selected_metrics("rate(a[5m]").is_err());
}

/// The alert rules with `find` replaced by `replace` in the first rule whose expression has `find`.
fn rules_with(find: &str, replace: &str) -> Value {
    let mut rules = rules();
    let groups = rules["groups"].as_sequence_mut().unwrap();
    let rule = groups
        .iter_mut()
        .flat_map(|g| g["rules"].as_sequence_mut().unwrap())
        .find(|r| r["expr"].as_str().is_some_and(|e| e.contains(find)))
        .unwrap_or_else(|| panic!("no rule selects {find}"));
    rule["expr"] = rule["expr"].as_str().unwrap().replace(find, replace).into();
    rules
}

#[test]
fn canary_alert_rule_with_a_misspelt_metric() {
    let rules = rules_with(names::DRIFT_FRAUD_RATE_THRESHOLD, "fraud_drift_fraud_rate_treshold");
    assert_reported(&rule_problems(&rules).1, "unknown metric \"fraud_drift_fraud_rate_treshold\"");
}

#[test]
fn canary_alert_rule_that_is_not_promql() {
    let rules = rules_with(names::DRIFT_FRAUD_RATE_THRESHOLD, "fraud_drift_fraud_rate_threshold{");
    assert_reported(&rule_problems(&rules).1, "is not PromQL");
}

/// The problems of the Grafana dashboard once `edit` changed it.
fn grafana_after(edit: impl FnOnce(&mut Json)) -> Vec<String> {
    let mut dashboard = grafana();
    edit(&mut dashboard);
    grafana_problems(&dashboard).1
}

/// The first target of the Grafana dashboard for which `pick` holds.
fn grafana_target(dashboard: &mut Json, pick: impl Fn(&Json) -> bool) -> &mut Json {
    let panels = dashboard["panels"].as_array_mut().unwrap();
    let targets = panels.iter_mut().flat_map(|p| p["targets"].as_array_mut().into_iter().flatten());
    targets.into_iter().find(|t| pick(t)).expect("a matching target")
}

#[test]
fn canary_grafana_panel_with_a_misspelt_metric() {
    let problems = grafana_after(|d| {
        let target = grafana_target(d, |t| t["expr"].as_str().is_some_and(|e| e.starts_with(names::DRIFT_SHARE)));
        target["expr"] = Json::from(target["expr"].as_str().unwrap().replace("drifted_columns", "drifted_cols"));
    });
    assert_reported(&problems, "unknown metric \"fraud_drift_share_of_drifted_cols\"");
}

#[test]
fn canary_grafana_drift_query_for_every_stage() {
    let problems = grafana_after(|d| {
        let target = grafana_target(d, |t| t["expr"].as_str().is_some_and(|e| e.contains("$stage")));
        target["expr"] = Json::from(format!("{}{{job=\"fraud_drift_check\"}}", names::DRIFT_FRAUD_RATE));
    });
    assert_reported(&problems, "drift query without stage=~\"$stage\"");
}

#[test]
fn canary_grafana_without_the_run_duration_panel() {
    let problems = grafana_after(|d| {
        let panels = d["panels"].as_array_mut().unwrap();
        panels.retain(|p| !p.to_string().contains(names::DRIFT_RUN_DURATION_SECONDS));
    });
    assert_reported(&problems, &format!("no panel shows {}", names::DRIFT_RUN_DURATION_SECONDS));
}

#[test]
fn canary_grafana_cloudwatch_query_without_its_stage() {
    let problems = grafana_after(|d| {
        let target = grafana_target(d, |t| t["metricName"] == names::LOG_ONLY_IN_STDOUT_TOTAL);
        target["dimensions"].as_object_mut().unwrap().remove(EMF_STAGE_DIMENSION);
    });
    assert_reported(&problems, "FraudWatch query must select dimension stage=$stage");
    assert_reported(&problems, "fraudwatch_log_only_in_stdout_total without dimension(s) [\"stage\"]");
}

#[test]
fn canary_grafana_cloudwatch_math_over_a_missing_query() {
    let problems = grafana_after(|d| {
        let target = grafana_target(d, |t| t["expression"].as_str().is_some_and(|e| e.contains('/')));
        target["expression"] = Json::from("fraud / (fraud + legitimate)");
    });
    assert_reported(&problems, "names \"legitimate\", no query of that id");
}

#[test]
fn canary_grafana_duplicate_panel_ids() {
    let problems = grafana_after(|d| d["panels"][1]["id"] = d["panels"][0]["id"].clone());
    assert_reported(&problems, "duplicate panel ids");
}

#[test]
fn canary_grafana_without_the_model_version_variable() {
    let problems = grafana_after(|d| {
        d["templating"]["list"].as_array_mut().unwrap().retain(|v| v["name"] != "model_version");
    });
    assert_reported(&problems, "no $model_version template variable");
}

#[test]
fn canary_grafana_variable_over_a_misspelt_metric() {
    let problems = grafana_after(|d| {
        let stage = d["templating"]["list"].as_array_mut().unwrap().iter_mut().find(|v| v["name"] == "stage").unwrap();
        let query = stage["query"]["query"].as_str().unwrap().replace("last_success", "last_sucess");
        stage["query"]["query"] = Json::from(query);
    });
    assert_reported(&problems, "variable \"stage\": unknown metric \"fraud_drift_last_sucess_timestamp_seconds\"");
}

/// The problems of the template once `edit` changed the properties of `resource`.
fn template_after(resource: &str, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut template = template();
    edit(&mut template["Resources"][resource]["Properties"]);
    template_problems(&template).1
}

#[test]
fn canary_alarm_on_a_misspelt_aws_metric() {
    let problems =
        template_after("PredictionLogQueueAgeAlarm", |p| p["MetricName"] = "ApproximateAgeOfOldestMesage".into());
    assert_reported(&problems, "AWS/SQS has no metric \"ApproximateAgeOfOldestMesage\"");
}

#[test]
fn canary_alarm_in_a_misspelt_namespace() {
    let problems = template_after("PredictionLogQueueAgeAlarm", |p| p["Namespace"] = "AWS/SNS".into());
    assert_reported(&problems, "unknown CloudWatch namespace \"AWS/SNS\"");
}

#[test]
fn canary_alarm_on_an_emf_metric_without_its_stage() {
    let problems = template_after("PredictionLogOnlyInStdoutAlarm", |p| {
        let dimensions = p["Dimensions"].as_sequence_mut().expect("the alarm's dimensions");
        dimensions.retain(|d| d["Name"] != EMF_STAGE_DIMENSION);
    });
    assert_reported(&problems, "fraudwatch_log_only_in_stdout_total without dimension(s) [\"stage\"]");
}

#[test]
fn canary_alarm_without_its_severity() {
    let problems = template_after("DriftCheckErrorsAlarm", |p| {
        let description = cfn_text(&p["AlarmDescription"]).replace("Warning.", "");
        p["AlarmDescription"] = description.into();
    });
    assert_reported(&problems, "DriftCheckErrorsAlarm: AlarmDescription must start with its severity");
}

#[test]
fn canary_critical_alarm_that_does_not_page() {
    let problems = template_after("FraudRateAlarm", |p| {
        p["AlarmActions"].as_sequence_mut().unwrap().retain(|a| !format!("{a:?}").contains("PageTopic"));
    });
    assert_reported(&problems, "FraudRateAlarm: critical alarms (and only they) notify PageTopic");
}

/// The JSON text of a CloudWatch dashboard's `DashboardBody: !Sub [body, {...}]`.
fn dashboard_body(properties: &mut Value) -> &mut String {
    let Value::Tagged(sub) = &mut properties["DashboardBody"] else { panic!("DashboardBody is not a !Sub") };
    match &mut sub.value[0] {
        Value::String(body) => body,
        other => panic!("DashboardBody's !Sub does not start with its text: {other:?}"),
    }
}

#[test]
fn canary_cloudwatch_dashboard_search_for_a_misspelt_metric() {
    // The misspelling is made from the real name, so no source line names a metric that does not exist.
    let misspelt = names::LOG_OBJECT_FAILURES_TOTAL.replace("failures", "failure");
    let problems = template_after("OperationsDashboard", |p| {
        let body = dashboard_body(p);
        *body = body.replace(names::LOG_OBJECT_FAILURES_TOTAL, &misspelt);
    });
    assert_reported(&problems, &format!("FraudWatch metric \"{misspelt}\" is not one the functions emit"));
}

#[test]
fn canary_cloudwatch_dashboard_widget_on_a_misspelt_metric() {
    let problems = template_after("OperationsDashboard", |p| {
        let body = dashboard_body(p);
        *body = body.replacen("\"Throttles\"", "\"Throttle\"", 1);
    });
    assert_reported(&problems, "AWS/Lambda has no metric \"Throttle\"");
}

#[test]
fn canary_alert_rule_without_a_metric() {
    let mut rules = rules();
    rules["groups"][0]["rules"][0]["expr"] = "vector(1) > 0".into();
    assert_reported(&rule_problems(&rules).1, "no metric in \"vector(1) > 0\"");
}

#[test]
fn canary_grafana_without_the_dlq_panel() {
    let problems = grafana_after(|d| {
        let panels = d["panels"].as_array_mut().unwrap();
        panels.retain(|p| !p.to_string().contains("ApproximateNumberOfMessagesVisible"));
    });
    assert_reported(&problems, "no CloudWatch panel shows AWS/SQS/ApproximateNumberOfMessagesVisible");
}

#[test]
fn canary_grafana_panel_without_title_or_targets() {
    let problems = grafana_after(|d| {
        let panel = d["panels"].as_array_mut().unwrap().iter_mut().find(|p| p["type"] != "row").unwrap();
        let panel = panel.as_object_mut().unwrap();
        panel.remove("title");
        panel.remove("targets");
    });
    assert_reported(&problems, "missing title");
    assert_reported(&problems, "no targets");
}

#[test]
fn canary_grafana_dashboard_without_uid() {
    let problems = grafana_after(|d| {
        d.as_object_mut().unwrap().remove("uid");
    });
    assert_reported(&problems, "fraudwatch.json: missing uid");
}

#[test]
fn canary_cloudwatch_dashboard_that_is_not_json() {
    let problems = template_after("OperationsDashboard", |p| dashboard_body(p).push(','));
    assert_reported(&problems, "OperationsDashboard: DashboardBody is not JSON");
}

//! The alert rules (infra/prometheus/alerts.yml) carry what a notification and Alertmanager need: a summary, a
//! description and a runbook link, a severity that routes them (docs/runbook.md "Where alerts go") and a kind that
//! inhibition reads; and each one reaches the receiver of its severity in the checked-in Alertmanager
//! configuration, as `amtool config routes test` resolves it.

use std::path::Path;
use std::process::Command;

use fraudwatch_tests::{find_binary, repo_root, repo_yaml};
use serde_norway::Value;

use crate::assert_reported;

/// Severity → Alertmanager receiver: critical pages (e-mail to on-call + SNS), warning mails the team, info is a
/// digest.
const RECEIVERS: [(&str, &str); 3] = [("critical", "page"), ("warning", "team"), ("info", "digest")];

/// The alerts about what drift-check measured: while drift-check is stale their numbers are too, and Alertmanager
/// holds them back by their `kind="verdict"` label.
const VERDICTS: [&str; 11] = [
    "FraudRateSpike",
    "DataDriftShare",
    "ImportantFeatureDrift",
    "PredictionDrift",
    "AttributionDrift",
    "RealizedRecallLow",
    "RealizedPrecisionLow",
    "EstimatedRecallLow",
    "EstimatedPrecisionLow",
    "LabelsStale",
    "LabelCoverageLow",
];

/// The alerting rules (recording rules left out).
fn alerts(rules: &Value) -> Vec<&Value> {
    let groups = rules["groups"].as_sequence().expect("groups");
    groups.iter().flat_map(|g| g["rules"].as_sequence().expect("rules")).filter(|r| !r["alert"].is_null()).collect()
}

fn rule_problems(rules: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for alert in alerts(rules) {
        let name = alert["alert"].as_str().unwrap_or("?");
        for key in ["summary", "description", "runbook_url"] {
            if alert["annotations"][key].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: missing annotation {key}"));
            }
        }
        let labels = &alert["labels"];
        if !RECEIVERS.iter().any(|(severity, _)| labels["severity"] == *severity) {
            problems.push(format!("{name}: label severity must be critical|warning|info"));
        }
        let kind = labels["kind"].as_str();
        if VERDICTS.contains(&name) && kind != Some("verdict") {
            problems.push(format!("{name}: verdict alerts need the label kind=verdict (Alertmanager inhibition)"));
        }
        if !matches!(kind, Some("verdict" | "pipeline")) {
            problems.push(format!("{name}: label kind must be verdict|pipeline"));
        }
    }
    problems
}

/// The alerts `amtool config routes test` does not route to the receiver of their severity under the Alertmanager
/// configuration at `config`, each with the labels a deployed alert has (stage and model version added).
fn routing_problems(config: &Path, rules: &Value) -> Vec<String> {
    let amtool = find_binary("amtool").unwrap();
    let mut problems = Vec::new();
    for alert in alerts(rules) {
        let name = alert["alert"].as_str().unwrap_or("?");
        let mut labels = vec![format!("alertname={name}"), "stage=fraudwatch-prod".into(), "model_version=v1".into()];
        for (key, value) in alert["labels"].as_mapping().into_iter().flatten() {
            labels.push(format!("{}={}", key.as_str().unwrap_or("?"), value.as_str().unwrap_or("?")));
        }
        let severity = alert["labels"]["severity"].as_str().unwrap_or("(none)");
        let receiver = RECEIVERS.iter().find(|(s, _)| *s == severity).map_or("(no severity)", |(_, r)| r);
        let run = Command::new(&amtool)
            .args(["config", "routes", "test", &format!("--config.file={}", config.display())])
            .arg(format!("--verify.receivers={receiver}"))
            .args(&labels)
            .output()
            .unwrap();
        if !run.status.success() {
            let said = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
            problems.push(format!("{name} ({severity}): expected receiver {receiver}, amtool says {}", said.trim()));
        }
    }
    problems
}

fn rules() -> Value {
    repo_yaml("infra/prometheus/alerts.yml")
}

#[test]
fn every_alert_has_its_annotations_severity_and_kind() {
    let rules = rules();
    assert!(alerts(&rules).len() >= 15, "only {} alerts found", alerts(&rules).len());
    let problems = rule_problems(&rules);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_alert_reaches_the_receiver_of_its_severity() {
    let problems = routing_problems(&repo_root().join("infra/prometheus/alertmanager.yml"), &rules());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The problems of the rules once `edit` changed the alert called `name`.
fn with_alert(name: &str, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut rules = rules();
    let groups = rules["groups"].as_sequence_mut().unwrap();
    let alert = groups
        .iter_mut()
        .flat_map(|g| g["rules"].as_sequence_mut().unwrap())
        .find(|r| r["alert"] == name)
        .unwrap_or_else(|| panic!("no alert {name}"));
    edit(alert);
    rule_problems(&rules)
}

#[test]
fn canary_alert_without_a_runbook_link() {
    let problems = with_alert("DataDriftShare", |a| {
        a["annotations"].as_mapping_mut().unwrap().remove("runbook_url");
    });
    assert_reported(&problems, "DataDriftShare: missing annotation runbook_url");
}

#[test]
fn canary_alert_with_an_unrouted_severity() {
    let problems = with_alert("DataDriftShare", |a| a["labels"]["severity"] = "page".into());
    assert_reported(&problems, "DataDriftShare: label severity must be critical|warning|info");
}

#[test]
fn canary_verdict_alert_labelled_pipeline() {
    let problems = with_alert("LabelsStale", |a| a["labels"]["kind"] = "pipeline".into());
    assert_reported(&problems, "LabelsStale: verdict alerts need the label kind=verdict");
}

#[test]
fn canary_alert_of_no_known_kind() {
    let problems = with_alert("DriftCheckStale", |a| a["labels"]["kind"] = "health".into());
    assert_reported(&problems, "DriftCheckStale: label kind must be verdict|pipeline");
}

#[test]
fn canary_critical_alerts_routed_to_the_team() {
    let text = std::fs::read_to_string(repo_root().join("infra/prometheus/alertmanager.yml")).unwrap();
    let mut config: Value = serde_norway::from_str(&text).unwrap();
    let routes = config["route"]["routes"].as_sequence_mut().unwrap();
    let critical = routes.iter_mut().find(|r| r["matchers"][0] == "severity=\"critical\"").expect("a critical route");
    critical["receiver"] = "team".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alertmanager.yml");
    std::fs::write(&path, serde_norway::to_string(&config).unwrap()).unwrap();
    assert_reported(&routing_problems(&path, &rules()), "FraudRateSpike (critical): expected receiver page");
}

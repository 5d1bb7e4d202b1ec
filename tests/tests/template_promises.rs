//! What the runbook and docs promise about a deployed stack, read off the templates that make it: cfn-lint and
//! `sam validate` check that the templates are valid, not that they keep these promises.
//!
//! - Queued prediction logs outlive any outage the age alarm would not have reported (issue 15).
//! - Each data prefix expires on its own parameter, and prediction logs outlive the default quality look-back
//!   plus chargebacks' maturity.
//! - prod deploys only from main: in the OIDC trust policy, its Rule, and the deploy workflow.
//! - The fraud-rate alarm judges a 5-minute rate every minute and pages.

use fraudwatch_tests::{repo_yaml, untagged, yaml_number};
use serde_norway::Value;

fn tag(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(tagged) => Some(tagged.tag.to_string()),
        _ => None,
    }
}

#[test]
fn queued_logs_are_kept_14_days_and_their_age_alarms_long_before() {
    let t = repo_yaml("infra/template.yaml");
    let resources = &t["Resources"];
    for queue in ["PredictionLogQueue", "PredictionLogDlq"] {
        assert_eq!(yaml_number(&resources[queue]["Properties"]["MessageRetentionPeriod"]), 1_209_600.0, "{queue}");
    }
    let alarm = &resources["PredictionLogQueueAgeAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], "AWS/SQS");
    assert_eq!(alarm["MetricName"], "ApproximateAgeOfOldestMessage");
    let dimension = &alarm["Dimensions"][0];
    assert_eq!(
        (dimension["Name"].as_str(), untagged(&dimension["Value"]).as_str()),
        (Some("QueueName"), Some("PredictionLogQueue.QueueName"))
    );
    // One hour, as its description and the runbook say: more than 13 of the 14 days are left to fix the logger.
    assert_eq!(yaml_number(&alarm["Threshold"]), 3600.0);
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    assert!(!alarm["AlarmActions"].as_sequence().unwrap().is_empty());
    // Its runbook link is checked with every other alarm's by tests/tests/infra/runbook.rs.
    assert!(alarm["AlarmDescription"].as_str().unwrap().contains("docs/runbook.md#"));
}

#[test]
fn every_data_prefix_expires_on_its_own_parameter() {
    let t = repo_yaml("infra/template.yaml");
    let rules = t["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"].as_sequence().unwrap();
    for (prefix, parameter) in [
        ("prediction-logs/", "PredictionLogRetentionDays"),
        ("drift-reports/", "DriftReportRetentionDays"),
        ("labels/", "LabelRetentionDays"),
    ] {
        let rule = rules.iter().find(|r| r["Prefix"] == prefix).unwrap_or_else(|| panic!("no rule for {prefix}"));
        assert_eq!(rule["Status"], "Enabled", "{prefix}");
        let expiration = &rule["ExpirationInDays"];
        assert_eq!((tag(expiration).as_deref(), untagged(expiration).as_str()), (Some("!Ref"), Some(parameter)));
        let p = &t["Parameters"][parameter];
        assert!(yaml_number(&p["Default"]) >= yaml_number(&p["MinValue"]), "{parameter}");
        assert!(p["Description"].as_str().unwrap().contains("Default"), "{parameter} must say why its default");
    }
    // The retention's stated reason: with the default look-back and chargebacks' 120-day maturity (the
    // LabelMaturityDays the parameters recommend), the oldest prediction a quality check joins labels to is still
    // there. Larger look-backs are the operator's to keep below the retention, as QualityLookbackDays says.
    let p = &t["Parameters"];
    let logs = yaml_number(&p["PredictionLogRetentionDays"]["Default"]);
    let oldest_read = yaml_number(&p["QualityLookbackDays"]["Default"]) + 120.0;
    assert!(logs >= oldest_read, "{logs} < {oldest_read}");
    assert!(p["LabelMaturityDays"]["Description"].as_str().unwrap().contains("N = 120"));
    assert!(p["QualityLookbackDays"]["Description"].as_str().unwrap().contains("below PredictionLogRetentionDays"));
}

#[test]
fn prod_deploys_only_from_main_in_the_trust_policy_its_rule_and_the_workflow() {
    let oidc = repo_yaml("infra/github-oidc.yaml");
    let assertion = &oidc["Rules"]["ProdDeploysOnlyFromMain"];
    assert_eq!(untagged(&assertion["RuleCondition"])[1], "prod");
    let pinned = untagged(&assertion["Assertions"][0]["Assert"]);
    assert_eq!(
        (untagged(&pinned[0]).as_str(), pinned[1].as_str()),
        (Some("DeployWorkflowRef"), Some("refs/heads/main"))
    );
    // The trust policy's subjects name the workflow file at DeployWorkflowRef (environment) or at main (branch).
    let statements =
        oidc["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"].as_sequence().unwrap();
    let trust = statements.iter().find(|s| s["Sid"] == "GitHubActionsOidc").unwrap();
    let subjects = trust["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"].as_sequence().unwrap();
    let subs: Vec<String> = subjects.iter().map(|s| untagged(&untagged(s)[1]).as_str().unwrap().to_string()).collect();
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert!(
        subs[0].ends_with(":job_workflow_ref:${GitHubOwner}/${GitHubRepo}/${DeployWorkflowPath}@${DeployWorkflowRef}")
    );
    assert!(subs[1].contains(":ref:refs/heads/main:") && subs[1].ends_with("@refs/heads/main"), "{}", subs[1]);
    assert!(subs.iter().all(|s| !s.contains('*')), "no wildcard subject: {subs:?}");

    // The workflow refuses prod from another ref before anything runs, and its deploy job cannot run it either.
    let workflow = repo_yaml(".github/workflows/deploy.yml");
    let guard = &workflow["jobs"]["guard"];
    let refuse =
        guard["steps"].as_sequence().unwrap().iter().find(|s| s["run"].as_str().is_some_and(|r| r.contains("exit 1")));
    assert_eq!(refuse.unwrap()["if"].as_str(), Some("inputs.environment == 'prod' && github.ref != 'refs/heads/main'"));
    let deploy = &workflow["jobs"]["deploy"];
    assert!(deploy["needs"].as_sequence().unwrap().iter().any(|n| n == "guard"));
    assert_eq!(deploy["if"].as_str(), Some("inputs.environment != 'prod' || github.ref == 'refs/heads/main'"));
}

#[test]
fn the_fraud_rate_alarm_judges_a_5_minute_rate_every_minute_and_pages() {
    let t = repo_yaml("infra/template.yaml");
    let alarm = &t["Resources"]["FraudRateAlarm"]["Properties"];
    let metrics = alarm["Metrics"].as_sequence().unwrap();
    let stats: Vec<&Value> = metrics.iter().filter(|m| !m["MetricStat"].is_null()).map(|m| &m["MetricStat"]).collect();
    assert_eq!(stats.len(), 2);
    for stat in stats {
        assert_eq!((yaml_number(&stat["Period"]), stat["Stat"].as_str()), (300.0, Some("Sum")));
        assert_eq!(stat["Metric"]["MetricName"], fraudwatch_core::metric_names::PREDICTIONS_TOTAL);
    }
    let rate = metrics.iter().find(|m| m["ReturnData"] == true).unwrap();
    assert_eq!(
        untagged(&rate["Expression"]).as_str(),
        Some("IF(total >= ${FraudRateMinPredictions}, FILL(fraud, 0) / total, 0)")
    );
    // One breaching evaluation alarms: CloudWatch evaluates every minute over the last 5-minute sums.
    assert_eq!((yaml_number(&alarm["EvaluationPeriods"]), yaml_number(&alarm["DatapointsToAlarm"])), (1.0, 1.0));
    let actions: Vec<&str> =
        alarm["AlarmActions"].as_sequence().unwrap().iter().filter_map(|a| untagged(a).as_str()).collect();
    assert!(actions.contains(&"PageTopic"), "{actions:?}");
    assert!(untagged(&alarm["AlarmDescription"]).as_str().unwrap().contains("docs/runbook.md#"));
}

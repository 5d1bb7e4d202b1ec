//! The Alertmanager configuration (infra/prometheus/alertmanager.yml) keeps what docs/runbook.md "Where alerts go"
//! says: a route for every severity, grouping by alert, stage and model, the verdict alerts held back while
//! drift-check is stale, and e-mails from the fraudwatch templates, which show the summary, stage, model and runbook.

use fraudwatch_tests::{repo_root, repo_yaml};
use serde_norway::Value;

use crate::{assert_reported, one_or_many};

const TEMPLATE: &str = "infra/prometheus/alertmanager-templates/fraudwatch.tmpl";

fn config_problems(config: &Value, template: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let route = &config["route"];
    let matchers: Vec<&Value> =
        one_or_many(&route["routes"]).into_iter().flat_map(|r| one_or_many(&r["matchers"])).collect();
    for severity in ["critical", "warning", "info"] {
        if !matchers.contains(&&Value::from(format!("severity=\"{severity}\""))) {
            problems.push(format!("no route for severity={severity}"));
        }
    }
    if one_or_many(&route["group_by"]) != ["alertname", "stage", "model_version"] {
        problems.push("route.group_by must be [alertname, stage, model_version]".into());
    }
    let inhibits_verdicts = one_or_many(&config["inhibit_rules"]).into_iter().any(|rule| {
        one_or_many(&rule["target_matchers"]).contains(&&Value::from("kind=\"verdict\""))
            && one_or_many(&rule["equal"]).contains(&&Value::from("stage"))
    });
    if !inhibits_verdicts {
        problems.push("no inhibit rule with target kind=\"verdict\" and equal [stage]".into());
    }
    for shown in [".Annotations.summary", ".Labels.stage", ".Labels.model_version", ".Annotations.runbook_url"] {
        if !template.contains(shown) {
            problems.push(format!("fraudwatch.tmpl never shows {shown}"));
        }
    }
    for receiver in one_or_many(&config["receivers"]) {
        for email in one_or_many(&receiver["email_configs"]) {
            let uses_templates =
                ["html", "text"].iter().all(|part| email[*part].as_str().is_some_and(|t| t.contains("fraudwatch.")));
            if !uses_templates {
                let name = receiver["name"].as_str().unwrap_or("?");
                problems.push(format!("receiver {name}: e-mail must use the fraudwatch templates (html and text)"));
            }
        }
    }
    problems
}

struct Files {
    config: Value,
    template: String,
}

fn files() -> Files {
    Files {
        config: repo_yaml("infra/prometheus/alertmanager.yml"),
        template: std::fs::read_to_string(repo_root().join(TEMPLATE)).unwrap(),
    }
}

fn problems_after(edit: impl FnOnce(&mut Files)) -> Vec<String> {
    let mut f = files();
    edit(&mut f);
    config_problems(&f.config, &f.template)
}

#[test]
fn alertmanager_routes_groups_inhibits_and_mails_as_documented() {
    let problems = problems_after(|_| {});
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn canary_no_route_for_info() {
    let problems = problems_after(|f| {
        f.config["route"]["routes"].as_sequence_mut().unwrap().retain(|r| r["matchers"][0] != "severity=\"info\"");
    });
    assert_reported(&problems, "no route for severity=info");
}

#[test]
fn canary_grouping_without_the_model() {
    let problems = problems_after(|f| f.config["route"]["group_by"] = crate::yaml("[alertname, stage]"));
    assert_reported(&problems, "route.group_by must be");
}

#[test]
fn canary_no_verdict_inhibition() {
    let problems = problems_after(|f| f.config["inhibit_rules"] = Value::Sequence(Vec::new()));
    assert_reported(&problems, "no inhibit rule with target kind=\"verdict\"");
}

#[test]
fn canary_template_without_the_runbook() {
    let problems = problems_after(|f| f.template = f.template.replace(".Annotations.runbook_url", ".Annotations.x"));
    assert_reported(&problems, "fraudwatch.tmpl never shows .Annotations.runbook_url");
}

#[test]
fn canary_email_without_the_fraudwatch_html() {
    let problems = problems_after(|f| {
        f.config["receivers"][0]["email_configs"][0].as_mapping_mut().unwrap().remove("html");
    });
    assert_reported(&problems, "e-mail must use the fraudwatch templates");
}

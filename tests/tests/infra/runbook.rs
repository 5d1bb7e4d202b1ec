//! Every alert (its `runbook_url` annotation) and every CloudWatch alarm (a link in its `AlarmDescription`) links a
//! section of docs/runbook.md that exists.

use std::collections::BTreeSet;

use fraudwatch_tests::{repo_root, repo_yaml};
use regex::Regex;
use serde_norway::Value;

use crate::{assert_reported, cfn_text};

const RUNBOOK: &str = "docs/runbook.md";

/// The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` dropped, spaces as `-`.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a Markdown page has: its headings' and its `<a id="...">` / `<a name="...">` ones.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors: BTreeSet<String> = markdown
        .lines()
        .filter_map(|line| {
            let text = line.trim_start_matches('#');
            let level = line.len() - text.len();
            ((1..=6).contains(&level) && text.starts_with(char::is_whitespace)).then(|| github_anchor(text))
        })
        .collect();
    let html = Regex::new(r#"<a (?:id|name)="([^"]+)""#).unwrap();
    anchors.extend(html.captures_iter(markdown).map(|c| c[1].to_string()));
    anchors
}

/// The runbook links of the alert rules and alarms (name, link), and the problems: an alarm without a link, a link
/// to another page or to a section the runbook does not have.
fn runbook_problems(runbook: &str, rules: &Value, template: &Value) -> (usize, Vec<String>) {
    let mut links = Vec::new();
    let mut problems = Vec::new();
    for rule in
        rules["groups"].as_sequence().expect("groups").iter().flat_map(|g| g["rules"].as_sequence().expect("rules"))
    {
        if let Some(alert) = rule["alert"].as_str() {
            links
                .push((alert.to_string(), rule["annotations"]["runbook_url"].as_str().unwrap_or_default().to_string()));
        }
    }
    let link = Regex::new(r"docs/runbook\.md#[\w-]+").unwrap();
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Type"] == "AWS::CloudWatch::Alarm" {
            let name = name.as_str().unwrap_or("?").to_string();
            match link.find(&cfn_text(&resource["Properties"]["AlarmDescription"])) {
                Some(found) => links.push((name, found.as_str().to_string())),
                None => problems.push(format!("alarm {name}: AlarmDescription has no {RUNBOOK}#anchor")),
            }
        }
    }
    let anchors = anchors(runbook);
    for (name, link) in &links {
        let section = link.strip_prefix(RUNBOOK).and_then(|rest| rest.strip_prefix('#'));
        if !section.is_some_and(|s| anchors.contains(s)) {
            problems.push(format!("{name} -> {link:?}: no such section of {RUNBOOK}"));
        }
    }
    (links.len(), problems)
}

struct Files {
    runbook: String,
    rules: Value,
    template: Value,
}

fn files() -> Files {
    Files {
        runbook: std::fs::read_to_string(repo_root().join(RUNBOOK)).unwrap(),
        rules: repo_yaml("infra/prometheus/alerts.yml"),
        template: repo_yaml("infra/template.yaml"),
    }
}

fn problems(f: &Files) -> Vec<String> {
    runbook_problems(&f.runbook, &f.rules, &f.template).1
}

#[test]
fn every_alert_and_alarm_links_an_existing_runbook_section() {
    let f = files();
    let (links, problems) = runbook_problems(&f.runbook, &f.rules, &f.template);
    assert!(links >= 20, "only {links} runbook links found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn github_anchors_drop_punctuation_and_join_words_with_dashes() {
    assert_eq!(github_anchor(" Fraud rate spike (FraudRateSpike)"), "fraud-rate-spike-fraudratespike");
    assert_eq!(github_anchor("predict 5xx / errors"), "predict-5xx--errors");
    assert_eq!(github_anchor("LabelsStale: no labels_since"), "labelsstale-no-labels_since");
}

#[test]
fn canary_alert_linking_a_missing_section() {
    let mut f = files();
    f.rules["groups"][0]["rules"][0]["annotations"]["runbook_url"] = "docs/runbook.md#no-such-section".into();
    assert_reported(&problems(&f), "\"docs/runbook.md#no-such-section\": no such section");
}

#[test]
fn canary_alarm_without_a_runbook_link() {
    let mut f = files();
    f.template["Resources"]["FraudRateAlarm"]["Properties"]["AlarmDescription"] = "Critical. Fraud rate high.".into();
    assert_reported(&problems(&f), "alarm FraudRateAlarm: AlarmDescription has no docs/runbook.md#anchor");
}

#[test]
fn canary_runbook_section_removed() {
    let mut f = files();
    let heading = f.runbook.lines().find(|l| l.starts_with("## ") && github_anchor(&l[3..]) == "fraudratespike");
    let heading = heading.expect("a FraudRateSpike section").to_string();
    f.runbook = f.runbook.replace(&heading, "## Renamed");
    assert_reported(&problems(&f), "FraudRateSpike -> \"docs/runbook.md#fraudratespike\"");
}

//! The infrastructure checks no linter makes (scripts/lint-infra runs the linters): what the deploy role and the
//! function roles may do, which metrics the dashboards, rules and alarms name, where each alert is routed and which
//! runbook section it links, why a checkov finding is skipped, which version a pinned action is.
//!
//! Each check is a function that returns the problems it finds. The repository's files must have none, and each
//! check has canaries: the parsed file, changed in memory the way the check exists to catch, must give the problem
//! planted (a check that finds nothing on its canary has stopped checking).

mod alert_rules;
mod alertmanager;
mod checkov_skips;
mod deploy_role;
mod function_roles;
mod metric_names;
mod runbook;
mod workflows;

use serde_norway::Value;

/// A policy element that is one value or a list of them (`Action: s3:GetObject` or `Action: [...]`).
fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The text CloudFormation substitutes into (`!Sub s`, `!Sub [s, {...}]`) or a plain string; any other value
/// (`!Ref X`, `!GetAtt X.Arn`, a mapping) as its YAML, which still names what it points at.
fn cfn_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(tagged) if tagged.tag == "!Sub" => match &tagged.value {
            Value::Sequence(parts) if !parts.is_empty() => cfn_text(&parts[0]),
            other => cfn_text(other),
        },
        other => serde_norway::to_string(other).expect("a parsed value serializes").trim_end().to_string(),
    }
}

/// A value written as YAML (a canary's statement, resource or rule).
fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Asserts that `problems` has one naming `needle` (a canary's planted fault was reported).
#[track_caller]
fn assert_reported(problems: &[String], needle: &str) {
    assert!(problems.iter().any(|p| p.contains(needle)), "no problem naming {needle:?} in {problems:#?}");
}

//! Each inline checkov skip (a resource's `Metadata.checkov.skip`) says why the finding does not apply.

use fraudwatch_tests::repo_yaml;
use serde_norway::Value;

use crate::{assert_reported, one_or_many};

/// Shorter than this, a comment is a placeholder ("n/a", "false positive"), not a reason.
const MIN_REASON_CHARS: usize = 20;

/// The skips of a template, and those without a real reason.
fn skip_problems(path: &str, template: &Value) -> (usize, Vec<String>) {
    let (mut skips, mut problems) = (0, Vec::new());
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        for skip in one_or_many(&resource["Metadata"]["checkov"]["skip"]) {
            skips += 1;
            if skip["comment"].as_str().is_none_or(|c| c.trim().chars().count() < MIN_REASON_CHARS) {
                problems.push(format!(
                    "{path} {}: checkov skip {:?} has no real reason",
                    name.as_str().unwrap_or("?"),
                    skip["id"]
                ));
            }
        }
    }
    (skips, problems)
}

#[test]
fn every_checkov_skip_says_why() {
    let mut total = 0;
    for path in ["infra/template.yaml", "infra/github-oidc.yaml"] {
        let (skips, problems) = skip_problems(path, &repo_yaml(path));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        total += skips;
    }
    assert!(total > 0, "no checkov skip found: has the Metadata layout changed?");
}

#[test]
fn canary_skip_without_a_reason() {
    let mut template = repo_yaml("infra/template.yaml");
    let skip = &mut template["Resources"]["PredictFunction"]["Metadata"]["checkov"]["skip"][0];
    skip["comment"] = "n/a".into();
    assert_reported(&skip_problems("t", &template).1, "t PredictFunction: checkov skip");
}

//! Every third-party action a workflow uses names, next to the commit SHA it is pinned to (zizmor's
//! `unpinned-uses`, in scripts/lint-infra, requires the SHA), the version that SHA is: a reviewer reads an update as
//! "v4.3.1 → v4.3.2", and zizmor's offline audits cannot resolve a SHA to a version.

use fraudwatch_tests::repo_root;
use regex::Regex;

use crate::assert_reported;

/// The `uses:` lines of a workflow (`file:line: reference`) whose action is not of this repository and that do not
/// say `# vX.Y.Z` after the reference; and how many third-party references there were.
fn unversioned_pins(path: &str, workflow: &str) -> (usize, Vec<String>) {
    let uses = Regex::new(r"^\s*-?\s*uses:\s*(\S+)(.*)$").unwrap();
    let version_comment = Regex::new(r"^\s*#\s*v\d").unwrap();
    let (mut references, mut problems) = (0, Vec::new());
    for (n, line) in workflow.lines().enumerate() {
        let Some(found) = uses.captures(line) else { continue };
        if found[1].starts_with("./") {
            continue;
        }
        references += 1;
        if !version_comment.is_match(&found[2]) {
            problems.push(format!("{path}:{}: {} has no '# vX.Y.Z' comment naming its version", n + 1, &found[1]));
        }
    }
    (references, problems)
}

fn workflows() -> Vec<(String, String)> {
    let dir = repo_root().join(".github/workflows");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn every_pinned_action_names_its_version() {
    let mut references = 0;
    for (path, text) in workflows() {
        let (found, problems) = unversioned_pins(&path, &text);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        references += found;
    }
    assert!(references >= 5, "only {references} action references found");
}

#[test]
fn canary_pin_without_its_version() {
    let (path, text) = workflows().into_iter().find(|(p, _)| p.ends_with("ci.yml")).expect("ci.yml");
    let unversioned = Regex::new(r"(uses:\s*\S+@[0-9a-f]{40})\s*#.*").unwrap().replacen(&text, 1, "$1");
    assert_reported(&unversioned_pins(&path, &unversioned).1, "has no '# vX.Y.Z' comment");
}

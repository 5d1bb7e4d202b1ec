//! Every crate, module and `shared/` path that the repository's text names exists (issue 25): when `shared` was
//! split into crates, about 25 places in docs, comments and rules kept naming the old crate, its modules and its
//! files, and nothing noticed. This reads every tracked text file and fails, naming file and line, on
//!
//! - `fraudwatch-` or `fraudwatch_` and a name that is no crate of the workspace or of `fuzz/` (from
//!   `cargo metadata`), no metric name (`fraudwatch_core::metric_names::ALL`) and none of the stack and resource
//!   names in [`NOT_CRATES`];
//! - a path into a crate (`fraudwatch_monitor::log_reader`) whose module or root item does not exist;
//! - a path into `shared` as a crate: there is none (it says which crate holds that module now, if one does);
//! - a `shared/` path that is no file or folder of the repository;
//! - a relative Markdown link whose file, or whose heading anchor, does not exist.

use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use fraudwatch_tests::repo_root;

/// Names that begin like a crate's but name something else, each also as a prefix (`fraudwatch-prod-predict`):
/// the stacks and stages (and what CloudFormation names after them, the Athena database `fraudwatch_prod`), the
/// local stacks' credentials and directory, the tests' buckets, alert-rule groups, Grafana uids, the deploy role's
/// session, Alertmanager's addresses, the Pushgateway secret.
const NOT_CRATES: &[&str] = &[
    "fraudwatch-prod",
    "fraudwatch-dev",
    "fraudwatch-test",
    "fraudwatch-quiet",
    "fraudwatch-old",
    "fraudwatch-local",
    "fraudwatch-perf",
    "fraudwatch-stack",
    "fraudwatch-data",
    "fraudwatch-models",
    "fraudwatch-labels",
    "fraudwatch-reports",
    "fraudwatch-store",
    "fraudwatch-logs",
    "fraudwatch-quality",
    "fraudwatch-drift",
    "fraudwatch-deploy",
    "fraudwatch-team",
    "fraudwatch-oncall",
    "fraudwatch-alerts",
    "fraudwatch-alertmanager",
    "fraudwatch-prometheus",
    "fraudwatch-cloudwatch",
    "fraudwatch-pushgateway",
];

/// A library crate: where its modules live and the text of its root file (for items it defines or re-exports).
struct Library {
    dir: PathBuf,
    root: String,
}

/// What the text may name: the crates (package and library names, `-` and `_` alike) and the repository's files.
struct Known {
    repo: PathBuf,
    crates: Vec<String>,
    libraries: BTreeMap<String, Library>,
}

impl Known {
    fn load() -> Known {
        let repo = repo_root();
        let (mut crates, mut libraries) = (Vec::new(), BTreeMap::new());
        // The workspace, and the fuzz crate it excludes (its own workspace).
        for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
            let out = Command::new(env!("CARGO"))
                .args(["metadata", "--no-deps", "--offline", "--format-version", "1", "--manifest-path"])
                .arg(repo.join(manifest))
                .output()
                .expect("cargo metadata runs");
            assert!(out.status.success(), "cargo metadata {manifest}: {}", String::from_utf8_lossy(&out.stderr));
            let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
            for package in metadata["packages"].as_array().unwrap() {
                crates.push(normalise(package["name"].as_str().unwrap()));
                for target in package["targets"].as_array().unwrap() {
                    if target["kind"].as_array().unwrap().iter().any(|k| k == "lib") {
                        let root = Path::new(target["src_path"].as_str().unwrap());
                        let library = Library {
                            dir: root.parent().unwrap().to_path_buf(),
                            root: std::fs::read_to_string(root).unwrap(),
                        };
                        let name = normalise(target["name"].as_str().unwrap());
                        crates.push(name.clone());
                        libraries.insert(name, library);
                    }
                }
            }
        }
        Known { repo, crates, libraries }
    }

    /// Where module `m` of a library lives, if it has one: `src/m.rs` or `src/m/`.
    fn module_in(&self, library: &Library, m: &str) -> bool {
        library.dir.join(format!("{m}.rs")).is_file() || library.dir.join(m).is_dir()
    }

    /// Which crates hold a module `m` (where a module of the old `shared` crate went).
    fn crates_with_module(&self, m: &str) -> Vec<String> {
        self.libraries.iter().filter(|(_, l)| self.module_in(l, m)).map(|(name, _)| name.replace('-', "_")).collect()
    }
}

/// `fraudwatch_core` and `fraudwatch-core` are the same crate.
fn normalise(name: &str) -> String {
    name.replace('_', "-")
}

fn is_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == word)
}

/// Whether the byte before `start` continues a longer name (`github-deploy-fraudwatch-dev`, `../shared`,
/// `x::shared::y`), in which case the token is not one of the names checked here.
fn inside_longer_name(text: &str, start: usize, also: &[u8]) -> bool {
    start > 0 && {
        let b = text.as_bytes()[start - 1];
        b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || also.contains(&b)
    }
}

/// Every stale name in `text`: (line, token, why).
fn stale_names(text: &str, known: &Known) -> Vec<(usize, String, String)> {
    let crate_token =
        Regex::new(r"fraudwatch[-_][A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*(?:::([A-Za-z_][A-Za-z0-9_]*))?").unwrap();
    let shared_module = Regex::new(r"shared::([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    let shared_path = Regex::new(r"shared/[A-Za-z0-9_./-]*").unwrap();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();

    for c in crate_token.captures_iter(text) {
        let whole = c.get(0).unwrap();
        if inside_longer_name(text, whole.start(), b"") {
            continue;
        }
        let name = match c.get(1) {
            Some(m) => &whole.as_str()[..m.start() - whole.start() - 2],
            None => whole.as_str(),
        };
        let why = match (known.libraries.get(&normalise(name)), c.get(1)) {
            // A Rust path: the crate and its module or item must exist.
            (Some(library), Some(m))
                if !known.module_in(library, m.as_str()) && !is_word(&library.root, m.as_str()) =>
            {
                Some(format!("`{name}` has no module or item `{}`", m.as_str()))
            }
            (Some(_), _) => None,
            (None, Some(_)) => Some(format!("no crate `{name}`")),
            (None, None) => {
                let plain = normalise(name);
                let other = known.crates.contains(&plain)
                    || fraudwatch_core::metric_names::ALL.contains(&name)
                    || NOT_CRATES.iter().any(|n| plain == *n || plain.starts_with(&format!("{n}-")));
                (!other).then(|| format!("no crate `{name}` (nor a metric, stack or resource name in NOT_CRATES)"))
            }
        };
        if let Some(why) = why {
            found.push((line_of(whole.start()), whole.as_str().to_string(), why));
        }
    }

    for c in shared_module.captures_iter(text) {
        let whole = c.get(0).unwrap();
        if inside_longer_name(text, whole.start(), b":./") {
            continue;
        }
        let m = c.get(1).unwrap().as_str();
        let now = known.crates_with_module(m);
        let hint = if now.is_empty() {
            String::new()
        } else {
            format!(": now {}::{m}", now.join(format!("::{m} or ").as_str()))
        };
        found.push((line_of(whole.start()), whole.as_str().to_string(), format!("there is no crate `shared`{hint}")));
    }

    for p in shared_path.find_iter(text) {
        if inside_longer_name(text, p.start(), b":./") {
            continue;
        }
        // Sentence punctuation and glob or regex tails (`shared/tests/fixtures/.*`) are not part of the path.
        let path = p.as_str().trim_end_matches(['.', '/', '-']);
        if !known.repo.join(path).exists() {
            found.push((line_of(p.start()), p.as_str().to_string(), "no such file or folder".to_string()));
        }
    }
    found
}

/// The anchors GitHub gives a Markdown file's headings: lower-cased, punctuation other than `-` and `_` dropped,
/// spaces as `-`; a repeated heading gets `-1`, `-2`, ….
fn anchors(markdown: &str) -> BTreeSet<String> {
    let (mut seen, mut out, mut in_code) = (BTreeMap::<String, usize>::new(), BTreeSet::new(), false);
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        let Some(title) = line[level..].strip_prefix(' ').filter(|_| !in_code && (1..=6).contains(&level)) else {
            continue;
        };
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|&c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let repeats = seen.entry(slug.clone()).or_default();
        out.insert(if *repeats == 0 { slug } else { format!("{slug}-{repeats}") });
        *repeats += 1;
    }
    out
}

/// Every relative link of a Markdown file (in `dir`) whose file or heading does not exist, with why.
fn broken_links(dir: &Path, markdown: &str) -> Vec<String> {
    let code = Regex::new(r"(?s)```.*?```").unwrap();
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let prose = code.replace_all(markdown, "");
    let mut broken = Vec::new();
    for target in link.captures_iter(&prose).map(|c| c[1].to_string()) {
        if ["http://", "https://", "mailto:"].iter().any(|scheme| target.starts_with(scheme)) {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
        let file = if path.is_empty() { None } else { Some(dir.join(path)) };
        let text = match &file {
            Some(f) if !f.exists() => {
                broken.push(format!("{target}: no file {}", f.display()));
                continue;
            }
            Some(f) if f.extension().is_some_and(|e| e == "md") => std::fs::read_to_string(f).unwrap(),
            Some(_) => continue,
            None => markdown.to_string(),
        };
        if !anchor.is_empty() && !anchors(&text).contains(anchor) {
            broken.push(format!("{target}: no heading with anchor #{anchor}"));
        }
    }
    broken
}

fn tracked_files(repo: &Path) -> Vec<String> {
    let out = Command::new("git").arg("-C").arg(repo).args(["ls-files", "-z"]).output().expect("git runs");
    assert!(out.status.success(), "git ls-files: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split('\0').filter(|f| !f.is_empty()).map(str::to_string).collect()
}

#[test]
fn every_crate_module_and_shared_path_the_repository_names_exists() {
    let known = Known::load();
    let mut stale = Vec::new();
    let mut read = 0;
    for file in tracked_files(&known.repo) {
        // Text files only: the data sample, the model and other binary files are not UTF-8.
        let Ok(text) = std::fs::read_to_string(known.repo.join(&file)) else { continue };
        read += 1;
        for (line, token, why) in stale_names(&text, &known) {
            stale.push(format!("{file}:{line}: `{token}`: {why}"));
        }
    }
    assert!(read > 100, "read only {read} tracked text files");
    assert!(stale.is_empty(), "stale names:\n{}", stale.join("\n"));
}

/// The check catches each kind of stale name and passes the real ones. The stale names are assembled, so that
/// this file itself holds none.
#[test]
fn canary_stale_names_are_caught_and_real_ones_pass() {
    let known = Known::load();
    let (shared, drift) = ("shared", "drift");
    let stale = format!(
        "`{shared}::drift`\nbuilds `fraudwatch-{shared}`\nsee `{shared}/src/log_record.rs`\n\
         use fraudwatch_core::{drift};\n`fraudwatch_{shared}::label`\n`{shared}::nothing_like_it`\n"
    );
    let found: Vec<(usize, String)> = stale_names(&stale, &known).into_iter().map(|(l, t, _)| (l, t)).collect();
    assert_eq!(
        found,
        [
            (2, format!("fraudwatch-{shared}")),
            (4, format!("fraudwatch_core::{drift}")),
            (5, format!("fraudwatch_{shared}::label")),
            (1, format!("{shared}::drift")),
            (6, format!("{shared}::nothing_like_it")),
            (3, format!("{shared}/src/log_record.rs")),
        ]
    );
    let hints: Vec<String> = stale_names(&stale, &known).into_iter().map(|(_, _, why)| why).collect();
    assert!(hints[3].ends_with("now fraudwatch_monitor::drift"), "{}", hints[3]);

    // The team folder beside a checkout is spelt in two parts so that no line of the repository names it whole
    // (the pre-stop check flags any file that does, as one that reads it).
    let real = format!(
        "fraudwatch_monitor::log_reader, fraudwatch_core::metric_names::ALL, fraudwatch_explain::Explainer, \
         `cargo bench -p fraudwatch-model`, fraudwatch-fuzz, shared/core/src/log_record.rs, \
         shared/tests/fixtures/.*\\.json, shared/, {}{}/x, github-deploy-fraudwatch-ops, \
         fraudwatch-prod-PredictionLogQueue, fraudwatch_prod.labels, fraudwatch_predictions_total",
        "../", "shared"
    );
    assert_eq!(stale_names(&real, &known), []);
}

#[test]
fn every_relative_markdown_link_names_an_existing_file_and_heading() {
    let repo = repo_root();
    let mut broken = Vec::new();
    for file in tracked_files(&repo).into_iter().filter(|f| f.ends_with(".md")) {
        let path = repo.join(&file);
        let text = std::fs::read_to_string(&path).unwrap();
        broken.extend(broken_links(path.parent().unwrap(), &text).into_iter().map(|b| format!("{file}: {b}")));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn canary_a_missing_file_or_heading_is_a_broken_link() {
    let docs = repo_root().join("docs");
    let page = "# Storage (`x::y`)\n## Storage (`x::y`)\n```\n# not a heading\n```\n\
                [a](#storage-xy) [b](#storage-xy-1) [c](#not-a-heading) [d](architecture.md#dependency-rules)\n\
                [e](architecture.md#no-such-rules) [f](no-such-page.md) [g](../README.md) [h](https://example.com/x)";
    let broken = broken_links(&docs, page);
    assert_eq!(broken.len(), 3, "{broken:?}");
    assert!(broken[0].starts_with("#not-a-heading: no heading"), "{broken:?}");
    assert!(broken[1].starts_with("architecture.md#no-such-rules: no heading"), "{broken:?}");
    assert!(broken[2].starts_with("no-such-page.md: no file"), "{broken:?}");
}

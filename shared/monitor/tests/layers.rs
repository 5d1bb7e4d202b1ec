//! The crate's modules are layered in one direction: a module uses only modules of lower layers, never one of its
//! own layer or above, so no two modules import each other (directly or around a cycle). Read from the sources:
//! every `crate::<module>` path, and every `super::<module>` that names a top-level module, in `src/**/*.rs`
//! outside comments is an edge from the file's top-level module to that one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. Modules in one layer are peers and must not use each other.
const LAYERS: &[&[&str]] = &[
    // I/O helpers: S3 requests, the Pushgateway push.
    &["store", "pushgateway"],
    // The span a run reads and its partition keys.
    &["window"],
    &["log_reader"],
    // What a run computes: drift statistics; the label join and quality metrics.
    &["drift", "quality"],
    // A model's reference, its card's numbers and explainer.
    &["baseline"],
    // The run's report, its HTML and Prometheus exposition.
    &["report"],
    // The monitoring run: reads, computes, saves, pushes.
    &["run"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named after `crate::` and `super::` in `code` (grouped imports included:
/// `crate::{a::X, b}`).
fn referenced_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["crate::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            let preceded_by_path = code[..at].ends_with("::");
            if preceded_by_path {
                continue; // `super::super::x` is handled from its first `super::`
            }
            let mut rest = &code[at + prefix.len()..];
            while let Some(after) = rest.strip_prefix("super::") {
                rest = after;
            }
            match rest.strip_prefix('{') {
                Some(group) => {
                    let mut depth = 0usize;
                    let mut item_start = true;
                    for (i, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => item_start = true,
                            c if item_start && (c.is_alphanumeric() || c == '_') => {
                                item_start = false;
                                out.insert(identifier(&group[i..]).to_string());
                            }
                            _ => {}
                        }
                    }
                }
                None => {
                    out.insert(identifier(rest).to_string());
                }
            }
        }
    }
    out
}

fn identifier(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// Each line without its `//` comment (doc links may name any module; only code creates a dependency).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Edges `(from, to)` between distinct top-level modules, with the file that makes each.
fn module_edges() -> BTreeMap<(String, String), PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = top.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let code = without_comments(&std::fs::read_to_string(&file).unwrap());
        for to in referenced_modules(&code) {
            if to != module && layer_of(&to).is_some() {
                edges.entry((module.clone(), to)).or_insert_with(|| relative.to_path_buf());
            }
        }
    }
    edges
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let declared: BTreeSet<String> = std::fs::read_to_string(src.join("lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let layered: BTreeSet<String> = LAYERS.iter().flat_map(|l| l.iter().map(|m| m.to_string())).collect();
    assert_eq!(declared, layered, "every module of lib.rs has a layer here, and only those");

    let edges = module_edges();
    assert!(edges.contains_key(&("run".to_string(), "log_reader".to_string())), "the scan sees the run's reads");
    let upward: Vec<String> = edges
        .iter()
        .filter(|((from, to), _)| layer_of(to) >= layer_of(from))
        .map(|((from, to), file)| format!("{from} → {to} (src/{})", file.display()))
        .collect();
    assert!(upward.is_empty(), "modules using their own layer or a higher one:\n{}", upward.join("\n"));
}

#[test]
fn the_scan_reads_grouped_and_nested_paths() {
    let code = without_comments(
        "use crate::{window::Window, log_reader};\nuse super::super::report::html; // crate::run\nlet x = crate::store::get;",
    );
    let found = referenced_modules(&code);
    let expected: BTreeSet<String> = ["window", "log_reader", "report", "store"].map(String::from).into();
    assert_eq!(found, expected);
}

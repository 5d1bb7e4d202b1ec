//! A generated bad-input suite: well over 10,000 hostile or broken requests, built deterministically
//! (seeded) from a real held-out transaction (the first row of `model/parity.csv`), fed to the predict
//! handler as real API Gateway HTTP API (payload v2) events.
//!
//! Every refused case must come back as a 4xx (never a 5xx, never a panic) with a small JSON body
//! `{error, detail}` whose detail is not empty, and — where the case breaks one particular field — the
//! detail or `fields[]` must name that field. A second test checks that valid-but-unusual inputs are
//! accepted. Set `FRAUDWATCH_BAD_INPUT_SEED` to explore other seeds; `--nocapture` shows the summary.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use fraudwatch_core::schema::{feature_index, FEATURE_NAMES, MAX_TRANSACTION_ID_BYTES};
use fraudwatch_traffic::read_parity_rows;
use futures::FutureExt;
use predict::api::{App, MAX_BATCH_SIZE, MAX_BODY_BYTES};
use serde_json::Value;

#[path = "../common/mod.rs"]
mod common;

mod batches;
mod bodies;
mod cases;
mod fields;
mod json_text;
mod rng;
mod routes;

use batches::*;
use bodies::*;
use cases::*;
use common::{app, KeptRecords};
use fields::*;
use json_text::*;
use rng::*;
use routes::*;

/// Error responses stay small whatever the input (Lambda refuses responses over 6 MB, which API Gateway
/// would turn into a 5xx, and a huge echo is an amplification vector).
const MAX_ERROR_RESPONSE_BYTES: usize = 256 * 1024;

const MIN_CASES: usize = 10_000;

const DEFAULT_SEED: u64 = 0x00F4_A0D0_5EED;

fn seed() -> u64 {
    std::env::var("FRAUDWATCH_BAD_INPUT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED)
}

#[tokio::test]
async fn generated_bad_inputs_are_refused_with_a_clear_4xx_naming_the_field() {
    let started = Instant::now();
    let app = app();
    let rows = parity_rows(64);
    let base = Obj::from_values(&rows[0]);
    let mut rng = Rng(seed());
    let mut cases = Cases::default();
    truncated(&mut cases, &base, &rows);
    malformed(&mut cases, &base, &mut rng);
    wrong_types(&mut cases, &base);
    numbers_as_strings(&mut cases, &base);
    non_finite(&mut cases, &base);
    missing(&mut cases, &base, &mut rng);
    duplicates(&mut cases, &base);
    misspelled(&mut cases, &base);
    unknown_fields(&mut cases, &base, &mut rng);
    empty_bodies(&mut cases);
    huge(&mut cases, &base);
    content_types(&mut cases, &base);
    batches(&mut cases, &base, &rows, &mut rng);
    invalid_utf8(&mut cases, &base, &mut rng);
    deep_nesting(&mut cases, &base, &mut rng);
    methods_and_paths(&mut cases, &base);
    top_level(&mut cases, &base);
    query_parameters(&mut cases, &base, &mut rng);
    let systematic = cases.0.len();
    // At least MIN_CASES in all, and never fewer than 2,000 random combinations.
    random_multi_fault(&mut cases, &rows, &mut rng, (MIN_CASES + 2_000).saturating_sub(systematic).max(2_000));
    let generated = (cases.0.len(), started.elapsed());

    // run_all checks each response, and that nothing refused was logged, case by case.
    let (tallies, failures) = run_all(&app, cases.0).await;
    let total = summarise(
        &format!("bad inputs (seed {:#x}), generated in {:.1?}, total {:.1?}", seed(), generated.1, started.elapsed()),
        &tallies,
    );
    report(&failures);
    assert_eq!(total, generated.0, "every generated case was sent and judged");
}

#[tokio::test]
async fn valid_but_unusual_inputs_are_accepted() {
    let app = app();
    let rows = parity_rows(MAX_BATCH_SIZE);
    let base = Obj::from_values(&rows[0]);
    let mut rng = Rng(seed() ^ 1);
    let mut cases = Cases::default();
    let c = "accepted_edge";
    let mut with = |label: &str, edit: &dyn Fn(&mut Obj)| {
        let mut o = base.clone();
        edit(&mut o);
        cases.accept(c, label, post("/predict", o.render()), None);
    };
    with("as is", &|_| {});
    for amount in ["0", "0.0", "-0.0", "-0", "0e0", "0E-10", "1e-320", "-1e-50", "3.4028234e38", "12345678901234567890"]
    {
        with(&format!("Amount {amount}"), &|o| {
            o.set("Amount", amount);
        });
    }
    with("negative V values everywhere", &|o| {
        for name in &FEATURE_NAMES[..28] {
            o.set(name, "-3.25");
        }
    });
    with("integers everywhere", &|o| {
        for (name, v) in FEATURE_NAMES.iter().zip(&rows[0]) {
            o.set(name, format!("{}", v.round() as i64));
        }
    });
    with("exponent notation everywhere", &|o| {
        for (name, v) in FEATURE_NAMES.iter().zip(&rows[0]) {
            o.set(name, format!("{v:e}"));
        }
    });
    for raw in ["1e-5", "1E-5", "1.5e+2", "-2.5E+1", "1e-45", "1e-50", "-3.4028234e38", "3.4028234e38", "-0.0"] {
        with(&format!("V1 {raw}"), &|o| {
            o.set("V1", raw);
        });
    }
    for (label, raw) in
        [("Time 0", "0"), ("Time 1e39 (float64)", "1e39"), ("Time integer", "172792"), ("Time 1e300", "1e300")]
    {
        with(label, &|o| {
            o.set("Time", raw);
        });
    }
    let max_id = string(&"x".repeat(MAX_TRANSACTION_ID_BYTES));
    let multibyte_id = string(&"é".repeat(MAX_TRANSACTION_ID_BYTES / 2));
    for (label, raw) in [
        ("empty transaction_id", "\"\"".to_string()),
        ("transaction_id of the maximum length", max_id),
        ("multibyte transaction_id at the maximum", multibyte_id),
        ("transaction_id with escapes", "\"a\\\"b\\\\c\\u00e9\\n\"".to_string()),
        ("transaction_id with emoji", string("🙂-order")),
    ] {
        with(label, &|o| {
            o.set("transaction_id", raw.clone());
        });
    }
    with("every key unicode-escaped", &|o| {
        for (k, _) in o.0.iter_mut() {
            let name = serde_json::from_str::<String>(k).unwrap();
            *k = format!("\"{}\"", name.chars().map(|ch| format!("\\u{:04X}", ch as u32)).collect::<String>());
        }
    });
    with("\\u0056\\u0031 and \\u0041mount", &|o| {
        o.rename("V1", "\"\\u0056\\u0031\"".into());
        o.rename("Amount", "\"\\u0041mount\"".into());
    });
    for n in 0..20 {
        let mut o = base.clone();
        rng.shuffle(&mut o.0);
        let body = if n % 2 == 0 { o.render() } else { o.render_spaced(&mut rng) };
        cases.accept(c, format!("shuffled #{n}"), post("/predict", body), None);
    }
    cases.accept(c, "pretty-printed", post("/predict", base.pretty()), None);
    cases.accept(c, "surrounded by whitespace", post("/predict", format!(" \n\t{}\r\n ", base.render())), None);
    cases.accept(c, "base64-encoded body", post_bytes("/predict", base.render().into_bytes()), None);
    let body = base.render();
    cases.accept(
        c,
        "padded to exactly MAX_BODY_BYTES",
        post("/predict", format!("{}{body}", " ".repeat(MAX_BODY_BYTES - body.len()))),
        None,
    );
    cases.accept(c, "trailing slash", post("/predict/", base.render()), None);
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/JSON; charset=utf-8",
        "Application/Json",
        "APPLICATION/JSON",
        "application/json;charset=UTF-8",
        "application/json ; charset=utf-8",
        " application/json",
        "application/json; charset=utf-8; foo=bar",
    ] {
        cases.accept(
            c,
            format!("content-type {ct:?}"),
            Req { content_type: Some(ct.into()), ..post("/predict", base.render()) },
            None,
        );
    }
    cases.accept(c, "a batch of one", post("/predict/batch", batch(&[base.render()])), Some(1));
    let full: Vec<String> = rows.iter().map(|r| Obj::from_values(r).render()).collect();
    assert_eq!(full.len(), MAX_BATCH_SIZE);
    cases.accept(c, "a batch of exactly MAX_BATCH_SIZE", post("/predict/batch", batch(&full)), Some(MAX_BATCH_SIZE));
    let shuffled: Vec<String> = rows
        .iter()
        .take(10)
        .map(|r| {
            let mut o = Obj::from_values(r);
            rng.shuffle(&mut o.0);
            o.render_spaced(&mut rng)
        })
        .collect();
    cases.accept(c, "a batch of shuffled, spaced items", post("/predict/batch", batch(&shuffled)), Some(10));
    cases.accept(
        c,
        "a batch with the key escaped",
        post("/predict/batch", format!("{{\"\\u0074ransactions\":[{}]}}", base.render())),
        Some(1),
    );
    for query in ["explain=true", "explain=false", "explain=tru%65", "", "&", "explain=true&"] {
        cases.accept(c, format!("?{query}"), Req { query: query.into(), ..post("/predict", base.render()) }, None);
    }
    cases.accept(
        c,
        "a batch of exactly MAX_BATCH_SIZE, every one explained",
        Req { query: "explain=true".into(), ..post("/predict/batch", batch(&full)) },
        Some(MAX_BATCH_SIZE),
    );

    let generated = cases.0.len();
    let (tallies, failures) = run_all(&app, cases.0).await;
    let total = summarise("valid edge inputs", &tallies);
    report(&failures);
    assert_eq!(total, generated, "every edge case was sent and judged");
}

//! The demo page, as a person uses it: served by the real predict binary under `cargo lambda watch`
//! (API Gateway emulation), opened in headless Chromium, which picks a real transaction, scores it through
//! `POST /predict?explain=true` and renders the verdict, the reasons as a bar chart and the model card.

use std::path::PathBuf;
use std::process::Command;

use fraudwatch_core::schema::{Features, FEATURE_NAMES};
use fraudwatch_tests::lambda_emulator::LambdaEmulator;
use fraudwatch_tests::{find_binary, repo_root, SqsServer};
use predict::api::REASONS_RETURNED;

/// Debian's `chromium` (installed by scripts/bootstrap), or the Chrome that GitHub's Ubuntu runners ship.
fn browser() -> PathBuf {
    ["chromium", "google-chrome"]
        .into_iter()
        .find_map(|name| find_binary(name).ok())
        .expect("no headless browser (chromium or google-chrome): run scripts/bootstrap")
}

/// The page's DOM after its scripts ran: `#score=N` makes it score example N on load.
fn rendered_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Virtual time stops while requests are in flight, so the budget covers both fetches.
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The text inside the element with `id`.
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{dom}"));
    let open = start + dom[start..].find('>').unwrap() + 1;
    &dom[open..open + dom[open..].find('<').unwrap()]
}

/// The reasons chart's bars, in drawing order: (feature, direction class, contribution).
fn charted_reasons(dom: &str) -> Vec<(String, String, f64)> {
    let chart = &dom[dom.find("<svg id=\"reasons\"").unwrap_or_else(|| panic!("no reasons chart in:\n{dom}"))..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    let attribute = |g: &str, name: &str| {
        let value = &g[g.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {g}")) + name.len() + 2..];
        value[..value.find('"').unwrap()].to_string()
    };
    chart
        .split("<g class=\"reason ")
        .skip(1)
        .map(|g| {
            let g = &g[..g.find("</g>").unwrap()];
            assert!(g.contains("<rect"), "a bar: {g}");
            (
                attribute(g, "data-feature"),
                g[..g.find('"').unwrap()].to_string(),
                attribute(g, "data-contribution").parse().unwrap(),
            )
        })
        .collect()
}

/// What the page must chart for example `i`: the explainer's top reasons for the transaction as the API reads it
/// (JSON numbers as float32).
fn expected_reasons(examples: &serde_json::Value, i: usize) -> Vec<(String, String, f64)> {
    let transaction = &examples[i]["transaction"];
    let features: Features = std::array::from_fn(|j| transaction[FEATURE_NAMES[j]].as_f64().unwrap() as f32);
    let explainer = predict::embedded_explainer().unwrap();
    explainer
        .contributions(&features)
        .top(REASONS_RETURNED)
        .into_iter()
        .map(|r| {
            let direction = serde_json::to_value(r.direction()).unwrap().as_str().unwrap().to_string();
            (r.feature.to_string(), direction, r.contribution)
        })
        .collect()
}

fn assert_charted(dom: &str, expected: &[(String, String, f64)]) {
    let charted = charted_reasons(dom);
    assert_eq!(charted.len(), expected.len(), "{charted:?}");
    for ((feature, class, contribution), (want_feature, want_class, want)) in charted.iter().zip(expected) {
        assert_eq!((feature, class), (want_feature, want_class));
        // The page shows the API's float32.
        assert!((contribution - want).abs() <= 1e-6 * want.abs().max(1.0), "{feature}: {contribution} vs {want}");
    }
    assert!(dom.contains("class=\"other\""), "the other features' bar");
}

#[tokio::test]
async fn a_person_scores_real_transactions_in_the_browser() {
    let sqs = SqsServer::start().await.unwrap();
    let lambda = LambdaEmulator::start_predict(&sqs).await.unwrap();
    let page = format!("{}/", lambda.function_url("predict"));
    let examples: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("functions/predict/src/demo-transactions.json")).unwrap(),
    )
    .unwrap();
    let expected = |i: usize| if examples[i]["true_class"] == 1 { "FRAUD" } else { "legitimate" };

    let legit = rendered_dom(&format!("{page}#score=0"));
    assert_eq!(text_of(&legit, "verdict"), expected(0), "{legit}");
    let p: f64 = text_of(&legit, "probability").parse().unwrap();
    assert!(p < 0.5, "a legitimate transaction scores low: {p}");
    assert!(legit.contains("fraud-detector"), "the model card is shown");
    assert_charted(&legit, &expected_reasons(&examples, 0));

    let fraud = rendered_dom(&format!("{page}#score=4"));
    assert_eq!(expected(4), "FRAUD", "example 4 is a real fraud the model catches");
    assert_eq!(text_of(&fraud, "verdict"), "FRAUD", "{fraud}");
    let p: f64 = text_of(&fraud, "probability").parse().unwrap();
    assert!(p > 0.98, "{p}");
    let reasons = expected_reasons(&examples, 4);
    assert_eq!(reasons[0].1, "towards_fraud", "a caught fraud's first reason pushes towards fraud");
    assert_charted(&fraud, &reasons);
}

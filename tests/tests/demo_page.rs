//! The demo page, as a person uses it: served by the real predict binary under `cargo lambda watch`
//! (API Gateway emulation), opened in headless Chromium, which picks a real transaction, scores it through
//! `POST /predict` and renders the verdict and the model card.

use std::path::PathBuf;
use std::process::Command;

use fraudwatch_tests::lambda_emulator::LambdaEmulator;
use fraudwatch_tests::{find_binary, repo_root, SqsServer};

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

    let fraud = rendered_dom(&format!("{page}#score=4"));
    assert_eq!(expected(4), "FRAUD", "example 4 is a real fraud the model catches");
    assert_eq!(text_of(&fraud, "verdict"), "FRAUD", "{fraud}");
    let p: f64 = text_of(&fraud, "probability").parse().unwrap();
    assert!(p > 0.98, "{p}");
}

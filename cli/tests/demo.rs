//! `fraudctl demo` run as a process in front of the real predict function (under `cargo lambda watch`, the local
//! stack's API emulation, which needs no authentication: `--auth none`; how requests are signed for a deployed
//! stage is tested in `api_auth`). What the demo page asks for is answered as the API answers it; nothing else
//! is forwarded.

use std::process::Command;
use std::time::Duration;

use fraudwatch_tests::lambda_emulator::LambdaEmulator;
use fraudwatch_tests::{listening_port, repo_root, ServerProcess, SqsServer};
use serde_json::Value;

#[tokio::test]
async fn the_demo_page_and_its_requests_are_forwarded_and_nothing_else() {
    let sqs = SqsServer::start().await.unwrap();
    let lambda = LambdaEmulator::start_predict(&sqs).await.unwrap();
    let api = lambda.function_url("predict");

    let logs = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fraudctl"));
    cmd.args(["demo", "--endpoint", &api, "--auth", "none", "--listen", "127.0.0.1:0"]);
    let demo = ServerProcess::spawn("fraudctl-demo", cmd, logs.path()).unwrap();
    let port = listening_port(demo.pid().unwrap(), Duration::from_secs(30)).await.unwrap();
    let page = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // The page itself, as the API serves it.
    let direct = http.get(format!("{api}/")).send().await.unwrap().text().await.unwrap();
    let proxied = http.get(format!("{page}/")).send().await.unwrap();
    assert_eq!(proxied.status(), 200);
    assert_eq!(proxied.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(proxied.text().await.unwrap(), direct);

    // Its two requests: the model card and a prediction of a real transaction (the page's first example).
    let card: Value = http.get(format!("{page}/model")).send().await.unwrap().json().await.unwrap();
    assert_eq!(card["name"], "fraud-detector");
    let examples: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("functions/predict/src/demo-transactions.json")).unwrap(),
    )
    .unwrap();
    let response = http.post(format!("{page}/predict")).json(&examples[0]["transaction"]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let prediction: Value = response.json().await.unwrap();
    assert_eq!(prediction["model_version"], card["version"], "{prediction}");
    assert!(prediction["fraud_probability"].as_f64().is_some(), "{prediction}");
    // The API's own answer to a bad request comes back as it is.
    let bad = http.post(format!("{page}/predict")).body("{}").header("content-type", "application/json");
    assert_eq!(bad.send().await.unwrap().status(), 422);

    // Not the page's: not forwarded with the operator's credentials.
    let labels = http.post(format!("{page}/labels")).json(&serde_json::json!({"labels": []})).send().await.unwrap();
    assert_eq!(labels.status(), 404);
    let health = http.get(format!("{page}/health")).send().await.unwrap();
    assert_eq!(health.status(), 404);
    // Another site's name resolved to 127.0.0.1 (DNS rebinding) is refused.
    let rebound = http.get(format!("{page}/model")).header("host", format!("attacker.example:{port}"));
    assert_eq!(rebound.send().await.unwrap().status(), 421);
}

#[test]
fn the_page_is_served_on_loopback_only() {
    let out = Command::new(env!("CARGO_BIN_EXE_fraudctl"))
        .args(["demo", "--endpoint", "http://127.0.0.1:1", "--auth", "none", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only on a loopback address"), "{out:?}");
}

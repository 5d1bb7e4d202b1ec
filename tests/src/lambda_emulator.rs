//! `cargo lambda watch`: the Lambda runtime API and API Gateway emulation, running the workspace's real
//! function binaries, on a free 127.0.0.1 port.

use std::process::Command;

use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::{find_binary, listening_port, repo_root, ServerProcess, SqsServer, ACCESS_KEY, REGION, SECRET_KEY};

pub struct LambdaEmulator {
    _process: ServerProcess,
    port: u16,
    _logs: tempfile::TempDir,
}

impl LambdaEmulator {
    /// Starts the emulator with `env` for every function, and waits until predict answers `GET /health`
    /// (the first request builds the function if it is not built yet).
    pub async fn start(env: &[(&str, String)]) -> Result<Self> {
        let logs = tempfile::tempdir()?;
        // `cargo lambda watch -P 0` binds its default port 9000 instead of letting the kernel choose, so a port
        // is picked here; the emulator must then be the process listening on it (read back from /proc), or
        // the pick is retried: another process that took the port in between cannot be mistaken for it.
        let (mut process, port) = {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
                let cmd = Self::command(port, env)?;
                let mut process = ServerProcess::spawn("cargo-lambda-watch", cmd, logs.path())?;
                let pid = process.pid().context("just spawned")?;
                match listening_port(pid, Duration::from_secs(60)).await {
                    Ok(bound) if bound == port => break (process, port),
                    other if attempt < 3 => {
                        process.kill();
                        eprintln!("cargo lambda watch did not get port {port} ({other:?}); picking another");
                    }
                    other => {
                        bail!("cargo lambda watch did not listen on {port}: {other:?}; log:\n{}", process.log_tail())
                    }
                }
            }
        };
        Self::wait_until_serving(&mut process, port, Duration::from_secs(60)).await?;
        Ok(LambdaEmulator { _process: process, port, _logs: logs })
    }

    /// `cargo lambda watch` on `port`, from the repository, with `env` for every function: the binaries are the
    /// ones built beforehand (`--ignore-changes`: a file saved meanwhile does not restart the functions and cut the
    /// requests in flight).
    pub fn command(port: u16, env: &[(&str, String)]) -> Result<Command> {
        let mut cmd = Command::new(find_binary("cargo-lambda")?);
        cmd.current_dir(repo_root()).args([
            "lambda",
            "watch",
            "--ignore-changes",
            "--quiet",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ]);
        for (name, value) in env {
            cmd.args(["--env-var", &format!("{name}={value}")]);
        }
        // Not the variables cargo sets for this test (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...): ring's build
        // script re-runs when they change, so the watch's `cargo run` would rebuild ring and everything above
        // it (8+ minutes here) instead of running the binaries `cargo build --workspace --bins` made.
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(is_set_by_cargo_for_a_crate) {
                cmd.env_remove(name);
            }
        }
        Ok(cmd)
    }

    /// Waits until the emulator `process` on `port` serves predict: its own server answers within `timeout`
    /// (404 for the root); then ONE patient request to predict, whose first invocation may have to build the
    /// function. Polling predict instead would queue an invocation per attempt, and the emulator serves abandoned
    /// invocations one by one.
    pub async fn wait_until_serving(process: &mut ServerProcess, port: u16, timeout: Duration) -> Result<()> {
        process.wait_ready_any_status(&format!("http://127.0.0.1:{port}/"), timeout).await?;
        let health = format!("http://127.0.0.1:{port}/lambda-url/predict/health");
        let response = reqwest::Client::new()
            .get(&health)
            .timeout(Duration::from_secs(900))
            .send()
            .await
            .with_context(|| format!("{health}; emulator log:\n{}", process.log_tail()))?;
        if !response.status().is_success() {
            bail!("{health} answered {}; emulator log:\n{}", response.status(), process.log_tail());
        }
        Ok(())
    }

    /// The emulator serving predict as the local stack does: its log records go to a new queue `prediction-log` on
    /// `sqs`, its model runs on the repository's ONNX Runtime library.
    pub async fn start_predict(sqs: &SqsServer) -> Result<Self> {
        let queue_url = sqs.create_queue("prediction-log", None).await?;
        Self::start(&[
            ("PREDICTION_LOG_QUEUE_URL", queue_url),
            ("AWS_ENDPOINT_URL_SQS", sqs.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("ORT_DYLIB_PATH", env!("ORT_DYLIB_PATH").into()),
        ])
        .await
    }

    /// The base URL of a function's HTTP (function URL / API Gateway) emulation.
    pub fn function_url(&self, function: &str) -> String {
        format!("http://127.0.0.1:{}/lambda-url/{function}", self.port)
    }
}

/// Invokes `function` through the emulator's Lambda invoke API at `lambda_api` with `payload`, as an event source or
/// a scheduler does; returns the function's response body. A handler error is an error here: on AWS it arrives as
/// 200 with `X-Amz-Function-Error`, and must never be read as a result.
pub async fn invoke(
    http: &reqwest::Client,
    lambda_api: &str,
    function: &str,
    payload: &impl serde::Serialize,
    timeout: Duration,
) -> Result<String> {
    let url = format!("{lambda_api}/2015-03-31/functions/{function}/invocations");
    let response = http.post(&url).json(payload).timeout(timeout).send().await.context("invoke")?;
    let status = response.status();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let body = response.text().await.context("reading the invoke response")?;
    if !status.is_success() || function_error || body.contains("\"errorType\"") {
        bail!("{function} failed: {status}: {body}");
    }
    Ok(body)
}

/// The variables cargo sets for the crate it builds or tests (not cargo's own configuration, e.g. CARGO_HOME or
/// CARGO_TARGET_DIR, which a nested cargo must keep).
fn is_set_by_cargo_for_a_crate(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_BIN_EXE_", "CARGO_CFG_"].iter().any(|prefix| name.starts_with(prefix))
        || [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_MANIFEST_LINKS",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "OUT_DIR",
        ]
        .contains(&name)
}

//! `cargo lambda watch`: the Lambda runtime API and API Gateway emulation, running the workspace's real
//! function binaries, on a free 127.0.0.1 port.

use std::process::Command;

use anyhow::Result;

use crate::{find_binary, free_port, repo_root, ServerProcess};

pub struct LambdaEmulator {
    _process: ServerProcess,
    port: u16,
    _logs: tempfile::TempDir,
}

impl LambdaEmulator {
    /// Starts the emulator with `env` for every function, and waits until predict answers `GET /health`
    /// (the first request builds the function if it is not built yet).
    pub async fn start(env: &[(&str, String)]) -> Result<Self> {
        let port = free_port();
        let logs = tempfile::tempdir()?;
        let env_vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut cmd = Command::new(find_binary("cargo-lambda")?);
        cmd.current_dir(repo_root())
            .args(["lambda", "watch", "--ignore-changes", "--quiet", "-A", "127.0.0.1", "-P", &port.to_string()]);
        for var in &env_vars {
            cmd.args(["--env-var", var]);
        }
        let ready = format!("http://127.0.0.1:{port}/lambda-url/predict/health");
        // Generous: on a cold target directory the first request compiles the function.
        let timeout = std::time::Duration::from_secs(900);
        let process = ServerProcess::start_with_timeout("cargo-lambda-watch", cmd, logs.path(), &ready, timeout).await?;
        Ok(LambdaEmulator { _process: process, port, _logs: logs })
    }

    /// The base URL of a function's HTTP (function URL / API Gateway) emulation.
    pub fn function_url(&self, function: &str) -> String {
        format!("http://127.0.0.1:{}/lambda-url/{function}", self.port)
    }
}

//! A harness that runs real servers as child processes on free 127.0.0.1 ports, waits until they
//! answer, and kills them on drop — so `cargo test` needs no hand-started services and tests can run in
//! parallel without sharing state.
//!
//! - [`S3Server`]: `s3s-fs` (S3 over a temporary directory, checks SigV4), driven by the real `aws-sdk-s3`;
//! - [`SqsServer`]: moto's server (SQS), driven by the real `aws-sdk-sqs`;
//! - [`Pushgateway`]: Debian's `prometheus-pushgateway` (plain, or with TLS and basic auth);
//! - [`Prometheus`]: Debian's `prometheus`, with rule files (and, if given, an Alertmanager to send to);
//! - [`alerting::Alertmanager`]: Debian's `prometheus-alertmanager` with the checked-in configuration, delivering
//!   e-mail to [`alerting::SmtpServer`], PyPI's `aiosmtpd` writing a maildir.
//!
//! Binaries are found on `PATH`, then in the repo's `.venv/bin` and `~/.cargo/bin` (where
//! `scripts/bootstrap` installs them). A missing binary is a test failure that says how to install it,
//! never a skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub mod alerting;
pub mod event_source;
pub mod lambda_emulator;

pub const ACCESS_KEY: &str = "fraudwatch-test";
pub const SECRET_KEY: &str = "fraudwatch-test-secret";
pub const REGION: &str = "eu-west-1";
/// The prediction-logger's SQS `BatchSize` in infra/template.yaml (tests/tests/thresholds.rs checks it).
pub const LOGGER_BATCH_SIZE: usize = 100;
/// The same with `PredictionLogDelivery=batched` (the template's `PredictionLogDeliveries` mapping).
pub const LOGGER_BATCHED_BATCH_SIZE: usize = 2000;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// A YAML file of the repository (a template, a workflow), CloudFormation's short-form tags kept as tags.
pub fn repo_yaml(path: &str) -> serde_norway::Value {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML number (a template's Timeout, a parameter's Default), or a panic naming what was there instead.
pub fn yaml_number(v: &serde_norway::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v:?}"))
}

/// The value under a CloudFormation short-form tag (`!Ref X` → `X`, `!Join [...]` → `[...]`); others as they are.
pub fn untagged(v: &serde_norway::Value) -> &serde_norway::Value {
    match v {
        serde_norway::Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

/// The real transactions the repository ships (`data/`, a sample of the ULB credit-card fraud data set; its
/// provenance, licence and citation are in `data/SOURCE.md`).
pub fn sample_data() -> PathBuf {
    repo_root().join("data/creditcard-sample-39960.csv.gz")
}

/// The committed model as another version: `model/`'s model and reference with `version` (and, if given,
/// another threshold) in the card, so the card's sha256s still match — a second model for the registry.
pub fn committed_model_as(version: &str, threshold: Option<f64>) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let model = repo_root().join("model");
    for name in ["model.onnx", "reference.csv.gz", "trees.json"] {
        std::fs::copy(model.join(name), dir.path().join(name))?;
    }
    let mut card: serde_json::Value = serde_json::from_slice(&std::fs::read(model.join("card.json"))?)?;
    card["version"] = version.into();
    if let Some(threshold) = threshold {
        card["threshold"] = threshold.into();
    }
    std::fs::write(dir.path().join("card.json"), serde_json::to_vec_pretty(&card)?)?;
    Ok(dir)
}

/// Finds an executable on PATH, in `.venv/bin` or in `~/.cargo/bin`.
pub fn find_binary(name: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.push(repo_root().join(".venv/bin"));
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("`{name}` not found on PATH, in .venv/bin or ~/.cargo/bin: run scripts/bootstrap"))
}

/// The TCP port `pid` (or one of its descendants) listens on, once it does: servers are started on port 0 and
/// the kernel's choice is read back from /proc, so no other process can take the port between a pick and the
/// server's bind.
pub async fn listening_port(pid: u32, timeout: Duration) -> Result<u16> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(port) = listening_ports_of_tree(pid)?.into_iter().min() {
            return Ok(port);
        }
        if Instant::now() > deadline {
            bail!("process {pid} did not listen on a TCP port within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn listening_ports_of_tree(root: u32) -> Result<Vec<u16>> {
    use procfs::net::TcpState;
    use procfs::process::FDTarget;
    let mut pids = vec![root as i32];
    // Descendants too: some servers (cargo lambda watch) listen in a child.
    if let Ok(all) = procfs::process::all_processes() {
        let parents: Vec<(i32, i32)> =
            all.filter_map(|p| p.ok()).filter_map(|p| p.stat().ok()).map(|s| (s.pid, s.ppid)).collect();
        let mut i = 0;
        while i < pids.len() {
            let parent = pids[i];
            pids.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
            i += 1;
        }
    }
    let mut inodes = std::collections::HashSet::new();
    for pid in pids {
        let Ok(process) = procfs::process::Process::new(pid) else { continue };
        let Ok(fds) = process.fd() else { continue };
        inodes.extend(fds.filter_map(|fd| fd.ok()).filter_map(|fd| match fd.target {
            FDTarget::Socket(inode) => Some(inode),
            _ => None,
        }));
    }
    let table = procfs::net::tcp().context("reading /proc/net/tcp")?;
    Ok(table
        .into_iter()
        .filter(|entry| entry.state == TcpState::Listen && inodes.contains(&entry.inode))
        .map(|entry| entry.local_address.port())
        .collect())
}

/// A TCP server that accepts every connection and never answers: a stalled dependency (a hung process, a
/// black-holing load balancer), which a killed server (connection refused) does not reproduce.
pub struct StalledServer {
    port: u16,
    _accepting: std::thread::JoinHandle<()>,
}

impl StalledServer {
    pub fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let accepting = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream); // kept open, never read or written
            }
        });
        Ok(StalledServer { port, _accepting: accepting })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A child process that is killed when dropped.
pub struct ServerProcess {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with its output in a log file under `log_dir`, then waits until `ready_url`
    /// answers with a success status.
    pub async fn start(name: &str, command: Command, log_dir: &Path, ready_url: &str) -> Result<Self> {
        let mut server = Self::spawn(name, command, log_dir)?;
        server.wait_ready(ready_url, Duration::from_secs(30)).await?;
        Ok(server)
    }

    /// Starts `command` (which makes the server listen on port 0), reads back the port it got, and waits until
    /// `ready_path` answers with a success status there.
    pub async fn start_on_any_port(
        name: &str,
        command: Command,
        log_dir: &Path,
        ready_path: &str,
    ) -> Result<(Self, u16)> {
        let mut server = Self::spawn(name, command, log_dir)?;
        let pid = server.pid().context("just spawned")?;
        let port = listening_port(pid, Duration::from_secs(30))
            .await
            .with_context(|| format!("{name}; log:\n{}", server.log_tail()))?;
        server.wait_ready(&format!("http://127.0.0.1:{port}{ready_path}"), Duration::from_secs(30)).await?;
        Ok((server, port))
    }

    /// Starts `command` with its output in a log file under `log_dir`, without waiting for it.
    pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Result<Self> {
        let log = log_dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(ServerProcess { name: name.to_string(), child: Some(child), log })
    }

    /// Polls `url` until it answers with a success status.
    pub async fn wait_ready(&mut self, url: &str, timeout: Duration) -> Result<()> {
        self.wait_until(url, timeout, |status| status.is_success()).await
    }

    /// Polls `url` until it answers at all (any HTTP status).
    pub async fn wait_ready_any_status(&mut self, url: &str, timeout: Duration) -> Result<()> {
        self.wait_until(url, timeout, |_| true).await
    }

    /// Polls `url` until its answer's status passes `ready`; fails early, with the log's tail, if the server exits.
    pub async fn wait_until(
        &mut self,
        url: &str,
        timeout: Duration,
        ready: fn(reqwest::StatusCode) -> bool,
    ) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("{} exited ({status}) before answering; log:\n{}", self.name, self.log_tail());
            }
            if let Ok(r) = http.get(url).timeout(Duration::from_secs(1)).send().await {
                if ready(r.status()) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("{} did not answer {url} within {timeout:?}; log:\n{}", self.name, self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines the server printed.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes the server (SIGSTOP): connections are still accepted by the kernel but nothing answers, as when
    /// a dependency stalls instead of failing.
    pub fn freeze(&self) -> Result<()> {
        self.signal("-STOP")
    }

    /// Resumes a frozen server (SIGCONT).
    pub fn thaw(&self) -> Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("the server is not running")?;
        let status = Command::new("kill").args([signal, &pid.to_string()]).status()?;
        anyhow::ensure!(status.success(), "kill {signal} {pid} failed");
        Ok(())
    }

    /// Lets the server outlive this handle (and this process): a long-lived stack, stopped by its pid later.
    /// Returns the pid.
    pub fn detach(mut self) -> Option<u32> {
        self.child.take().map(|child| child.id())
    }

    /// Kills the server (SIGKILL: an abrupt failure, as in an outage).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SDK configuration for a local endpoint, with fast-failing retries and timeouts so outage tests
/// finish quickly.
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_as(endpoint, ACCESS_KEY, SECRET_KEY)
}

/// [`sdk_config`] with other static credentials (the local stack's own).
pub fn sdk_config_as(endpoint: &str, access_key: &str, secret_key: &str) -> aws_config::SdkConfig {
    let credentials = aws_sdk_s3::config::Credentials::new(access_key, secret_key, None, None, "fraudwatch-tests");
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(credentials))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                // moto serves one request at a time on these two cores: a receive can wait behind dozens of sends.
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .build()
}

/// An S3 client on `endpoint` with a production time budget, built as the functions build theirs
/// (`fraudwatch_core::aws::s3_client`): for the tests of what the budgets do against stalled servers.
pub fn budgeted_s3(endpoint: &str, budget: fraudwatch_core::aws::CallBudget) -> aws_sdk_s3::Client {
    fraudwatch_core::aws::s3_client(&sdk_config(endpoint), &[("S3_FORCE_PATH_STYLE", "true")], budget)
        .expect("a valid S3_FORCE_PATH_STYLE")
}

/// Each record's S3 object as the per-prediction logger writes it: (key, body).
pub fn log_objects(records: &[fraudwatch_core::log_record::PredictionLogRecord]) -> Vec<(String, Vec<u8>)> {
    records.iter().map(|r| (r.s3_key(), r.encode())).collect()
}

/// `s3s-fs` serving a temporary directory. Restartable on the same port and data, for outage tests.
pub struct S3Server {
    process: Option<ServerProcess>,
    port: u16,
    data: tempfile::TempDir,
    logs: tempfile::TempDir,
}

impl S3Server {
    /// Starts on a port the kernel picks; restarts reuse it.
    pub async fn start() -> Result<Self> {
        let mut s = S3Server { process: None, port: 0, data: tempfile::tempdir()?, logs: tempfile::tempdir()? };
        s.restart().await?;
        Ok(s)
    }

    /// The server process (to freeze it).
    pub fn process(&self) -> &ServerProcess {
        self.process.as_ref().expect("the server is running")
    }

    /// Turns the object `key` into a named pipe on disk: s3s-fs still lists it, and its GET never answers — one
    /// object whose read stalls while the rest of the bucket answers.
    pub fn stall_reads_of(&self, bucket: &str, key: &str) -> Result<()> {
        let path = self.data.path().join(bucket).join(key);
        std::fs::remove_file(&path).with_context(|| format!("{}", path.display()))?;
        let made = Command::new("mkfifo").arg(&path).status()?;
        anyhow::ensure!(made.success(), "mkfifo {} failed", path.display());
        Ok(())
    }

    /// Turns the object `key` into a dangling link on disk: s3s-fs still lists it, and its GET answers NoSuchKey —
    /// an object deleted between a reader's listing and its read (a lifecycle expiration), which S3 produces only
    /// by timing.
    pub fn delete_after_listing(&self, bucket: &str, key: &str) -> Result<()> {
        let path = self.data.path().join(bucket).join(key);
        std::fs::remove_file(&path).with_context(|| format!("{}", path.display()))?;
        std::os::unix::fs::symlink("/nonexistent/fraudwatch-test", &path)?;
        Ok(())
    }

    /// `s3s-fs` serving `data` on `port` (0: the kernel picks), checking SigV4 against the one key pair.
    pub fn command(port: u16, data: &Path, access_key: &str, secret_key: &str) -> Result<Command> {
        let mut cmd = Command::new(find_binary("s3s-fs")?);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", access_key, "--secret-key", secret_key])
            .arg(data);
        Ok(cmd)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A real S3 client for this server (path-style, as local servers need).
    pub fn client(&self) -> aws_sdk_s3::Client {
        s3_client(&sdk_config(&self.endpoint()))
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        self.client().create_bucket().bucket(bucket).send().await.context("CreateBucket")?;
        Ok(())
    }

    /// A fresh server with `bucket` holding `objects` (key, body), written 64 at a time.
    pub async fn with_objects(bucket: &str, objects: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let s3 = S3Server::start().await?;
        s3.create_bucket(bucket).await?;
        let client = s3.client();
        for chunk in objects.chunks(64) {
            let mut puts = tokio::task::JoinSet::new();
            for (key, body) in chunk.iter().cloned() {
                let put = client.put_object().bucket(bucket).key(key).body(body.into());
                puts.spawn(put.send());
            }
            while let Some(put) = puts.join_next().await {
                put?.context("PutObject")?;
            }
        }
        Ok(s3)
    }

    /// Every key in the bucket under `prefix`, sorted.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        bucket_keys(&self.client(), bucket, prefix).await
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// Kills the server abruptly; the data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    /// (Re)starts the server on the same port and data.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        let mut cmd = Self::command(self.port, self.data.path(), ACCESS_KEY, SECRET_KEY)?;
        // s3s-fs answers an unauthenticated GET / with 403; readiness is "the port accepts", checked by
        // a signed ListBuckets.
        let log = self.logs.path().join("s3s-fs.log");
        let out = std::fs::File::create(&log)?;
        let child = cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).spawn().context("starting s3s-fs")?;
        let pid = child.id();
        self.process = Some(ServerProcess { name: "s3s-fs".into(), child: Some(child), log });
        if self.port == 0 {
            self.port = listening_port(pid, Duration::from_secs(30)).await?;
        }
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.list_buckets().send().await.is_err() {
            if Instant::now() > deadline {
                bail!("s3s-fs did not answer within 30 s; log:\n{}", self.process.as_ref().unwrap().log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

/// A path-style S3 client (as local servers need) with `config`.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// Every key in `bucket` under `prefix`, sorted.
pub async fn bucket_keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        keys.extend(page.context("ListObjectsV2")?.contents().iter().filter_map(|o| o.key().map(String::from)));
    }
    keys.sort();
    Ok(keys)
}

/// moto's server, used for SQS.
pub struct SqsServer {
    process: ServerProcess,
    port: u16,
    _logs: tempfile::TempDir,
}

impl SqsServer {
    pub async fn start() -> Result<Self> {
        let logs = tempfile::tempdir()?;
        let (process, port) =
            ServerProcess::start_on_any_port("moto", Self::command(0)?, logs.path(), "/moto-api/").await?;
        Ok(SqsServer { process, port, _logs: logs })
    }

    /// moto's server on `port` (0: the kernel picks).
    pub fn command(port: u16) -> Result<Command> {
        let mut cmd = Command::new(find_binary("moto_server")?);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Ok(cmd)
    }

    /// The server process (to freeze it).
    pub fn process(&self) -> &ServerProcess {
        &self.process
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&sdk_config(&self.endpoint()))
    }

    /// Creates a queue (and optionally a DLQ it redrives to after `max_receive` receives); returns its URL.
    pub async fn create_queue(&self, name: &str, dlq: Option<(&str, u32)>) -> Result<String> {
        create_queue(&self.client(), name, dlq).await
    }

    pub fn kill(&mut self) {
        self.process.kill();
    }
}

/// Creates a queue (and optionally a DLQ it redrives to after `max_receive` receives); returns its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str, dlq: Option<(&str, u32)>) -> Result<String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut req = client.create_queue().queue_name(name);
    if let Some((dlq_name, max_receive)) = dlq {
        let dlq_url =
            client.create_queue().queue_name(dlq_name).send().await?.queue_url().unwrap_or_default().to_string();
        let attrs = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?;
        let arn = attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).cloned().unwrap_or_default();
        let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive}).to_string();
        req = req.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    Ok(req.send().await.context("CreateQueue")?.queue_url().unwrap_or_default().to_string())
}

/// Debian's Prometheus Pushgateway: plain HTTP ([`Pushgateway::start`]), or as a deployment runs it
/// ([`Pushgateway::start_secured`]).
pub struct Pushgateway {
    _process: ServerProcess,
    port: u16,
    _data: tempfile::TempDir,
    credentials: Option<GatewayCredentials>,
}

/// What a client of a secured Pushgateway needs: the basic-auth user and the CA that signed its certificate.
#[derive(Debug, Clone)]
pub struct GatewayCredentials {
    pub username: String,
    pub password: String,
    /// PEM.
    pub ca_certificate: String,
}

impl Pushgateway {
    pub async fn start() -> Result<Self> {
        let data = tempfile::tempdir()?;
        let (process, port) =
            ServerProcess::start_on_any_port("pushgateway", Self::command(0, "", &[])?, data.path(), "/-/ready")
                .await?;
        Ok(Pushgateway { _process: process, port, _data: data, credentials: None })
    }

    /// With TLS and basic auth from the gateway's own `--web.config.file`: a certificate for 127.0.0.1 signed by a
    /// CA made here, and `username` with a bcrypt hash of `password`.
    pub async fn start_secured(username: &str, password: &str) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let (ca_certificate, certificate, key) = certificate_for_loopback()?;
        let (cert_file, key_file) = (data.path().join("gateway.crt"), data.path().join("gateway.key"));
        std::fs::write(&cert_file, certificate)?;
        std::fs::write(&key_file, key)?;
        // The lowest bcrypt cost: the gateway checks the hash on every request of a test.
        let hash = bcrypt::hash(password, 4)?;
        let web_config = data.path().join("web.yml");
        std::fs::write(
            &web_config,
            format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  {username}: '{hash}'\n",
                cert_file.display(),
                key_file.display()
            ),
        )?;
        let flag = format!("--web.config.file={}", web_config.display());
        let process = ServerProcess::spawn("pushgateway", Self::command(0, "", &[&flag])?, data.path())?;
        let port = listening_port(process.pid().context("just spawned")?, Duration::from_secs(30))
            .await
            .with_context(|| format!("pushgateway; log:\n{}", process.log_tail()))?;
        let credentials = GatewayCredentials { username: username.into(), password: password.into(), ca_certificate };
        let gateway = Pushgateway { _process: process, port, _data: data, credentials: Some(credentials) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while gateway.get("/-/ready").await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "pushgateway not ready; log:\n{}", gateway._process.log_tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(gateway)
    }

    /// The gateway on `port` (0: the kernel picks), persisting to `persistence_file`.
    pub fn command(port: u16, persistence_file: &str, flags: &[&str]) -> Result<Command> {
        let mut cmd = Command::new(find_binary("prometheus-pushgateway")?);
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        // Debian's build persists to /var/lib/prometheus/pushgateway.data by default: every gateway would
        // start with the metrics earlier runs pushed. Empty = in memory only, so each test starts clean.
        cmd.arg(format!("--persistence.file={persistence_file}")).args(flags);
        Ok(cmd)
    }

    pub fn url(&self) -> String {
        let scheme = if self.credentials.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The credentials of a secured gateway.
    pub fn credentials(&self) -> Option<&GatewayCredentials> {
        self.credentials.as_ref()
    }

    /// The Pushgateway's `/metrics` page.
    pub async fn metrics_text(&self) -> Result<String> {
        self.get("/metrics").await
    }

    /// `GET path`, trusting the gateway's CA and authenticated when it is secured.
    async fn get(&self, path: &str) -> Result<String> {
        let mut http = reqwest::Client::builder();
        if let Some(c) = &self.credentials {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(c.ca_certificate.as_bytes())?);
        }
        let mut request = http.build()?.get(format!("{}{path}", self.url()));
        if let Some(c) = &self.credentials {
            request = request.basic_auth(&c.username, Some(&c.password));
        }
        Ok(request.send().await?.error_for_status()?.text().await?)
    }
}

/// A CA certificate, and a server certificate for 127.0.0.1 and localhost it signed, with the server's key: PEM.
fn certificate_for_loopback() -> Result<(String, String, String)> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "fraudwatch tests CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let server =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?.signed_by(&key, &ca)?;
    Ok((ca.pem(), server.pem(), key.serialize_pem()))
}

/// Debian's Prometheus, scraping a Pushgateway and evaluating rule files.
pub struct Prometheus {
    _process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `pushgateway_url` every `interval` and evaluating `rule_files` as often.
    pub async fn start(pushgateway_url: &str, rule_files: &[PathBuf], interval: Duration) -> Result<Self> {
        Self::start_sending_to(pushgateway_url, rule_files, interval, None).await
    }

    /// [`Prometheus::start`], sending the alerts to the Alertmanager at `alertmanager_url` if one is given.
    pub async fn start_sending_to(
        pushgateway_url: &str,
        rule_files: &[PathBuf],
        interval: Duration,
        alertmanager_url: Option<&str>,
    ) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let target = pushgateway_url.trim_start_matches("http://");
        let secs = format!("{}s", interval.as_secs().max(1));
        let rules: Vec<String> = rule_files.iter().map(|p| format!("  - {}", p.display())).collect();
        let mut config = format!(
            "global:\n  scrape_interval: {secs}\n  evaluation_interval: {secs}\nrule_files:\n{}\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n",
            rules.join("\n")
        );
        if let Some(url) = alertmanager_url {
            let target = url.trim_start_matches("http://");
            config += &format!("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{target}']\n");
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config)?;
        let cmd = Self::command(&config_path, &dir.path().join("data"), 0)?;
        let (process, port) = ServerProcess::start_on_any_port("prometheus", cmd, dir.path(), "/-/ready").await?;
        Ok(Prometheus { _process: process, port, _dir: dir })
    }

    /// Prometheus with `config`, its database in `data`, on `port` (0: the kernel picks).
    pub fn command(config: &Path, data: &Path, port: u16) -> Result<Command> {
        let mut cmd = Command::new(find_binary("prometheus")?);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        Ok(cmd)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The alerts Prometheus currently reports (`/api/v1/alerts`).
    pub async fn alerts(&self) -> Result<Vec<Alert>> {
        prometheus_alerts(&self.url()).await
    }

    /// The alerts once Prometheus has seen a push: waits until `query` returns `expected` (the push was
    /// scraped), then until every rule group has been evaluated after that scrape — a condition, not a sleep.
    pub async fn alerts_after(&self, query: &str, expected: f64, timeout: Duration) -> Result<Vec<Alert>> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        let seen_at = loop {
            let v: serde_json::Value = http
                .get(format!("{}/api/v1/query", self.url()))
                .query(&[("query", query)])
                .send()
                .await?
                .json()
                .await?;
            let sample = &v["data"]["result"][0]["value"];
            if sample[1].as_str().and_then(|x| x.parse::<f64>().ok()) == Some(expected) {
                break sample[0].as_f64().context("a sample time")?;
            }
            anyhow::ensure!(Instant::now() < deadline, "Prometheus never saw {query} = {expected}: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        loop {
            let v: serde_json::Value = http.get(format!("{}/api/v1/rules", self.url())).send().await?.json().await?;
            let groups = v["data"]["groups"].as_array().context("no data.groups")?;
            let evaluated_after = groups.iter().all(|g| {
                g["lastEvaluation"]
                    .as_str()
                    .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
                    .is_some_and(|t| t.unix_timestamp_nanos() as f64 / 1e9 > seen_at)
            });
            if evaluated_after {
                return self.alerts().await;
            }
            anyhow::ensure!(Instant::now() < deadline, "the rules were not evaluated after the scrape: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The alerts the Prometheus at `url` currently reports (`/api/v1/alerts`).
pub async fn prometheus_alerts(url: &str) -> Result<Vec<Alert>> {
    let v: serde_json::Value = reqwest::get(format!("{url}/api/v1/alerts")).await?.json().await?;
    let alerts = v["data"]["alerts"].as_array().context("no data.alerts")?;
    Ok(alerts
        .iter()
        .map(|a| Alert {
            name: a["labels"]["alertname"].as_str().unwrap_or_default().to_string(),
            state: a["state"].as_str().unwrap_or_default().to_string(),
            labels: serde_json::from_value(a["labels"].clone()).unwrap_or_default(),
            annotations: serde_json::from_value(a["annotations"].clone()).unwrap_or_default(),
        })
        .collect())
}

/// One alert as Prometheus (or Alertmanager) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub name: String,
    /// `pending` or `firing`.
    pub state: String,
    pub labels: std::collections::BTreeMap<String, String>,
    /// `summary`, `description`, `runbook_url`, as Prometheus rendered them.
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// `n` realistic prediction-log records, one every `spacing` from `start`: the features of real held-out
/// transactions (`model/parity.csv`, cycled) with the trainer's probability for each, decided at the
/// model card's threshold, and a UUIDv7 made at the record's own timestamp, as predict does.
pub fn prediction_records(
    n: usize,
    start: time::OffsetDateTime,
    spacing: time::Duration,
) -> Result<Vec<fraudwatch_core::log_record::PredictionLogRecord>> {
    use fraudwatch_core::test_util::LogRecordBuilder;

    let card = fraudwatch_core::card::ModelCard::from_json(&std::fs::read(repo_root().join("model/card.json"))?)?;
    let rows = fraudwatch_traffic::read_parity_rows()?;
    Ok((0..n)
        .map(|i| {
            let row = &rows[i % rows.len()];
            LogRecordBuilder::at(start + spacing * i as u32)
                .request_id(format!("req-{}", i / 10))
                .model_version(card.version.clone())
                .features(row.transaction.features)
                .scored(row.expected_probability as f32, card.threshold)
                .latency_us(40 + (i as u64 % 25))
                .transaction_id(format!("tx-{i:06}"))
                .build()
        })
        .collect())
}

/// `fraudctl` (the binary at `path`, i.e. `env!("CARGO_BIN_EXE_fraudctl")`) configured only through the environment
/// an operator sets, pointing at `s3`, with nothing read from the user's AWS files.
pub fn fraudctl_against(path: &str, s3: &S3Server) -> Command {
    let mut command = Command::new(path);
    command
        .env_clear()
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("S3_FORCE_PATH_STYLE", "true")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

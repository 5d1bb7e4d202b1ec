//! Where alerts reach a person: Debian's Prometheus Alertmanager running the repository's own
//! `infra/prometheus/alertmanager.yml`, delivering by e-mail to a real SMTP server (PyPI's `aiosmtpd`) that
//! writes every message it receives into a maildir.
//!
//! The checked-in configuration is made runnable here by [`local_alertmanager_config`], which the local
//! stack (`scripts/up`, through the `local-stack` binary) uses too, with [`local_prometheus_config`]: routing, grouping,
//! inhibition, receivers and templates stay as committed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_norway::Value;

use crate::{find_binary, listening_port, repo_root, ServerProcess};

/// How long Alertmanager waits before a group's first notification and between its updates, locally. The
/// committed waits (10 s to 10 min) batch a drift-check run's alerts into one mail for a person; here a
/// test, or someone watching `scripts/up --incident`, waits for the mail.
pub const LOCAL_GROUP_WAIT: &str = "1s";
pub const LOCAL_GROUP_INTERVAL: &str = "2s";

/// The checked-in Alertmanager configuration, made runnable on this machine: every e-mail receiver delivers to
/// `smtp` (`host:port`, plain SMTP: a local server has no certificate), the SNS receivers are dropped (no AWS
/// here), templates are found by absolute path, and group waits and intervals are the local ones above.
pub fn local_alertmanager_config(smtp: &str) -> Result<String> {
    let dir = repo_root().join("infra/prometheus");
    let path = dir.join("alertmanager.yml");
    let mut config: Value = serde_norway::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("{} is not YAML", path.display()))?;

    // Alertmanager reads template globs relative to the configuration file, which is written elsewhere.
    if let Some(Value::Sequence(templates)) = config.get_mut("templates") {
        for template in templates.iter_mut() {
            let relative = template.as_str().context("templates: a path")?;
            *template = Value::from(dir.join(relative).to_string_lossy().into_owned());
        }
    }
    let receivers = config.get_mut("receivers").and_then(Value::as_sequence_mut).context("no receivers")?;
    for receiver in receivers.iter_mut() {
        let receiver = receiver.as_mapping_mut().context("a receiver is a mapping")?;
        receiver.remove("sns_configs");
        if let Some(Value::Sequence(emails)) = receiver.get_mut("email_configs") {
            for email in emails.iter_mut().filter_map(Value::as_mapping_mut) {
                email.insert("smarthost".into(), smtp.into());
                email.insert("require_tls".into(), false.into());
            }
        }
    }
    set_local_timing(config.get_mut("route").context("no route")?);
    Ok(serde_norway::to_string(&config)?)
}

/// The checked-in `infra/prometheus/prometheus.yml` made runnable on this machine: its rule files found by absolute
/// path (the configuration is written elsewhere), scraped and evaluated every `interval` instead of every 30 s so
/// that someone watching `scripts/up --incident` sees the alert soon after the push. Targets stay as committed.
pub fn local_prometheus_config(interval: Duration) -> Result<String> {
    let dir = repo_root().join("infra/prometheus");
    let path = dir.join("prometheus.yml");
    let mut config: Value = serde_norway::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("{} is not YAML", path.display()))?;
    let every = format!("{}s", interval.as_secs().max(1));
    let global = config.get_mut("global").and_then(Value::as_mapping_mut).context("no global")?;
    global.insert("scrape_interval".into(), every.clone().into());
    global.insert("evaluation_interval".into(), every.into());
    let rule_files = config.get_mut("rule_files").and_then(Value::as_sequence_mut).context("no rule_files")?;
    for rule_file in rule_files.iter_mut() {
        let relative = rule_file.as_str().context("rule_files: a path")?;
        *rule_file = Value::from(dir.join(relative).to_string_lossy().into_owned());
    }
    Ok(serde_norway::to_string(&config)?)
}

/// Sets the local group wait and interval on `route` and every route below it (each may set its own).
fn set_local_timing(route: &mut Value) {
    if let Some(route) = route.as_mapping_mut() {
        route.insert("group_wait".into(), LOCAL_GROUP_WAIT.into());
        route.insert("group_interval".into(), LOCAL_GROUP_INTERVAL.into());
        if let Some(Value::Sequence(children)) = route.get_mut("routes") {
            children.iter_mut().for_each(set_local_timing);
        }
    }
}

/// The e-mail addresses the checked-in configuration sends `receiver`'s notifications to.
pub fn receiver_addresses(receiver: &str) -> Result<Vec<String>> {
    let config: Value =
        serde_norway::from_str(&std::fs::read_to_string(repo_root().join("infra/prometheus/alertmanager.yml"))?)?;
    let found = config["receivers"]
        .as_sequence()
        .context("no receivers")?
        .iter()
        .find(|r| r["name"].as_str() == Some(receiver))
        .with_context(|| format!("no receiver {receiver} in alertmanager.yml"))?;
    let addresses = found["email_configs"].as_sequence().map(Vec::as_slice).unwrap_or_default();
    Ok(addresses.iter().filter_map(|e| e["to"].as_str().map(String::from)).collect())
}

/// The absolute runbook link a notification shows for an alert's `runbook_url` annotation: the notification
/// template's `fraudwatch.runbook_base` followed by the annotation (a repository path such as
/// `docs/runbook.md#fraudratespike`).
pub fn runbook_link(runbook_url: &str) -> Result<String> {
    let path = repo_root().join("infra/prometheus/alertmanager-templates/fraudwatch.tmpl");
    let template = std::fs::read_to_string(&path)?;
    let start = r#"{{ define "fraudwatch.runbook_base" }}"#;
    let base = template
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once("{{ end }}"))
        .map(|(base, _)| base)
        .with_context(|| format!("no fraudwatch.runbook_base in {}", path.display()))?;
    Ok(format!("{base}{runbook_url}"))
}

/// One e-mail as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The maildir file holding it.
    pub path: PathBuf,
    /// When it landed (the file's modification time).
    pub received: std::time::SystemTime,
    pub subject: String,
    pub to: Vec<String>,
    /// The text/plain part, decoded.
    pub text: String,
    /// The text/html part, decoded.
    pub html: String,
}

impl Mail {
    /// Parses one message file (RFC 5322, MIME: Alertmanager sends multipart/alternative, quoted-printable).
    pub fn read(path: &Path) -> Result<Mail> {
        let raw = std::fs::read(path)?;
        let message = mail_parser::MessageParser::default()
            .parse(&raw)
            .with_context(|| format!("{} is not an e-mail", path.display()))?;
        let to = message
            .to()
            .map(|to| to.iter().filter_map(|a| a.address().map(String::from)).collect())
            .unwrap_or_default();
        Ok(Mail {
            path: path.to_path_buf(),
            received: std::fs::metadata(path)?.modified()?,
            subject: message.subject().unwrap_or_default().to_string(),
            to,
            text: message.body_text(0).unwrap_or_default().into_owned(),
            html: message.body_html(0).unwrap_or_default().into_owned(),
        })
    }
}

/// A real SMTP server on 127.0.0.1 (`aiosmtpd` with its `Mailbox` handler): accepts every message and writes it
/// into a maildir, one file per message.
pub struct SmtpServer {
    _process: ServerProcess,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    pub async fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let process = ServerProcess::spawn("aiosmtpd", Self::command(0, &dir.path().join("maildir"))?, dir.path())?;
        // It listens once it is ready to take mail.
        let port = listening_port(process.pid().context("just spawned")?, Duration::from_secs(30))
            .await
            .with_context(|| format!("aiosmtpd; log:\n{}", process.log_tail()))?;
        Ok(SmtpServer { _process: process, port, dir })
    }

    /// `aiosmtpd` on `port` (0: the kernel picks), writing into the maildir `maildir`.
    pub fn command(port: u16, maildir: &Path) -> Result<Command> {
        let mut cmd = Command::new(find_binary("aiosmtpd")?);
        // -n: do not try to drop privileges to `nobody`.
        cmd.args(["-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"]).arg(maildir);
        Ok(cmd)
    }

    /// `127.0.0.1:<port>`, as Alertmanager's `smarthost` names it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the messages land (a maildir: new messages in `new/`).
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Result<Vec<Mail>> {
        maildir_messages(&self.maildir())
    }

    /// The first message that `wanted` accepts among those after the first `after` received, once it has arrived.
    pub async fn wait_for(
        &self,
        what: &str,
        after: usize,
        timeout: Duration,
        wanted: impl Fn(&Mail) -> bool,
    ) -> Result<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages()?;
            if let Some(mail) = messages.iter().skip(after).find(|m| wanted(m)) {
                return Ok(mail.clone());
            }
            if Instant::now() > deadline {
                let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
                bail!("no e-mail {what} within {timeout:?}; received: {subjects:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every message in `maildir`, oldest first.
pub fn maildir_messages(maildir: &Path) -> Result<Vec<Mail>> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else { continue };
        for entry in entries {
            let entry = entry?;
            files.push((entry.metadata()?.modified()?, entry.path()));
        }
    }
    files.sort();
    files.iter().map(|(_, path)| Mail::read(path)).collect()
}

/// Debian's Prometheus Alertmanager with the checked-in configuration ([`local_alertmanager_config`]),
/// delivering to `smtp`.
pub struct Alertmanager {
    _process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    pub async fn start(smtp: &SmtpServer) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, local_alertmanager_config(&smtp.address())?)?;
        let cmd = Self::command(&config, &dir.path().join("data"), 0)?;
        let (process, port) = ServerProcess::start_on_any_port("alertmanager", cmd, dir.path(), "/-/ready").await?;
        Ok(Alertmanager { _process: process, port, _dir: dir })
    }

    /// Alertmanager with `config`, its state in `storage`, on `port` (0: the kernel picks).
    pub fn command(config: &Path, storage: &Path, port: u16) -> Result<Command> {
        let mut cmd = Command::new(find_binary("prometheus-alertmanager")?);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // A single instance: no gossip port.
            .arg("--cluster.listen-address=");
        Ok(cmd)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Hands alerts to Alertmanager as Prometheus does (`POST /api/v2/alerts`, a JSON array of
    /// `{labels, annotations}`).
    pub async fn post_alerts(&self, alerts: &serde_json::Value) -> Result<()> {
        let http = reqwest::Client::new();
        http.post(format!("{}/api/v2/alerts", self.url())).json(alerts).send().await?.error_for_status()?;
        Ok(())
    }

    /// The alerts Alertmanager holds (`GET /api/v2/alerts`), with their `status` (`state`, `inhibitedBy`).
    pub async fn alerts(&self) -> Result<Vec<serde_json::Value>> {
        let v: serde_json::Value = reqwest::get(format!("{}/api/v2/alerts", self.url())).await?.json().await?;
        Ok(v.as_array().context("an array of alerts")?.clone())
    }
}

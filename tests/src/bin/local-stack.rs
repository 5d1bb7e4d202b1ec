//! The local stack behind `scripts/up`: the servers of the test harness ([`fraudwatch_tests`]), started on fixed
//! ports in one directory and left running (each in its own process group, its pid in `<name>.pid`), the three
//! functions under `cargo lambda watch`, the SQS event source, then real traffic, labels, a drift check, and for an
//! incident its alert firing and its e-mail landing. `scripts/up` installs and builds, then runs this.
//!
//! `local-stack [--rows N]` · `local-stack --incident distribution-shift|fraud-spike|concept-drift [--rows N]` ·
//! `local-stack --stop`

use std::cell::Cell;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use fraudwatch_core::config::{optional, ProcessEnv};
use fraudwatch_tests::alerting::{
    local_alertmanager_config, local_prometheus_config, maildir_messages, Alertmanager, SmtpServer,
};
use fraudwatch_tests::lambda_emulator::{self, LambdaEmulator};
use fraudwatch_tests::{
    bucket_keys, create_queue, listening_port, prometheus_alerts, s3_client, sdk_config_as, Prometheus, Pushgateway,
    S3Server, ServerProcess, SqsServer, REGION,
};
use serde_json::Value;

const S3_PORT: u16 = 9100;
const SQS_PORT: u16 = 9101;
const PUSHGATEWAY_PORT: u16 = 9091;
const PROMETHEUS_PORT: u16 = 9090;
const ALERTMANAGER_PORT: u16 = 9093;
const SMTP_PORT: u16 = 2525;
const LAMBDA_PORT: u16 = 9000;
const BUCKET: &str = "fraudwatch-local";
const ACCESS_KEY: &str = "fraudwatch-local";
const SECRET_KEY: &str = "fraudwatch-local-secret";
/// The local Prometheus scrapes and evaluates this often (the checked-in 30 s would keep someone waiting).
const PROMETHEUS_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Parser)]
#[command(about = "Start the local fraudwatch stack, replay an incident on it, or stop it (scripts/up)")]
struct Args {
    /// Real transactions to replay.
    #[arg(long, default_value_t = 2000)]
    rows: usize,
    /// On a running stack: replay an incident, run the drift check, wait until its alert fires and its e-mail lands.
    #[arg(long, value_enum)]
    incident: Option<Incident>,
    /// Stop everything the stack runs.
    #[arg(long, conflicts_with_all = ["rows", "incident"])]
    stop: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Incident {
    DistributionShift,
    FraudSpike,
    /// A new fraud pattern: its labels pushed; realized recall falls, no input-drift alert is written for it.
    ConceptDrift,
}

impl Incident {
    fn name(self) -> String {
        self.to_possible_value().expect("no variant is skipped").get_name().to_string()
    }

    /// The alert written for this incident (infra/prometheus/alerts.yml). The drift window is today's, so alerts of
    /// an earlier incident may still fire beside it: the stack waits for this one, not for any.
    fn alert(self) -> &'static str {
        match self {
            Incident::DistributionShift => "ImportantFeatureDrift",
            Incident::FraudSpike => "FraudRateSpike",
            Incident::ConceptDrift => "RealizedRecallLow",
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let stack = Stack::new();
    if args.stop {
        stack.stop_all();
        println!("fraudwatch stack stopped");
        return ExitCode::SUCCESS;
    }
    let run = async {
        match args.incident {
            Some(incident) => stack.incident(incident, args.rows).await,
            None => stack.up(args.rows).await,
        }
    };
    let outcome = tokio::select! {
        outcome = run => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let Err(failure) = outcome else { return ExitCode::SUCCESS };
    eprintln!("\x1b[31mfraudwatch up: {failure:#}\x1b[0m");
    // A failed start leaves nothing running; a failed incident leaves the stack up.
    if stack.started.get() {
        stack.stop_all();
        eprintln!("fraudwatch up: stopped the services this run started (their logs stay in {})", stack.dir.display());
    } else if stack.dir.join("lambda.pid").exists() {
        eprintln!("fraudwatch up: the stack is still running; scripts/up --stop stops it");
    }
    ExitCode::FAILURE
}

fn step(what: &str) {
    println!("\n\x1b[1m==> {what}\x1b[0m");
}

fn indented(text: &str) -> String {
    text.lines().map(|line| if line.is_empty() { "\n".into() } else { format!("  {line}\n") }).collect()
}

fn local(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

struct Stack {
    /// FRAUDWATCH_STACK_DIR, else $TMPDIR/fraudwatch-stack (fraudctl's hint names the same place).
    dir: PathBuf,
    /// The real transactions replayed: FRAUDWATCH_DATA, else the repository's sample.
    data: PathBuf,
    /// Set once this run starts services: a failure after that stops them again.
    started: Cell<bool>,
    http: reqwest::Client,
}

impl Stack {
    fn new() -> Self {
        let set = |name| optional(&ProcessEnv, name);
        let dir = set("FRAUDWATCH_STACK_DIR")
            .unwrap_or_else(|| format!("{}/fraudwatch-stack", set("TMPDIR").unwrap_or_else(|| "/tmp".into())));
        let data = set("FRAUDWATCH_DATA").map_or_else(fraudwatch_tests::sample_data, PathBuf::from);
        Stack { dir: dir.into(), data, started: Cell::new(false), http: reqwest::Client::new() }
    }

    fn bucket_dir(&self) -> PathBuf {
        self.dir.join("s3").join(BUCKET)
    }

    fn queue_url(&self) -> String {
        format!("{}/123456789012/prediction-log", local(SQS_PORT))
    }

    /// What fraudctl, the event source and the functions need to talk to this stack.
    fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ENDPOINT_URL_S3", local(S3_PORT)),
            ("AWS_ENDPOINT_URL_SQS", local(SQS_PORT)),
            ("S3_FORCE_PATH_STYLE", "true".into()),
        ]
    }

    /// A workspace binary built beside this one (fraudctl, local-event-source), with the stack's settings.
    fn tool(&self, name: &str) -> Result<Command> {
        let path = std::env::current_exe()?.with_file_name(name);
        ensure!(path.is_file(), "{} is not built: run scripts/up", path.display());
        let mut command = Command::new(path);
        command.envs(self.aws_env()).env("LOG_BUCKET", BUCKET);
        Ok(command)
    }

    /// Runs fraudctl with `args`; its standard output, or its error output as the failure.
    fn fraudctl(&self, args: &[&str]) -> Result<String> {
        let out = self.tool("fraudctl")?.args(args).stderr(Stdio::inherit()).output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        ensure!(out.status.success(), "fraudctl {} failed ({}): {stdout}", args.join(" "), out.status);
        Ok(stdout)
    }

    fn stop_all(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for pidfile in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            if pidfile.extension().is_none_or(|ext| ext != "pid") {
                continue;
            }
            if let Ok(pid) = std::fs::read_to_string(&pidfile) {
                let pid = pid.trim();
                // Each service runs in its own process group, so its children (cargo lambda's functions) stop too.
                let group = Command::new("kill").arg("--").arg(format!("-{pid}")).stderr(Stdio::null()).status();
                if !group.is_ok_and(|s| s.success()) {
                    let _ = Command::new("kill").arg(pid).stderr(Stdio::null()).status();
                }
            }
            let _ = std::fs::remove_file(&pidfile);
        }
    }

    /// Starts `command` as the service `name`, logging to `<name>.log`, its pid in `<name>.pid`, in its own process
    /// group: stopped as a group with its children, and untouched by a Ctrl-C meant for scripts/up. Ready once
    /// `ready` says so within `timeout`. The process outlives this one.
    async fn start(
        &self,
        name: &str,
        mut command: Command,
        shown: &str,
        ready: Ready,
        timeout: Duration,
    ) -> Result<()> {
        command.process_group(0);
        let mut process = ServerProcess::spawn(name, command, &self.dir)?;
        let pid = process.pid().context("just spawned")?;
        std::fs::write(self.dir.join(format!("{name}.pid")), pid.to_string())?;
        let log = self.dir.join(format!("{name}.log"));
        let waited = match ready {
            // s3s-fs answers an unsigned request with 403, which means up.
            Ready::Answers(url) => process.wait_until(&url, timeout, |status| status.as_u16() < 500).await,
            Ready::Listens(port) => match listening_port(pid, timeout).await {
                Ok(bound) if bound == port => Ok(()),
                Ok(bound) => Err(anyhow::anyhow!("{name} listens on {bound}, not {port}")),
                Err(e) => Err(e.context(process.log_tail())),
            },
            Ready::Serves(port) => LambdaEmulator::wait_until_serving(&mut process, port, timeout).await,
        };
        waited.with_context(|| format!("{name} did not start (log: {})", log.display()))?;
        process.detach();
        println!("  {name:<22} {shown}");
        Ok(())
    }

    async fn up(&self, rows: usize) -> Result<()> {
        ensure!(
            self.data.is_file(),
            "real transactions not found at {} (set FRAUDWATCH_DATA to the Kaggle-format CSV)",
            self.data.display()
        );
        self.stop_all();
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).with_context(|| format!("removing {}", self.dir.display()))?;
        }
        for sub in ["s3", "prometheus", "alertmanager"] {
            std::fs::create_dir_all(self.dir.join(sub))?;
        }
        self.started.set(true);
        let timeout =
            Duration::from_secs(optional(&ProcessEnv, "START_TIMEOUT").and_then(|t| t.parse().ok()).unwrap_or(60));

        step("starting servers on 127.0.0.1");
        let s3 = S3Server::command(S3_PORT, &self.dir.join("s3"), ACCESS_KEY, SECRET_KEY)?;
        self.start("s3", s3, &format!("{}/", local(S3_PORT)), Ready::Answers(format!("{}/", local(S3_PORT))), timeout)
            .await?;
        let moto = format!("{}/moto-api/", local(SQS_PORT));
        self.start("sqs", SqsServer::command(SQS_PORT)?, &moto, Ready::Answers(moto.clone()), timeout).await?;
        // Debian's build persists to a shared default file; the local stack keeps its own.
        let persistence = self.dir.join("pushgateway.db");
        let gateway = Pushgateway::command(PUSHGATEWAY_PORT, &persistence.to_string_lossy(), &[])?;
        let ready = format!("{}/-/ready", local(PUSHGATEWAY_PORT));
        self.start("pushgateway", gateway, &ready, Ready::Answers(ready.clone()), timeout).await?;
        // A real SMTP server writing every message into a maildir, and Alertmanager with the checked-in
        // configuration, its e-mail receivers pointed at that server (no SNS, short group waits).
        let smtp = SmtpServer::command(SMTP_PORT, &self.dir.join("mail"))?;
        self.start("smtp", smtp, &format!("smtp://127.0.0.1:{SMTP_PORT}"), Ready::Listens(SMTP_PORT), timeout).await?;
        let am_dir = self.dir.join("alertmanager");
        let am_config = am_dir.join("alertmanager.yml");
        std::fs::write(&am_config, local_alertmanager_config(&format!("127.0.0.1:{SMTP_PORT}"))?)
            .context("could not write the local Alertmanager configuration")?;
        let mut alertmanager = Alertmanager::command(&am_config, &am_dir.join("data"), ALERTMANAGER_PORT)?;
        alertmanager.arg(format!("--web.external-url={}", local(ALERTMANAGER_PORT)));
        let ready = format!("{}/-/ready", local(ALERTMANAGER_PORT));
        self.start("alertmanager", alertmanager, &ready, Ready::Answers(ready.clone()), timeout).await?;
        let prom_dir = self.dir.join("prometheus");
        let prom_config = prom_dir.join("prometheus.yml");
        std::fs::write(&prom_config, local_prometheus_config(PROMETHEUS_INTERVAL)?)?;
        let prometheus = Prometheus::command(&prom_config, &prom_dir.join("data"), PROMETHEUS_PORT)?;
        let ready = format!("{}/-/ready", local(PROMETHEUS_PORT));
        self.start("prometheus", prometheus, &ready, Ready::Answers(ready.clone()), timeout).await?;

        step("creating the bucket and the queue (+ DLQ)");
        let s3 = s3_client(&sdk_config_as(&local(S3_PORT), ACCESS_KEY, SECRET_KEY));
        let location = aws_sdk_s3::types::BucketLocationConstraint::from(REGION);
        let placed = aws_sdk_s3::types::CreateBucketConfiguration::builder().location_constraint(location).build();
        s3.create_bucket().bucket(BUCKET).create_bucket_configuration(placed).send().await.context("CreateBucket")?;
        let sqs = aws_sdk_sqs::Client::new(&sdk_config_as(&local(SQS_PORT), ACCESS_KEY, SECRET_KEY));
        let queue_url = create_queue(&sqs, "prediction-log", Some(("prediction-log-dlq", 5))).await?;
        ensure!(queue_url == self.queue_url(), "moto named the queue {queue_url}, not {}", self.queue_url());
        println!("  s3://{BUCKET}, {queue_url}");
        // What fraudctl needs to talk to this stack, for an operator's shell: set -a; . <dir>/fraudctl.env; set +a
        let settings: String = self
            .aws_env()
            .into_iter()
            .chain([("LOG_BUCKET", BUCKET.to_string())])
            .map(|(name, value)| format!("{name}={value}\n"))
            .collect();
        std::fs::write(self.dir.join("fraudctl.env"), settings)?;

        step("starting the Lambda functions (cargo lambda watch; the first start compiles them)");
        let mut env = self.aws_env();
        env.extend([
            ("PREDICTION_LOG_QUEUE_URL", queue_url.clone()),
            ("LOG_BUCKET", BUCKET.into()),
            ("PUSHGATEWAY_URL", local(PUSHGATEWAY_PORT)),
            ("ORT_DYLIB_PATH", env!("ORT_DYLIB_PATH").into()),
            ("RUST_LOG", "info".into()),
        ]);
        let watch = LambdaEmulator::command(LAMBDA_PORT, &env)?;
        let health = format!("{}/lambda-url/predict/health", local(LAMBDA_PORT));
        self.start("lambda", watch, &health, Ready::Serves(LAMBDA_PORT), Duration::from_secs(900)).await?;
        let mut event_source = self.tool("local-event-source")?;
        event_source.args(["--queue-url", &queue_url, "--function", "prediction-logger", "--lambda-api"]);
        event_source.arg(local(LAMBDA_PORT)).process_group(0);
        let process = ServerProcess::spawn("event-source", event_source, &self.dir)?;
        std::fs::write(self.dir.join("event-source.pid"), process.detach().context("just spawned")?.to_string())?;
        println!("  event source           {queue_url} -> prediction-logger");

        step(&format!("replaying {rows} real transactions through POST /predict"));
        let summary = self.replay(rows, None)?;
        let number = |name: &str| summary[name].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {} of {} scored (200); true frauds sent {}, flagged {}; p50 {:.1} ms, p99 {:.1} ms",
            summary["ok"],
            summary["sent"],
            summary["true_frauds_sent"],
            summary["flagged_as_fraud"],
            number("latency_ms_p50"),
            number("latency_ms_p99")
        );
        for prediction in summary["sample_predictions"].as_array().into_iter().flatten().take(3) {
            println!("   {prediction}");
        }
        let ok = scored(&summary)?;
        self.record_run("replay", ok)?;

        step("waiting until every prediction is an S3 object (SQS -> prediction-logger -> S3)");
        self.wait_for_logs(&s3, ok).await?;
        println!(
            "  {ok} objects for {ok} predictions under s3://{BUCKET}/prediction-logs/ (files: {}/prediction-logs)",
            self.bucket_dir().display()
        );
        print!("{}", indented(&self.fraudctl(&["logs", "summary", "--bucket", BUCKET, "--hours", "1"])?));

        step("pushing the replay's true labels (fraudctl labels push; POST /labels takes the same records)");
        self.push_labels("replay")?;

        let report = self.drift_check().await?;
        self.show_pushgateway().await?;
        let html = self.bucket_dir().join(report["report"]["html_key"].as_str().context("no report.html_key")?);

        step("fraudwatch is up");
        let (lambda, pgw, am, stack) =
            (local(LAMBDA_PORT), local(PUSHGATEWAY_PORT), local(ALERTMANAGER_PORT), self.dir.display());
        print!(
            "  demo page           {lambda}/lambda-url/predict/
  predict API         curl -H 'content-type: application/json' -d @tx.json {lambda}/lambda-url/predict/predict
  prediction logs     s3://{BUCKET}/prediction-logs/  (files under {stack}/s3/{BUCKET})  ·  fraudctl logs list --bucket {BUCKET} --hours 1
  drift report (HTML) {html}
  Pushgateway         {pgw}/metrics
  Prometheus alerts   {alerts}
  Alertmanager        {am}  (routes: infra/prometheus/alertmanager.yml)
  alert e-mails       {stack}/mail/new/  (SMTP 127.0.0.1:{SMTP_PORT}; one file per message)
  logs of everything  {stack}/*.log
  make an alert fire  scripts/up --incident distribution-shift   (or fraud-spike, or concept-drift: labels only)
  stop it all         scripts/up --stop
  fraudctl settings   set -a; . {stack}/fraudctl.env; set +a   (local endpoints, credentials, bucket)
",
            html = html.display(),
            alerts = self.prometheus_alerts_page().await,
        );
        self.started.set(false);
        Ok(())
    }

    async fn incident(&self, incident: Incident, rows: usize) -> Result<()> {
        ensure!(self.dir.join("lambda.pid").exists(), "the stack is not running: run scripts/up first");
        let (name, expected) = (incident.name(), incident.alert());
        step(&format!("incident: {name} ({rows} real transactions)"));
        let s3 = s3_client(&sdk_config_as(&local(S3_PORT), ACCESS_KEY, SECRET_KEY));
        let before = self.log_objects(&s3).await?;
        let ok = scored(&self.replay(rows, Some(&name))?)?;
        println!("  {ok} of {rows} scored (200)");
        self.record_run(&name, ok)?;
        self.wait_for_logs(&s3, before + ok).await?;
        step("pushing the true labels of what was sent");
        self.push_labels(&name)?;
        self.drift_check().await?;
        self.show_pushgateway().await?;

        step(&format!("waiting for Prometheus to evaluate the alert rules ({expected} expected)"));
        let deadline = Instant::now() + Duration::from_secs(120);
        let firing = loop {
            let alerts = prometheus_alerts(&local(PROMETHEUS_PORT)).await?;
            let mut seen: Vec<String> = alerts.iter().map(|a| format!("{}({})", a.name, a.state)).collect();
            seen.sort();
            seen.dedup();
            let fired = alerts.iter().any(|a| a.name == expected && a.state == "firing");
            if fired || Instant::now() > deadline {
                println!("alerts: {}", if seen.is_empty() { "none".into() } else { seen.join(" ") });
                break fired;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        };
        ensure!(
            firing,
            "{expected} did not fire within 2 minutes (Prometheus: {})",
            self.dir.join("prometheus.log").display()
        );
        println!("Prometheus alerts page: {}", self.prometheus_alerts_page().await);
        step(&format!(
            "waiting for the e-mail (Prometheus -> Alertmanager {} -> SMTP 127.0.0.1:{SMTP_PORT})",
            local(ALERTMANAGER_PORT)
        ));
        self.wait_for_mail(expected).await
    }

    /// Replays `rows` real transactions (an incident's, if given) through predict; fraudctl's JSON summary. The
    /// true labels of what was sent go to `labels-<run>.jsonl`.
    fn replay(&self, rows: usize, incident: Option<&str>) -> Result<Value> {
        let run = incident.unwrap_or("replay");
        let endpoint = format!("{}/lambda-url/predict", local(LAMBDA_PORT));
        let labels = self.dir.join(format!("labels-{run}.jsonl"));
        let mut args = vec!["traffic", "--endpoint", &endpoint, "--data"];
        let (data, rows, labels) = (self.data.to_string_lossy(), rows.to_string(), labels.to_string_lossy());
        args.extend([&*data, "--rows", &rows, "--labels-out", &labels, "--json"]);
        if let Some(incident) = incident {
            args.extend(["--incident", incident]);
        }
        let out = self.fraudctl(&args).context("traffic replay failed")?;
        let saved = match incident {
            Some(incident) => format!("traffic-{incident}.json"),
            None => "traffic.json".into(),
        };
        std::fs::write(self.dir.join(saved), &out)?;
        serde_json::from_str(&out).with_context(|| format!("fraudctl traffic printed no JSON summary: {out}"))
    }

    /// The drift window is today's (UTC), so it holds every run of the day: each one is remembered.
    fn record_run(&self, name: &str, count: u64) -> Result<()> {
        use std::io::Write;
        let mut runs = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("runs.tsv"))?;
        writeln!(runs, "{}\t{name}\t{count}", hms(time::OffsetDateTime::now_utc()))?;
        Ok(())
    }

    async fn log_objects(&self, s3: &aws_sdk_s3::Client) -> Result<u64> {
        let keys = bucket_keys(s3, BUCKET, "prediction-logs/").await?;
        Ok(keys.iter().filter(|k| k.ends_with(".json")).count() as u64)
    }

    /// Waits until the bucket holds `want` prediction-log objects (SQS -> prediction-logger -> S3).
    async fn wait_for_logs(&self, s3: &aws_sdk_s3::Client, want: u64) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let have = self.log_objects(s3).await?;
            if have >= want || Instant::now() > deadline {
                ensure!(
                    have == want,
                    "{have} log objects where {want} were expected (see {})",
                    self.dir.join("event-source.log").display()
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Uploads the true labels fraudctl traffic wrote for run `name`, as a label feed would deliver them.
    fn push_labels(&self, name: &str) -> Result<()> {
        let labels = self.dir.join(format!("labels-{name}.jsonl"));
        let pushed = self.fraudctl(&["labels", "push", &labels.to_string_lossy(), "--bucket", BUCKET]);
        print!("{}", indented(&pushed.with_context(|| format!("pushing the labels of {name} failed"))?));
        Ok(())
    }

    /// Invokes drift-check on today's window, which holds the traffic just sent, and prints its report; returns
    /// drift-check's result (where the report is).
    async fn drift_check(&self) -> Result<Value> {
        step("drift check and model quality (drift-check invoked with today's window, which holds the traffic just sent)");
        let today = time::OffsetDateTime::now_utc().date();
        // The schedule's default window is the whole hours before the current one; a manual run names its window.
        let payload = serde_json::json!({"window": {"date": today.to_string()}});
        let lambda_log = self.dir.join("lambda.log");
        // Mail about this run's alerts lands after this.
        std::fs::write(self.dir.join("drift-started"), "")?;
        let result =
            lambda_emulator::invoke(&self.http, &local(LAMBDA_PORT), "drift-check", &payload, Duration::from_secs(600))
                .await
                .with_context(|| format!("drift-check invocation failed (log: {})", lambda_log.display()))?;
        std::fs::write(self.dir.join("drift-result.json"), &result)?;
        let result: Value = serde_json::from_str(&result).with_context(|| format!("drift-check returned {result}"))?;
        let key = result["report"]["json_key"]
            .as_str()
            .with_context(|| format!("drift-check saved no report (log: {}): {result}", lambda_log.display()))?;
        println!("  the window is today (UTC, {today}) and holds every run sent to this stack today:");
        for run in std::fs::read_to_string(self.dir.join("runs.tsv"))?.lines() {
            let mut fields = run.split('\t');
            let (at, name, count) = (fields.next(), fields.next(), fields.next());
            println!(
                "    {} UTC  {:<20} {:>6} transactions",
                at.unwrap_or_default(),
                name.unwrap_or_default(),
                count.unwrap_or_default()
            );
        }
        print!("{}", indented(&self.fraudctl(&["report", key, "--bucket", BUCKET])?));
        Ok(result)
    }

    async fn show_pushgateway(&self) -> Result<()> {
        let url = format!("{}/metrics", local(PUSHGATEWAY_PORT));
        step(&format!("Pushgateway metrics ({url})"));
        let metrics = self.http.get(&url).send().await?.error_for_status()?.text().await?;
        metrics.lines().filter(|line| shown_metric(line)).for_each(|line| println!("{line}"));
        Ok(())
    }

    /// Prometheus' alerts page: 2.42 from Debian ships only the classic UI (/classic/alerts), newer builds serve
    /// /alerts.
    async fn prometheus_alerts_page(&self) -> String {
        let base = local(PROMETHEUS_PORT);
        let current = self.http.get(format!("{base}/alerts")).send().await;
        if current.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
            format!("{base}/alerts")
        } else {
            format!("{base}/classic/alerts")
        }
    }

    /// Waits until Alertmanager's e-mail about `alert` firing, sent after this drift check, is in the local maildir,
    /// and shows where it landed. An alert already firing (an earlier incident of today's window) is not mailed
    /// again before its route's repeat_interval: then the earlier mail is shown.
    async fn wait_for_mail(&self, alert: &str) -> Result<()> {
        let maildir = self.dir.join("mail");
        let since = std::fs::metadata(self.dir.join("drift-started"))?.modified()?;
        let newest_mail = |since: SystemTime| -> Result<Option<String>> {
            let mails = maildir_messages(&maildir)?;
            let mut about = mails
                .into_iter()
                .filter(|m| m.received >= since && m.subject.starts_with("[FIRING") && m.subject.contains(alert));
            Ok(about.next_back().map(|m| {
                format!("  file     {}\n  subject  {}\n  to       {}", m.path.display(), m.subject, m.to.join(", "))
            }))
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(found) = newest_mail(since)? {
                println!("{found}");
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let Some(found) = newest_mail(SystemTime::UNIX_EPOCH)? else {
            bail!(
                "no e-mail about {alert} reached the local SMTP server (logs: {}, {})",
                self.dir.join("alertmanager.log").display(),
                self.dir.join("smtp.log").display()
            );
        };
        println!("  {alert} was already firing before this run, so Alertmanager sent no new mail; the one it sent:");
        println!("{found}");
        Ok(())
    }
}

/// When a started service counts as up.
enum Ready {
    /// The URL answers below 500.
    Answers(String),
    /// The process listens on the port.
    Listens(u16),
    /// `cargo lambda watch` on the port serves predict.
    Serves(u16),
}

/// The predictions fraudctl traffic saw scored (200).
fn scored(summary: &Value) -> Result<u64> {
    summary["ok"].as_u64().with_context(|| format!("no `ok` in fraudctl's summary: {summary}"))
}

fn hms(at: time::OffsetDateTime) -> String {
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

/// The Pushgateway series an operator wants to see after a drift check: the verdicts, window size and freshness, the
/// first features' drift flags, and the quality gauges.
fn shown_metric(line: &str) -> bool {
    const DRIFT: [&str; 6] = ["share", "dataset", "prediction", "fraud_rate", "window_rows", "last_success"];
    const QUALITY: [&str; 7] = [
        "realized_precision",
        "realized_recall",
        "estimated_precision",
        "estimated_recall",
        "labelled_frauds",
        "label_coverage",
        "span_days",
    ];
    const FEATURES: [&str; 6] = ["V1", "V2", "V3", "V4", "V5", "Amount"];
    if let Some(rest) = line.strip_prefix("fraud_drift_feature_drifted{") {
        let labels = rest.split('}').next().unwrap_or_default();
        return FEATURES.iter().any(|f| labels.split(',').any(|label| label == format!("feature=\"{f}\"")));
    }
    if let Some(rest) = line.strip_prefix("fraud_drift_") {
        return DRIFT.iter().any(|name| rest.starts_with(name));
    }
    line.strip_prefix("fraud_quality_").is_some_and(|rest| QUALITY.iter().any(|name| rest.starts_with(name)))
}

#[cfg(test)]
mod tests {
    use super::shown_metric;

    #[test]
    fn shows_the_operator_series_and_only_those() {
        assert!(shown_metric(r#"fraud_drift_share_of_drifted_columns{job="fraud_drift_check"} 0.1"#));
        assert!(shown_metric(r#"fraud_drift_feature_drifted{feature="V1",job="fraud_drift_check"} 1"#));
        assert!(shown_metric(r#"fraud_quality_realized_recall{job="fraud_drift_check"} 0.8"#));
        assert!(!shown_metric(r#"fraud_drift_feature_drifted{feature="V12",job="fraud_drift_check"} 1"#));
        assert!(!shown_metric(r#"fraud_drift_feature_score{feature="V1",job="fraud_drift_check"} 0.2"#));
        assert!(!shown_metric("# HELP fraud_drift_share_of_drifted_columns Share"));
    }
}

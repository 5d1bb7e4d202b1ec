//! `fraudctl`: the operator's command line for fraudwatch. One module per subcommand, and `api_auth`: how they
//! authenticate to the predict API.

mod api_auth;
mod check;
mod demo;
mod drift;
mod labels;
mod logs;
mod model;
mod quality;
mod report;
mod traffic;

use clap::{Parser, Subcommand};
use fraudwatch_core::aws;
use fraudwatch_core::config::{optional, ProcessEnv};

#[derive(Parser)]
#[command(name = "fraudctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run drift-check's monitoring run over a window of the bucket: report saved to drift-reports/, optionally pushed.
    Check(check::CheckArgs),
    /// Serve a deployed stage's demo page on 127.0.0.1, forwarding its requests to the API with your authentication.
    Demo(demo::DemoArgs),
    /// Compare a file of traffic with a reference file, with drift-check's statistics.
    Drift(drift::DriftArgs),
    /// Ground-truth labels: push a file to the bucket's labels/ (checked first).
    Labels(labels::LabelsArgs),
    /// Read the prediction logs in S3 (honours AWS_ENDPOINT_URL and S3_FORCE_PATH_STYLE).
    Logs(logs::LogsArgs),
    /// The model registry in S3: push, list, show, promote, rollback (MODEL_REGISTRY_URI or --registry).
    Model(model::ModelArgs),
    /// Model quality from a predictions file and a labels file, as drift-check computes it.
    Quality(quality::QualityArgs),
    /// Print a drift-check run's saved report (the newest, or one key) as the drift and quality tables.
    Report(report::ReportArgs),
    /// Replay real transactions against a predict endpoint: normal traffic or an incident.
    Traffic(traffic::TrafficArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&s3().await?, args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Drift(args) => drift::run(args),
        Command::Labels(args) => labels::run(&s3().await?, args).await,
        Command::Quality(args) => quality::run(args),
        Command::Report(args) => report::run(&s3().await?, args).await,
        Command::Logs(args) => logs::run(&s3().await?, args).await,
        Command::Model(args) => model::run(&s3().await?, args).await,
        Command::Traffic(args) => traffic::run(args).await,
    }
}

/// The S3 client of the commands that read the bucket, from the usual AWS settings. Without a region the SDK
/// would only fail at the first request, with a message that does not say what to set.
async fn s3() -> anyhow::Result<aws_sdk_s3::Client> {
    let sdk = aws::sdk_config().await;
    if sdk.region().is_none() {
        // Where scripts/up puts the local stack (its FRAUDWATCH_STACK_DIR, else $TMPDIR/fraudwatch-stack).
        // `optional` reads a blank variable as unset, as the script's ${VAR:-default} does.
        let set = |name| optional(&ProcessEnv, name);
        let stack = set("FRAUDWATCH_STACK_DIR")
            .unwrap_or_else(|| format!("{}/fraudwatch-stack", set("TMPDIR").unwrap_or_else(|| "/tmp".into())));
        anyhow::bail!(
            "no AWS region: set AWS_REGION (and credentials, e.g. AWS_PROFILE). For the local stack, scripts/up writes \
             every variable fraudctl needs (endpoints, credentials, S3_FORCE_PATH_STYLE, LOG_BUCKET) to \
             {stack}/fraudctl.env: `set -a; . {stack}/fraudctl.env; set +a`"
        );
    }
    Ok(aws::s3_client(&sdk, &ProcessEnv, aws::STARTUP_S3)?)
}

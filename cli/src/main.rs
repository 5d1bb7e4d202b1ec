//! `fraudctl`: the operator's command line for fraudwatch. One module per subcommand.

mod drift;
mod logs;
mod model;
mod traffic;

use clap::{Parser, Subcommand};
use fraudwatch_shared::{aws, config::ProcessEnv};

#[derive(Parser)]
#[command(name = "fraudctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare a file of traffic with a reference file, with drift-check's statistics.
    Drift(drift::DriftArgs),
    /// Read the prediction logs in S3 (honours AWS_ENDPOINT_URL and S3_FORCE_PATH_STYLE).
    Logs(logs::LogsArgs),
    /// The model registry in S3: push, list, show, promote, rollback (MODEL_REGISTRY_URI or --registry).
    Model(model::ModelArgs),
    /// Replay real transactions against a predict endpoint: normal traffic or an incident.
    Traffic(traffic::TrafficArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let sdk = aws::sdk_config().await;
    let s3 = aws::s3_client(&sdk, &ProcessEnv)?;
    match cli.command {
        Command::Drift(args) => drift::run(args),
        Command::Logs(args) => logs::run(&s3, args).await,
        Command::Model(args) => model::run(&s3, args).await,
        Command::Traffic(args) => traffic::run(args).await,
    }
}

//! `fraudctl model`: the model registry in S3 (`fraudwatch_core::registry`). Push a version, list, show, promote
//! one to champion, roll back. predict serves the champion from its next cold start; nothing is redeployed.

use std::path::PathBuf;

use anyhow::Result;
use fraudwatch_core::config::ConfigError;
use fraudwatch_core::registry::{ChampionPointer, Registry, RegistryUri, MODEL_REGISTRY_URI};

#[derive(clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(clap::Subcommand)]
enum ModelCommand {
    /// Upload a directory holding model.onnx, card.json, reference.csv.gz and the trees.json the card names as
    /// the card's version, after checking them against the card. Versions are immutable: the same bytes again are
    /// a no-op (and complete a version an older push left without trees.json).
    Push {
        #[command(flatten)]
        registry: RegistryArg,
        dir: PathBuf,
    },
    /// Every version, oldest first; `*` marks the champion.
    List {
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Print a version's card, after checking its model and reference against it.
    Show {
        #[command(flatten)]
        registry: RegistryArg,
        version: String,
    },
    /// Make a version the champion; the current one becomes the first to roll back to.
    Promote {
        #[command(flatten)]
        registry: RegistryArg,
        version: String,
    },
    /// Make the previous champion the champion again.
    Rollback {
        #[command(flatten)]
        registry: RegistryArg,
    },
}

#[derive(clap::Args)]
struct RegistryArg {
    /// The registry, e.g. s3://my-bucket/models/fraud-detector.
    #[arg(long = "registry", value_name = "S3_URI", env = MODEL_REGISTRY_URI, value_parser = parse_registry)]
    uri: RegistryUri,
}

fn parse_registry(uri: &str) -> Result<RegistryUri, ConfigError> {
    RegistryUri::parse("--registry", uri)
}

pub async fn run(s3: &aws_sdk_s3::Client, args: ModelArgs) -> Result<()> {
    let open = |arg: RegistryArg| Registry::new(s3.clone(), arg.uri);
    match args.command {
        ModelCommand::Push { registry, dir } => {
            let pushed = open(registry).push(&dir).await?;
            if pushed.already_present {
                println!("{} is already in the registry with these bytes; nothing written", pushed.version);
            } else {
                println!("pushed {}", pushed.version);
            }
        }
        ModelCommand::List { registry } => {
            for v in open(registry).list().await? {
                let marker = if v.champion { '*' } else { ' ' };
                println!("{marker} {:<16} {:<22} {}", v.version, v.created_at, v.model_sha256);
            }
        }
        ModelCommand::Show { registry, version } => {
            let card = open(registry).show(&version).await?;
            println!("{}", serde_json::to_string_pretty(&card)?);
        }
        ModelCommand::Promote { registry, version } => {
            let promotion = open(registry).promote(&version).await?;
            if let Some(reason) = promotion.replaced_broken_pointer {
                eprintln!("warning: replaced a broken champion pointer ({reason}); its rollback history is lost");
            }
            print_champion(&promotion.pointer);
        }
        ModelCommand::Rollback { registry } => print_champion(&open(registry).rollback().await?),
    }
    Ok(())
}

fn print_champion(pointer: &ChampionPointer) {
    let previous = if pointer.previous.is_empty() { "none".to_string() } else { pointer.previous.join(", ") };
    println!(
        "champion is now {} (model sha256 {}); roll back to: {previous}; predict serves it from its next cold start",
        pointer.version, pointer.model_sha256
    );
}

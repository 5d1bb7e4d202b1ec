//! `fraudctl labels push FILE`: uploads a file of ground-truth labels (JSON lines or CSV, `fraudwatch_core::label`'s record)
//! to `labels/dt=YYYY-MM-DD/<batch id>.jsonl`, the layout `POST /labels` writes and the quality check and the Glue
//! table read. The file is checked first: a file with a bad record is refused whole, every problem listed by line
//! and field, and nothing is uploaded. CSV is converted to JSON lines (the format Athena reads).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use fraudwatch_core::label::{encode_json_lines, label_object_key};
use fraudwatch_core::store::{ObjectStore, S3Store};
use fraudwatch_monitor::quality::label_files::parse_label_file;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(clap::Args)]
pub struct LabelsArgs {
    #[command(subcommand)]
    command: LabelsCommand,
}

#[derive(clap::Subcommand)]
enum LabelsCommand {
    /// Check a label file (.jsonl, .ndjson, .json or .csv, optionally .gz) and upload it as one object.
    Push {
        file: PathBuf,
        /// The bucket holding `labels/`.
        #[arg(long, env = "LOG_BUCKET")]
        bucket: String,
    },
}

pub async fn run(s3: &aws_sdk_s3::Client, args: LabelsArgs) -> Result<()> {
    let LabelsCommand::Push { file, bucket } = args.command;
    let now = OffsetDateTime::now_utc();
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.to_string_lossy();
    let parsed = parse_label_file(&name, &bytes, now).with_context(|| format!("{}", file.display()))?;
    if !parsed.errors.is_empty() {
        for e in &parsed.errors {
            eprintln!("{}: line {}: {}: {}", file.display(), e.record, e.field, e.problem);
        }
        bail!(
            "{} of {} label records are invalid (listed above): nothing was uploaded",
            parsed.rejected_records(),
            parsed.records.len() + parsed.rejected_records()
        );
    }
    if parsed.records.is_empty() {
        bail!("{} holds no label records: nothing was uploaded", file.display());
    }
    let key = label_object_key(now, Uuid::now_v7());
    let body = encode_json_lines(parsed.records.iter().map(|(_, r)| r));
    let store = S3Store::new(s3.clone(), bucket);
    store.put(&key, body, "application/x-ndjson").await?;
    println!("uploaded {} labels to {}", parsed.records.len(), store.location(&key));
    Ok(())
}

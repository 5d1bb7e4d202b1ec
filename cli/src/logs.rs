//! `fraudctl logs`: list the prediction logs of a time window, fetch one record by its prediction id,
//! summarise a window, recover records that only reached predict's log. Both layouts (one object per
//! prediction, batched files) are read through `fraudwatch_monitor::log_reader`, which finds objects through
//! the partition layout (never a scan of the bucket) and counts every record once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use fraudwatch_core::log_record::{partition_prefixes, PredictionLogRecord};
use fraudwatch_core::prediction_id::PredictionId;
use fraudwatch_core::store::{ObjectStore, S3Store};
use fraudwatch_monitor::log_reader::{find_records, list_partition, read_partition};
use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// PUTs in flight while recovering.
const MAX_IN_FLIGHT: usize = 32;
/// Bins of the probability histogram, each 1/BINS wide.
const BINS: usize = 10;

#[derive(clap::Args)]
pub struct LogsArgs {
    #[command(subcommand)]
    command: LogsCommand,
}

#[derive(clap::Subcommand)]
enum LogsCommand {
    /// List the objects of a window (single records and batched files): `last-modified size key`, oldest
    /// partition first.
    List {
        #[command(flatten)]
        bucket: Bucket,
        #[command(flatten)]
        window: Window,
    },
    /// Print one record, found from its prediction id alone (a UUIDv7 carries its partition hour): its own
    /// object, else the batched files of that hour whose id range holds it.
    Get {
        #[command(flatten)]
        bucket: Bucket,
        prediction_id: PredictionId,
    },
    /// Count, fraud rate, probability histogram and model versions of a window's distinct records; corrupt
    /// objects and lines are skipped and counted, a record logged twice counts once.
    Summary {
        #[command(flatten)]
        bucket: Bucket,
        #[command(flatten)]
        window: Window,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write the records of predict's `prediction_log_fallback` lines (an export of its log group: one JSON
    /// message per line or tab) to their S3 keys; records already logged, in either layout, are skipped, so
    /// running it again over the same or an overlapping export writes nothing twice.
    Recover {
        #[command(flatten)]
        bucket: Bucket,
        /// The exported lines.
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct Bucket {
    /// The bucket holding `prediction-logs/`.
    #[arg(long, env = "LOG_BUCKET")]
    bucket: String,
}

/// `[since, until)`; a prediction belongs to it by the time in its id.
#[derive(clap::Args)]
struct Window {
    /// Start of the window, RFC 3339 (e.g. 2026-11-22T03:00:00Z).
    #[arg(long, value_parser = parse_rfc3339, conflicts_with = "hours")]
    since: Option<OffsetDateTime>,
    /// The window is the N hours before --until.
    #[arg(long, default_value_t = 24)]
    hours: u32,
    /// End of the window (exclusive), RFC 3339; default now.
    #[arg(long, value_parser = parse_rfc3339)]
    until: Option<OffsetDateTime>,
}

fn parse_rfc3339(s: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(s, &Rfc3339)
}

impl Window {
    fn resolve(&self, now: OffsetDateTime) -> Result<(OffsetDateTime, OffsetDateTime)> {
        let until = self.until.unwrap_or(now);
        let since = self.since.unwrap_or(until - Duration::hours(self.hours.into()));
        if since >= until {
            bail!("the window is empty: {} is not before {}", rfc3339(since), rfc3339(until));
        }
        Ok((since, until))
    }
}

pub async fn run(s3: &aws_sdk_s3::Client, args: LogsArgs) -> Result<()> {
    // Whole seconds (the window is printed, and nanoseconds only clutter it), rounded up: the window's end is
    // exclusive, and "the last N hours" must include predictions made in the current second.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("0 is a valid nanosecond") + Duration::SECOND;
    match args.command {
        LogsCommand::List { bucket, window } => list(s3, &bucket.bucket, window.resolve(now)?).await,
        LogsCommand::Get { bucket, prediction_id } => get(s3, &bucket.bucket, prediction_id).await,
        LogsCommand::Summary { bucket, window, json } => {
            let window = window.resolve(now)?;
            let summary = summarise(s3, &bucket.bucket, window).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", summary.table(window));
            }
            Ok(())
        }
        LogsCommand::Recover { bucket, file } => recover(s3, &bucket.bucket, &file).await,
    }
}

async fn list(s3: &aws_sdk_s3::Client, bucket: &str, window: (OffsetDateTime, OffsetDateTime)) -> Result<()> {
    let prefixes = partition_prefixes(window.0, window.1);
    let bar = partition_bar(prefixes.len());
    let (mut count, mut records) = (0, 0);
    for prefix in &prefixes {
        let mut lines = String::new();
        for object in
            list_partition(s3, bucket, prefix).await?.into_iter().filter(|o| o.may_overlap(window.0, window.1))
        {
            let modified = object.last_modified.map(rfc3339).unwrap_or_default();
            writeln!(lines, "{modified}  {:>8}  {}", object.size, object.key)?;
            count += 1;
            records += object.name.records();
        }
        // Printed a partition at a time so the lines stream out (e.g. into `head`) during long listings.
        match bar.suspend(|| std::io::stdout().write_all(lines.as_bytes())) {
            // The reader has all it wanted (`| head`): stop quietly, as `ls` does.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            written => written?,
        }
        bar.inc(1);
        bar.set_message(format!("{count} objects"));
    }
    bar.finish_and_clear();
    eprintln!(
        "{count} objects ({records} records by their names) in {} partitions, {} .. {}",
        prefixes.len(),
        rfc3339(window.0),
        rfc3339(window.1)
    );
    Ok(())
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, id: PredictionId) -> Result<()> {
    let key = id.key()?;
    match find_records(s3, bucket, &[id]).await?.remove(&id) {
        Some(found) => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&found.record.encode())?;
            writeln!(stdout)?;
            eprintln!("s3://{bucket}/{}", found.key);
            Ok(())
        }
        None => {
            bail!("prediction {id} is not logged in s3://{bucket} (no object {key}, nor a batched file of its hour)")
        }
    }
}

/// What `logs summary` reports.
#[derive(Debug, Default, PartialEq, Serialize)]
struct Summary {
    records: u64,
    fraud: u64,
    fraud_rate: Option<f64>,
    /// Counts of `fraud_probability` in [0, 0.1), [0.1, 0.2), … [0.9, 1.0].
    probability_histogram: [u64; BINS],
    model_versions: BTreeMap<String, u64>,
    /// Objects (or lines of batched files) in the window that are not a readable record; skipped.
    corrupt_objects: u64,
    /// Copies of a record logged more than once (a redelivery in batched mode), counted once.
    duplicates: u64,
}

impl Summary {
    fn add(&mut self, record: &PredictionLogRecord) {
        self.records += 1;
        self.fraud += u64::from(record.is_fraud);
        self.fraud_rate = Some(self.fraud as f64 / self.records as f64);
        // decode guarantees a probability in [0, 1]; 1.0 belongs to the last bin.
        let bin = ((record.fraud_probability * BINS as f32) as usize).min(BINS - 1);
        self.probability_histogram[bin] += 1;
        *self.model_versions.entry(record.model_version.clone()).or_default() += 1;
    }

    fn table(&self, window: (OffsetDateTime, OffsetDateTime)) -> String {
        let rate = self.fraud_rate.map_or_else(|| "-".to_string(), |r| format!("{r:.4}"));
        let versions: Vec<String> = self.model_versions.iter().map(|(v, n)| format!("{v}={n}")).collect();
        let mut out = format!(
            "window          {} .. {}\nrecords         {}\nfraud           {} (rate {rate})\ncorrupt         {} skipped\nduplicates      {} removed\nmodel versions  {}\nfraud_probability\n",
            rfc3339(window.0),
            rfc3339(window.1),
            self.records,
            self.fraud,
            self.corrupt_objects,
            self.duplicates,
            versions.join(" "),
        );
        let widest = self.probability_histogram.iter().max().copied().unwrap_or(0);
        for (i, &n) in self.probability_histogram.iter().enumerate() {
            let bar = "#".repeat((n * 40).checked_div(widest).unwrap_or(0) as usize);
            let close = if i == BINS - 1 { ']' } else { ')' };
            let (lo, hi) = (i as f64 / BINS as f64, (i + 1) as f64 / BINS as f64);
            let _ = writeln!(out, "  [{lo:.1}, {hi:.1}{close} {n:>8} {bar}");
        }
        out
    }
}

async fn summarise(s3: &aws_sdk_s3::Client, bucket: &str, window: (OffsetDateTime, OffsetDateTime)) -> Result<Summary> {
    let prefixes = partition_prefixes(window.0, window.1);
    let bar = partition_bar(prefixes.len());
    let mut summary = Summary::default();
    for prefix in &prefixes {
        let partition = read_partition(s3, bucket, prefix, window).await?;
        partition.records.iter().for_each(|r| summary.add(r));
        summary.duplicates += partition.duplicates as u64;
        summary.corrupt_objects += partition.corrupt.len() as u64;
        for reason in &partition.corrupt {
            bar.suspend(|| eprintln!("skipped corrupt object: {reason}"));
        }
        bar.inc(1);
        bar.set_message(format!("{} records", summary.records));
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// What `logs recover` did with each exported message.
#[derive(Debug, Default, PartialEq)]
struct Recovered {
    written: usize,
    already_logged: usize,
    malformed: usize,
}

async fn recover(s3: &aws_sdk_s3::Client, bucket: &str, file: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut outcome = Recovered::default();
    let mut records: BTreeMap<PredictionId, PredictionLogRecord> = BTreeMap::new();
    // `aws logs filter-log-events --output text` separates messages by tabs, an export by newlines; a JSON
    // message holds neither unescaped.
    for (i, message) in text.split(['\n', '\t']).map(str::trim).filter(|m| !m.is_empty()).enumerate() {
        match fallback_record(message) {
            Ok(record) => drop(records.insert(record.prediction_id, record)),
            Err(reason) => {
                outcome.malformed += 1;
                eprintln!("skipped message {}: {reason}", i + 1);
            }
        }
    }
    let ids: Vec<PredictionId> = records.keys().copied().collect();
    let logged = find_records(s3, bucket, &ids).await?;
    for found in logged.values() {
        println!("already logged  s3://{bucket}/{}", found.key);
    }
    outcome.already_logged = logged.len();
    let missing: Vec<PredictionLogRecord> =
        records.into_values().filter(|r| !logged.contains_key(&r.prediction_id)).collect();
    let store = &S3Store::new(s3.clone(), bucket);
    let mut puts = stream::iter(missing)
        .map(|record| async move {
            let key = record.s3_key();
            store.put(&key, record.encode(), "application/json").await.map(|()| key)
        })
        .buffer_unordered(MAX_IN_FLIGHT);
    while let Some(key) = puts.next().await {
        println!("written         s3://{bucket}/{}", key?);
        outcome.written += 1;
    }
    eprintln!(
        "{} written, {} already logged, {} malformed message(s) skipped",
        outcome.written, outcome.already_logged, outcome.malformed
    );
    Ok(())
}

/// The record of one `prediction_log_fallback` message, checked as the logger checks it.
fn fallback_record(message: &str) -> Result<PredictionLogRecord, String> {
    let value: serde_json::Value = serde_json::from_str(message).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("message").and_then(|m| m.as_str()) != Some("prediction_log_fallback") {
        return Err("not a prediction_log_fallback message".into());
    }
    let record = value.get("record").ok_or("no `record` field")?;
    let bytes = serde_json::to_vec(record).expect("a parsed value serialises");
    PredictionLogRecord::decode(&bytes).map_err(|e| e.to_string())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("every OffsetDateTime formats as RFC 3339")
}

/// A progress bar over partitions on stderr; indicatif hides it when stderr is not a terminal.
fn partition_bar(partitions: usize) -> ProgressBar {
    let bar = ProgressBar::new(partitions as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} partitions, {msg} ({elapsed})")
            .expect("the template is valid"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn recover_takes_only_valid_fallback_messages() {
        let record = || {
            serde_json::json!({
                "schema_version": 1, "prediction_id": "0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b",
                "timestamp": "2026-11-22T03:00:00Z", "request_id": "r", "model_version": "v1",
                "fraud_probability": 0.25, "is_fraud": false, "threshold": 0.5, "latency_us": 1,
                "features": fraudwatch_core::schema::FEATURE_NAMES.iter().map(|n| (*n, 0.0)).collect::<BTreeMap<_, _>>(),
            })
        };
        let line = |message: &str, record: serde_json::Value| {
            serde_json::json!({"level": "ERROR", "message": message, "s3_key": "k", "record": record}).to_string()
        };
        let ok = fallback_record(&line("prediction_log_fallback", record())).unwrap();
        assert_eq!(ok.prediction_id.to_string(), "0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b");
        assert_eq!(
            fallback_record(&line("batch logged", record())).unwrap_err(),
            "not a prediction_log_fallback message"
        );
        let mut impossible = record();
        impossible["fraud_probability"] = 1.5.into();
        let err = fallback_record(&line("prediction_log_fallback", impossible)).unwrap_err();
        assert!(err.contains("fraud_probability 1.5 is not in [0, 1]"), "{err}");
        assert!(fallback_record("2026-11-22 {").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn probabilities_fall_in_tenths_with_one_in_the_last_bin() {
        let mut summary = Summary::default();
        let mut record: PredictionLogRecord = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "prediction_id": uuid::Uuid::now_v7(), "timestamp": "2026-11-22T03:00:00Z",
            "request_id": "r", "model_version": "v1", "fraud_probability": 0.0, "is_fraud": false,
            "threshold": 0.5, "latency_us": 1,
            "features": fraudwatch_core::schema::FEATURE_NAMES.iter().map(|n| (*n, 0.0)).collect::<BTreeMap<_, _>>(),
        }))
        .unwrap();
        for p in [0.0, 0.099, 0.1, 0.55, 0.9, 1.0] {
            record.fraud_probability = p;
            record.is_fraud = p >= 0.5;
            summary.add(&record);
        }
        assert_eq!(summary.probability_histogram, [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(summary.records, 6);
        assert_eq!(summary.fraud, 3);
        assert_eq!(summary.fraud_rate, Some(0.5));
        assert_eq!(summary.model_versions, BTreeMap::from([("v1".into(), 6)]));
    }

    #[test]
    fn the_window_ends_now_by_default_and_must_not_be_empty() {
        let now = datetime!(2026-11-22 03:30 UTC);
        let window = |since, hours, until| Window { since, hours, until };
        assert_eq!(window(None, 2, None).resolve(now).unwrap(), (datetime!(2026-11-22 01:30 UTC), now));
        let since = datetime!(2026-11-22 00:00 UTC);
        assert_eq!(window(Some(since), 24, None).resolve(now).unwrap(), (since, now));
        assert!(window(Some(now), 24, Some(since)).resolve(now).is_err());
    }
}

//! `fraudctl logs`: list the prediction logs of a time window, fetch one record by its prediction id,
//! summarise a window. Objects are found through the partition layout of `shared::log_record`, never by
//! scanning the whole bucket.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{bail, Context, Result};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::Object;
use fraudwatch_core::log_record::{key_of_prediction, partition_prefixes, PredictionLogRecord};
use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// GETs in flight while summarising.
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
    /// List the objects of a window: `last-modified size key`, oldest partition first.
    List {
        #[command(flatten)]
        bucket: Bucket,
        #[command(flatten)]
        window: Window,
    },
    /// Print one record, found from its prediction id alone (a UUIDv7 carries its partition hour).
    Get {
        #[command(flatten)]
        bucket: Bucket,
        prediction_id: Uuid,
    },
    /// Count, fraud rate, probability histogram and model versions of a window; corrupt objects are
    /// skipped and counted.
    Summary {
        #[command(flatten)]
        bucket: Bucket,
        #[command(flatten)]
        window: Window,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
    }
}

async fn list(s3: &aws_sdk_s3::Client, bucket: &str, window: (OffsetDateTime, OffsetDateTime)) -> Result<()> {
    let prefixes = partition_prefixes(window.0, window.1);
    let bar = partition_bar(prefixes.len());
    let mut count = 0;
    for prefix in &prefixes {
        let mut lines = String::new();
        for object in objects_in_window(s3, bucket, prefix, window).await? {
            let modified = object
                .last_modified()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
                .map(rfc3339)
                .unwrap_or_default();
            let size = object.size().unwrap_or_default();
            let key = object.key().unwrap_or_default();
            writeln!(lines, "{modified}  {size:>8}  {key}")?;
            count += 1;
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
    eprintln!("{count} objects in {} partitions, {} .. {}", prefixes.len(), rfc3339(window.0), rfc3339(window.1));
    Ok(())
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, id: Uuid) -> Result<()> {
    let key = key_of_prediction(id).with_context(|| format!("{id} is not a UUIDv7, so it names no partition"))?;
    match s3.get_object().bucket(bucket).key(&key).send().await {
        Ok(object) => {
            let body = object.body.collect().await.with_context(|| format!("reading s3://{bucket}/{key}"))?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&body.into_bytes())?;
            writeln!(stdout)?;
            eprintln!("s3://{bucket}/{key}");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            bail!("prediction {id} is not logged in s3://{bucket} (no object {key})")
        }
        Err(e) => bail!("GET s3://{bucket}/{key}: {}", describe(e)),
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
    /// Objects in the window that are not a readable record; skipped.
    corrupt_objects: u64,
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
            "window          {} .. {}\nrecords         {}\nfraud           {} (rate {rate})\ncorrupt         {} skipped\nmodel versions  {}\nfraud_probability\n",
            rfc3339(window.0),
            rfc3339(window.1),
            self.records,
            self.fraud,
            self.corrupt_objects,
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
        let objects = objects_in_window(s3, bucket, prefix, window).await?;
        let mut records = stream::iter(objects.iter().filter_map(|o| o.key()))
            .map(|key| read_record(s3, bucket, key))
            .buffer_unordered(MAX_IN_FLIGHT);
        while let Some(read) = records.next().await {
            match read? {
                Ok(record) => summary.add(&record),
                Err(reason) => {
                    summary.corrupt_objects += 1;
                    bar.suspend(|| eprintln!("skipped corrupt object: {reason}"));
                }
            }
        }
        bar.inc(1);
        bar.set_message(format!("{} records", summary.records));
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// The record at `key`; `Ok(Err(reason))` when the object is not a readable record (corrupt, or from a
/// schema version this build does not know). A failed GET is an error: the summary would be wrong.
async fn read_record(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Result<PredictionLogRecord, String>> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GET s3://{bucket}/{key}: {}", describe(e)))?;
    let body = object.body.collect().await.with_context(|| format!("reading s3://{bucket}/{key}"))?;
    Ok(PredictionLogRecord::decode(&body.into_bytes()).map_err(|e| format!("{key}: {e}")))
}

/// The objects of one partition whose prediction id falls in the window (the first and last partitions
/// stick out of it). Objects whose name is not a UUIDv7 are kept: they need looking at.
async fn objects_in_window(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    (since, until): (OffsetDateTime, OffsetDateTime),
) -> Result<Vec<Object>> {
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| anyhow::anyhow!("listing s3://{bucket}/{prefix}: {}", describe(e)))?;
        objects.extend(
            page.contents()
                .iter()
                .filter(|o| {
                    let created = o.key().and_then(key_prediction_id).and_then(uuid_v7_time);
                    created.is_none_or(|t| since <= t && t < until)
                })
                .cloned(),
        );
    }
    Ok(objects)
}

fn key_prediction_id(key: &str) -> Option<Uuid> {
    let name = key.rsplit('/').next()?.strip_suffix(".json")?;
    Uuid::parse_str(name).ok()
}

/// The creation time a UUIDv7 carries (millisecond precision).
fn uuid_v7_time(id: Uuid) -> Option<OffsetDateTime> {
    if id.get_version() != Some(uuid::Version::SortRand) {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).ok()
}

/// An S3 failure in one line: the service's error code and message, or the transport's error chain.
fn describe<E, R>(e: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) => {
            let code = service.code().unwrap_or("unknown error");
            service.message().map_or_else(|| code.to_string(), |m| format!("{code}: {m}"))
        }
        None => DisplayErrorContext(e).to_string(),
    }
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
    fn a_uuid_v7_names_its_time_and_other_versions_do_not() {
        let t = datetime!(2026-11-22 03:59:59.999 UTC);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, t.unix_timestamp() as u64, t.nanosecond());
        let id = Uuid::new_v7(ts);
        assert_eq!(uuid_v7_time(id), Some(t));
        assert_eq!(key_prediction_id(&format!("prediction-logs/dt=2026-11-22/hour=03/{id}.json")), Some(id));
        assert_eq!(uuid_v7_time(Uuid::new_v4()), None);
        assert_eq!(key_prediction_id("prediction-logs/x/notes.txt"), None);
    }

    #[test]
    fn probabilities_fall_in_tenths_with_one_in_the_last_bin() {
        let mut summary = Summary::default();
        let mut record: PredictionLogRecord = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "prediction_id": Uuid::now_v7(), "timestamp": "2026-11-22T03:00:00Z",
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

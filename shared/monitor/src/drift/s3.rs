//! The drift check's S3 side: reading a window of prediction logs (bounded, uniformly sampled, both layouts:
//! [`crate::log_reader::sample_window`]) and saving its reports.

use std::collections::BTreeMap;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;

use crate::log_reader::sample_window;

use super::dataset::RecordColumns;
use super::{html, Dataset, DriftReport, Window};

/// GetObject requests in flight.
pub const GET_CONCURRENCY: usize = 64;
/// Partition prefixes listed at once.
pub(crate) const LIST_CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} s3://{bucket}/{key}: {reason}")]
pub struct S3Error {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub reason: String,
}

pub(crate) fn s3_error(operation: &'static str, bucket: &str, key: &str, e: impl std::error::Error) -> S3Error {
    S3Error { operation, bucket: bucket.into(), key: key.into(), reason: DisplayErrorContext(e).to_string() }
}

/// The rows read from a window.
#[derive(Debug)]
pub struct WindowLogs {
    pub data: Dataset,
    pub listed_objects: usize,
    /// Records the listed objects' names say they hold (a batched file names its count), duplicates included.
    pub listed_records: usize,
    /// Objects read.
    pub read_objects: usize,
    /// Undecodable objects and batched-file lines, skipped.
    pub corrupt_objects: usize,
    /// Copies of a record read twice (a redelivery in batched mode), counted once.
    pub duplicates: usize,
    /// More records than `max_rows` were listed, and a uniform sample of `max_rows` was read.
    pub sampled: bool,
    pub model_versions: BTreeMap<String, usize>,
}

/// Reads the prediction logs of `window`: all of them, or a uniform sample of `max_rows` distinct records
/// (seeded by `seed`) when there are more. Undecodable objects and lines are skipped and counted; an S3 failure
/// is an error.
pub async fn read_window(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    window: &Window,
    max_rows: usize,
    seed: u64,
) -> Result<WindowLogs, S3Error> {
    let sample = sample_window(s3, bucket, (window.start, window.end), max_rows, seed).await?;
    let mut columns = RecordColumns::default();
    let mut model_versions = BTreeMap::new();
    for record in &sample.records {
        *model_versions.entry(record.model_version.clone()).or_default() += 1;
        columns.push(record);
    }
    Ok(WindowLogs {
        data: columns.finish(),
        listed_objects: sample.listed_objects,
        listed_records: sample.listed_records,
        read_objects: sample.read_objects,
        corrupt_objects: sample.corrupt,
        duplicates: sample.duplicates,
        sampled: sample.sampled(),
        model_versions,
    })
}

/// The object's bytes, `None` when there is no such key: a listed object can be gone by the time it is read
/// (a lifecycle expiration at the edge of the retention, a deletion), which is a fact to report, not a failed run.
pub(crate) async fn get_if_exists(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, S3Error> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => {
            let body = output.body.collect().await.map_err(|e| s3_error("GetObject", bucket, key, e))?;
            Ok(Some(body.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key() || s.code() == Some("NoSuchKey")) => Ok(None),
        Err(e) => Err(s3_error("GetObject", bucket, key, e)),
    }
}

/// What a reader reports for a listed object that was gone when read.
pub(crate) const GONE_WHEN_READ: &str = "deleted after it was listed (expired or removed)";

/// Where a run's reports were saved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SavedReport {
    pub json_key: String,
    pub html_key: String,
}

/// Saves the report as JSON and as self-contained HTML under `drift-reports/dt=…/<run_id>.{json,html}`.
pub async fn save_report(s3: &aws_sdk_s3::Client, bucket: &str, report: &DriftReport) -> Result<SavedReport, S3Error> {
    let stem = report.key_stem();
    let saved = SavedReport { json_key: format!("{stem}.json"), html_key: format!("{stem}.html") };
    let json = serde_json::to_vec_pretty(report).expect("a report always serialises");
    put_object(s3, bucket, &saved.json_key, json, "application/json").await?;
    put_object(s3, bucket, &saved.html_key, html::render(report).into_bytes(), "text/html; charset=utf-8").await?;
    Ok(saved)
}

async fn put_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), S3Error> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| s3_error("PutObject", bucket, key, e))?;
    Ok(())
}

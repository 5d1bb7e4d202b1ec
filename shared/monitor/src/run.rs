//! The monitoring run's I/O: reading a window of prediction logs (bounded, uniformly sampled, both layouts:
//! [`crate::log_reader::sample_window`]) and saving its reports.

use std::collections::BTreeMap;

use crate::drift::dataset::RecordColumns;
use crate::drift::Dataset;
use crate::log_reader::sample_window;
use crate::report::{html, DriftReport};
use crate::store::{put_object, S3Error};
use crate::window::Window;

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

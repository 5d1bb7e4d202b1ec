//! The monitoring run: read a window of prediction logs (bounded, uniformly sampled, both layouts:
//! [`crate::log_reader::sample_window`]), compare it with the model's reference, join the labels to the quality
//! window ([`crate::quality::s3`]), save the report as JSON and HTML, and push its metrics to the Pushgateway.
//! drift-check runs it on its schedule, `fraudctl check` on demand; both with the same [`Monitor`].
//!
//! - An empty window is a result, not a failure: the report says "no data" and the push carries `window_rows` 0,
//!   share 0 and dataset drift 0 (no drift claimed).
//! - Undecodable objects (or lines of batched files) are skipped and counted, never fatal; a record found twice
//!   (a redelivery in batched mode) is compared once.
//! - The report is saved before the push; a failed push is an error ([`RunError::Push`]) with the report already
//!   in S3.
//! - Drift and quality travel in the same report and the same push, so they are never out of step and go stale
//!   together.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::baseline::Reference;
use crate::drift::dataset::RecordColumns;
use crate::drift::DriftError;
use crate::log_reader::sample_window;
use crate::pushgateway::{PushError, Pushgateway};
use crate::quality::s3::check_quality;
use crate::quality::QualitySettings;
use crate::report::prometheus::prometheus_text;
use crate::report::{html, DriftReport, RunInfo, Sampling, WindowLogs};
use crate::store::{put_object, S3Error};
use crate::window::Window;

/// The longest window a run may read (30 days, the template's `DriftWindowHours` maximum).
pub const MAX_WINDOW_HOURS: u32 = 720;
/// Distinct records a run compares unless configured (the template's `DriftMaxRows` default).
pub const DEFAULT_MAX_ROWS: usize = 100_000;
/// Days of prediction cohorts the quality check judges unless configured: three months.
pub const DEFAULT_QUALITY_LOOKBACK_DAYS: u32 = 90;
/// The longest quality window: the template's default retention of prediction logs and labels (400 days).
pub const MAX_QUALITY_LOOKBACK_DAYS: u32 = 400;
/// Prediction logs the quality check reads besides those labelled fraud, unless configured.
pub const DEFAULT_QUALITY_MAX_ROWS: usize = 100_000;
/// Days without a new label object before LabelsStale fires, unless configured.
pub const DEFAULT_LABEL_STALE_DAYS: u32 = 3;
/// Seconds between scheduled runs unless configured: hourly.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 3600;

/// What a run reads and where its results go, besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Holds `prediction-logs/` and `labels/`, and receives `drift-reports/`.
    pub bucket: String,
    /// At most this many distinct records of the window are compared; a larger window is sampled uniformly.
    pub max_rows: usize,
    /// The Pushgateway group this stage's results replace, and the reports' `stage`.
    pub stage: String,
    /// The schedule's period, pushed for the staleness alert.
    pub interval_seconds: u64,
    pub quality: QualitySettings,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("reading the window: {0}")]
    Read(S3Error),
    #[error("reading labels and the quality window: {0}")]
    ReadQuality(S3Error),
    #[error("comparing the window with the reference: {0}")]
    Drift(#[from] DriftError),
    #[error("saving the report: {0}")]
    Save(S3Error),
    #[error("report saved to s3://{bucket}/{key}, but the push failed: {source}")]
    Push { bucket: String, key: String, source: PushError },
}

/// What time it is: the system clock in production; tests pass their own, so no assertion depends on the hour (or
/// the UTC day) they happen to run at.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The run and what it holds across runs: the bucket's client, the model's reference, the gateway.
pub struct Monitor {
    s3: aws_sdk_s3::Client,
    config: RunConfig,
    reference: Reference,
    pushgateway: Option<Pushgateway>,
    clock: Clock,
}

/// A run's report, where it was saved, and whether its metrics were pushed (false: no gateway configured).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub report: DriftReport,
    pub saved: SavedReport,
    pub pushed: bool,
}

impl Monitor {
    pub fn new(
        s3: aws_sdk_s3::Client,
        config: RunConfig,
        reference: Reference,
        pushgateway: Option<Pushgateway>,
    ) -> Self {
        Monitor { s3, config, reference, pushgateway, clock: Arc::new(OffsetDateTime::now_utc) }
    }

    /// The same monitor on another clock.
    pub fn with_clock(self, clock: Clock) -> Self {
        Monitor { clock, ..self }
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// What time it is on this monitor's clock.
    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// One run over `window`, as of `now` (label times after it are refused); `observe` sees the report once it is
    /// computed, before it is saved (drift-check counts its rows there, so a run whose save or push then fails
    /// still reports them).
    pub async fn run(
        &self,
        window: Window,
        now: OffsetDateTime,
        observe: impl FnOnce(&DriftReport),
    ) -> Result<RunOutcome, RunError> {
        let started_at = self.now();
        let logs = read_window(&self.s3, &self.config.bucket, &window, self.config.max_rows, window.seed())
            .await
            .map_err(RunError::Read)?;
        let comparison = self.reference.compare(&logs.data)?;
        let quality = check_quality(
            &self.s3,
            &self.config.bucket,
            window.end,
            &self.config.quality,
            &self.reference.quality,
            logs.data.prediction().filter(|scores| !scores.is_empty()),
            now,
        )
        .await
        .map_err(RunError::ReadQuality)?;
        let run = RunInfo {
            run_id: uuid::Uuid::now_v7().to_string(),
            started_at,
            finished_at: self.now(),
            stage: self.config.stage.clone(),
            expected_interval_seconds: self.config.interval_seconds,
        };
        let report = DriftReport::new(run, &self.reference, window, &logs, comparison, quality);
        observe(&report);
        let saved = save_report(&self.s3, &self.config.bucket, &report).await.map_err(RunError::Save)?;
        tracing::info!(
            run_id = report.run_id,
            window_start = %report.window.start,
            window_end = %report.window.end,
            rows = report.window_rows,
            corrupt_objects = report.corrupt_objects,
            sampled = report.sampling.sampled,
            report = saved.json_key,
            "{}",
            report.summary
        );
        if let Some(q) = &report.quality {
            tracing::info!(run_id = report.run_id, quality_window_start = %q.window.start, "{}", q.summary);
        }
        let pushed = match &self.pushgateway {
            Some(gateway) => {
                gateway.push(prometheus_text(&report)).await.map_err(|source| RunError::Push {
                    bucket: self.config.bucket.clone(),
                    key: saved.json_key.clone(),
                    source,
                })?;
                true
            }
            None => false,
        };
        Ok(RunOutcome { report, saved, pushed })
    }
}

/// A run in brief: the verdict and where the report is (what drift-check returns, and `fraudctl check` prints).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub window: Window,
    pub window_rows: usize,
    pub corrupt_objects: usize,
    pub sampled: bool,
    pub share_of_drifted_columns: f64,
    pub dataset_drift: bool,
    pub prediction_drifted: Option<bool>,
    pub fraud_rate: Option<f64>,
    /// nDCG of the window's attribution ranking against the reference's (`None`: no rows, or no explanation).
    pub attribution_ndcg: Option<f64>,
    pub report: SavedReport,
    /// False when no Pushgateway is configured.
    pub pushed: bool,
    pub summary: String,
    /// The quality section's one line (absent when the quality check is off).
    pub quality: Option<String>,
}

impl From<RunOutcome> for RunSummary {
    fn from(RunOutcome { report, saved, pushed }: RunOutcome) -> Self {
        let drift = report.drift.as_ref();
        RunSummary {
            run_id: report.run_id.clone(),
            window: report.window,
            window_rows: report.window_rows,
            corrupt_objects: report.corrupt_objects,
            sampled: report.sampling.sampled,
            share_of_drifted_columns: drift.map_or(0.0, |d| d.share_of_drifted_columns),
            dataset_drift: drift.is_some_and(|d| d.dataset_drift),
            prediction_drifted: drift.and_then(|d| d.prediction.as_ref()).map(|p| p.drifted),
            fraud_rate: report.fraud_rate,
            attribution_ndcg: report.attribution.as_ref().map(|a| a.ndcg),
            report: saved,
            pushed,
            quality: report.quality.as_ref().map(|q| q.summary.clone()),
            summary: report.summary,
        }
    }
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
        sampling: Sampling {
            listed_objects: sample.listed_objects,
            listed_records: sample.listed_records,
            read_objects: sample.read_objects,
            duplicates: sample.duplicates,
            max_rows,
            sampled: sample.sampled(),
            seed,
        },
        corrupt_objects: sample.corrupt,
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

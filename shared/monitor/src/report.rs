//! One monitoring run, everything it found, as saved to `drift-reports/dt=YYYY-MM-DD/<run_id>.json`
//! (and rendered to `.html` ([`html`]) and Prometheus text ([`prometheus`]) from the same struct).

pub mod html;
pub mod prometheus;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use fraudwatch_core::alert_thresholds::DRIFT_MIN_WINDOW_ROWS;

use crate::baseline::{Reference, WindowComparison};
use crate::drift::{AttributionDrift, Dataset, DatasetDrift};
use crate::quality::QualityReport;
use crate::window::Window;

/// Where drift reports are stored in the log bucket.
pub const DRIFT_REPORT_PREFIX: &str = "drift-reports/";

/// How the window's records were chosen (`fraudwatch_monitor::log_reader::sample_window`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sampling {
    /// Objects listed in the window (single records and batched files).
    pub listed_objects: usize,
    /// Records the listed objects' names say they hold, duplicates included.
    #[serde(default)]
    pub listed_records: usize,
    /// Objects read (GETs).
    #[serde(default)]
    pub read_objects: usize,
    /// Copies of a record met twice (a redelivery in batched mode) and counted once.
    #[serde(default)]
    pub duplicates: usize,
    /// `DRIFT_MAX_ROWS`: at most this many distinct records are compared.
    pub max_rows: usize,
    /// True when the window held more records than `max_rows` and a uniform sample of them was read.
    pub sampled: bool,
    /// Seeds the sample, so a re-run of the same window reads the same objects.
    pub seed: u64,
}

/// The rows read from a window, and how they were chosen.
#[derive(Debug)]
pub struct WindowLogs {
    pub data: Dataset,
    pub sampling: Sampling,
    /// Undecodable objects and batched-file lines, skipped.
    pub corrupt_objects: usize,
    pub model_versions: BTreeMap<String, usize>,
}

/// What a report says about its run besides what the run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
    pub stage: String,
    pub expected_interval_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    pub window: Window,
    /// The model whose reference the traffic was compared with.
    pub model_version: String,
    pub reference_rows: usize,
    /// Rows compared (after sampling, without corrupt objects).
    pub window_rows: usize,
    /// Objects that could not be decoded as prediction-log records, or were gone when read; skipped.
    pub corrupt_objects: usize,
    pub sampling: Sampling,
    /// Rows per `model_version` in the window: traffic scored by another model than the reference's
    /// makes prediction drift expected.
    pub window_model_versions: BTreeMap<String, usize>,
    /// Share of the window's rows the service flagged as fraud.
    pub fraud_rate: Option<f64>,
    /// `None`: the window held no rows, so nothing was compared and no drift is claimed.
    pub drift: Option<DatasetDrift>,
    /// One line for people: the verdict, or "no data".
    pub summary: String,
    /// The drift check's stage (`FRAUDWATCH_STAGE`): the Pushgateway group it pushed to.
    #[serde(default)]
    pub stage: String,
    /// Seconds between scheduled runs (`DRIFT_INTERVAL_SECONDS`), pushed for the staleness alert.
    #[serde(default = "default_interval_seconds")]
    pub expected_interval_seconds: u64,
    /// The features the reference model's card calls important, and every feature's importance share.
    #[serde(default)]
    pub important_features: Vec<String>,
    #[serde(default)]
    pub feature_importance: BTreeMap<String, f64>,
    /// The window's feature-attribution ranking against the reference's (mean |TreeSHAP|, nDCG); `None` when
    /// the window held no rows or the model has no explanation.
    #[serde(default)]
    pub attribution: Option<AttributionDrift>,
    /// Model quality from ground-truth labels and CBPE (absent when the quality check is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityReport>,
}

fn default_interval_seconds() -> u64 {
    3600
}

impl DriftReport {
    /// The report of a run that compared `logs` of `window` with `reference` and, when the quality check is on,
    /// judged the quality window.
    pub fn new(
        run: RunInfo,
        reference: &Reference,
        window: Window,
        logs: &WindowLogs,
        comparison: WindowComparison,
        quality: Option<QualityReport>,
    ) -> Self {
        let window_rows = logs.data.rows();
        let WindowComparison { drift, attribution } = comparison;
        DriftReport {
            run_id: run.run_id,
            started_at: run.started_at,
            finished_at: run.finished_at,
            window,
            model_version: reference.model_version.clone(),
            reference_rows: reference.data.rows(),
            window_rows,
            corrupt_objects: logs.corrupt_objects,
            sampling: logs.sampling.clone(),
            window_model_versions: logs.model_versions.clone(),
            fraud_rate: logs.data.fraud_rate(),
            summary: Self::summarise(window_rows, drift.as_ref(), attribution.as_ref()),
            drift,
            stage: run.stage,
            expected_interval_seconds: run.expected_interval_seconds,
            important_features: reference.important_features.clone(),
            feature_importance: reference.feature_importance.clone(),
            attribution,
            quality,
        }
    }

    /// Whether the window was too small for the drift alerts to judge (they need
    /// [`DRIFT_MIN_WINDOW_ROWS`]): a quiet system must say so rather than look healthy.
    pub fn window_too_small(&self) -> bool {
        self.window_rows < DRIFT_MIN_WINDOW_ROWS
    }

    /// The one-line verdict of a comparison (or of its absence).
    pub fn summarise(
        window_rows: usize,
        drift: Option<&DatasetDrift>,
        attribution: Option<&AttributionDrift>,
    ) -> String {
        let Some(d) = drift else {
            return "no data: the window held no readable prediction logs; no drift is claimed".into();
        };
        let too_small = if window_rows < DRIFT_MIN_WINDOW_ROWS {
            format!(" — too few rows to judge drift ({window_rows} of the {DRIFT_MIN_WINDOW_ROWS} the alerts need)")
        } else {
            String::new()
        };
        let drifted: Vec<&str> = d.features.iter().filter(|f| f.drifted).map(|f| f.column.as_str()).collect();
        let prediction = d.prediction.as_ref().map_or("prediction drift not measured".into(), |p| {
            format!("prediction drift {} ({:.4})", if p.drifted { "yes" } else { "no" }, p.score)
        });
        let attribution = attribution.map_or("attribution drift not measured (no explanation)".into(), |a| {
            format!("attribution nDCG {:.4}{}", a.ndcg, if a.drifted { " (drifted)" } else { "" })
        });
        format!(
            "{window_rows} rows: {}/{} features drifted ({:.3}){}{}; dataset drift {}; {prediction}; {attribution}{too_small}",
            d.number_of_drifted_columns,
            d.number_of_columns,
            d.share_of_drifted_columns,
            if drifted.is_empty() { "" } else { ": " },
            drifted.join(", "),
            if d.dataset_drift { "yes" } else { "no" },
        )
    }

    pub fn duration_seconds(&self) -> f64 {
        (self.finished_at - self.started_at).as_seconds_f64()
    }

    /// `drift-reports/dt=YYYY-MM-DD/<run_id>` (UTC date of the run), without extension.
    pub fn key_stem(&self) -> String {
        let d = self.started_at.to_offset(UtcOffset::UTC).date();
        format!("{DRIFT_REPORT_PREFIX}dt={:04}-{:02}-{:02}/{}", d.year(), u8::from(d.month()), d.day(), self.run_id)
    }
}

//! Model quality from ground truth: fraud labels joined to the prediction logs by prediction id (or transaction
//! id), per prediction-day cohort, and CBPE's label-free estimate beside it.
//!
//! **Which predictions are judged.** Labels are either explicit (1 = fraud, 0 = legitimate: only labelled
//! predictions are judged) or positive-only with a maturity period (chargebacks: a prediction whose day ended at
//! least `maturity_days` ago and carries no fraud label counts as legitimate; an explicit 0 still counts as 0). The
//! quality window is `lookback_days` whole UTC days of cohorts: ending with the run's window in explicit mode, and
//! ending `maturity_days` earlier in positive-only mode, so every cohort in it is mature ([`quality_window`]).
//!
//! **Bounded memory.** A window can hold far more predictions than a run can read, so the reader keeps every
//! prediction labelled fraud by prediction id (all of them are read: recall's numerator and denominator are exact)
//! and a uniform sample of the rest (at most `max_rows`, seeded by the window), each sampled row weighted by
//! (rows of its day not read in full) / (rows of its day sampled). When the window holds at most `max_rows`
//! objects everything is read and every weight is 1, so the numbers are exact. Metrics take the weights
//! ([`metrics`]), so a sample stands for its window.
//!
//! **What the alerts judge** ([`RealizedSpan`]): the newest judged cohorts that together hold at least
//! [`QUALITY_MIN_LABELLED_FRAUDS`] frauds — the freshest labels that are enough to judge by — and, label-free, CBPE
//! on the drift run's window ([`QualityReport::estimated_window`]).

pub mod cbpe;
pub mod label_files;
pub mod metrics;
#[cfg(feature = "aws")]
pub mod s3;

use std::collections::{BTreeMap, HashSet};

use fraudwatch_core::alert_thresholds::{
    QUALITY_MIN_FLAGGED_ROWS, QUALITY_MIN_LABELLED_FRAUDS, QUALITY_MIN_LABEL_COVERAGE, QUALITY_MIN_WINDOW_ROWS,
    QUALITY_TOLERANCE,
};
use fraudwatch_core::card::{Calibration, ModelCard};
use fraudwatch_core::label::{Insert, LabelSet, LabelTarget, ParsedLabels};
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::prediction_id::PredictionId;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

use crate::window::Window;
use cbpe::Estimate;

// Days in reports as "2026-11-21" (time's own serde writes a date as [year, ordinal day]).
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");
use metrics::{BudgetRecall, Confusion, Row};

/// The alert budget recall is measured at: the 0.5 % of predictions with the highest scores, about three times
/// the live fraud rate — what a review team that can look at one transaction in 200 would catch.
pub const RECALL_BUDGET: f64 = 0.005;
/// Bad label records quoted in a report (the rest are counted).
pub const LABEL_ERRORS_SHOWN: usize = 10;

/// How labels are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "convention", rename_all = "snake_case")]
pub enum LabelConvention {
    /// Every judged prediction has a label, 1 or 0; unlabelled ones are not judged.
    Explicit,
    /// Only frauds are labelled; a prediction older than `maturity_days` without a fraud label is legitimate.
    PositiveOnly { maturity_days: u32 },
}

/// The operator's choices for the quality check (drift-check's environment: `QUALITY_LOOKBACK_DAYS`,
/// `LABEL_MATURITY_DAYS`, `QUALITY_MAX_ROWS`, `LABEL_STALE_DAYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualitySettings {
    /// Days of prediction cohorts judged; 0 turns the quality check off.
    pub lookback_days: u32,
    pub convention: LabelConvention,
    /// Prediction logs read per run besides those labelled fraud by id.
    pub max_rows: usize,
    pub label_stale_days: u32,
}

/// What the card says about the model that the quality check needs.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityBaseline {
    pub model_version: String,
    pub threshold: f32,
    /// For CBPE; absent in cards written before the calibrator existed (then nothing is estimated).
    pub calibration: Option<Calibration>,
    /// The card's precision and recall on its test split at live prevalence (`metrics.test.prevalence_corrected`).
    pub card_precision: Option<f64>,
    pub card_recall: Option<f64>,
}

impl QualityBaseline {
    pub fn from_card(card: &ModelCard) -> Self {
        let metric = |name: &str| card.metrics["test"]["prevalence_corrected"][name].as_f64();
        QualityBaseline {
            model_version: card.version.clone(),
            threshold: card.threshold,
            calibration: card.calibration.clone(),
            card_precision: metric("precision"),
            card_recall: metric("recall"),
        }
    }
}

/// The whole UTC days of cohorts a run judges, as a window `[first day 00:00, end)`: the `lookback_days` days
/// ending with the one holding the last instant before `run_end` (explicit labels; the run's own partial day
/// included), or, positive-only, the `lookback_days` whole days that ended at least `maturity_days` before
/// `run_end`. `None` when `lookback_days` is 0 (quality off) or the dates leave the calendar.
pub fn quality_window(run_end: OffsetDateTime, lookback_days: u32, convention: LabelConvention) -> Option<Window> {
    if lookback_days == 0 {
        return None;
    }
    let run_end = run_end.to_offset(UtcOffset::UTC);
    let (last_day, end) = match convention {
        LabelConvention::Explicit => ((run_end - Duration::NANOSECOND).date(), run_end),
        LabelConvention::PositiveOnly { maturity_days } => {
            let mature_until = run_end.checked_sub(Duration::days(i64::from(maturity_days)))?;
            let last = mature_until.date().previous_day()?;
            (last, last.next_day()?.with_time(Time::MIDNIGHT).assume_utc())
        }
    };
    let first_day = last_day.checked_sub(Duration::days(i64::from(lookback_days) - 1))?;
    Some(Window { start: first_day.with_time(Time::MIDNIGHT).assume_utc(), end })
}

/// One prediction the quality check read, reduced to what it needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityRow {
    /// The UTC day of the prediction.
    pub day: Date,
    pub score: f32,
    /// How many predictions of its day this row stands for (1 unless the window was sampled).
    pub weight: f64,
    /// The label, if any: fraud or not, and hours from the prediction to the decision.
    pub label: Option<(bool, f64)>,
}

impl QualityRow {
    /// The row of `record`, with its truth from `labels`.
    pub fn of(record: &PredictionLogRecord, labels: &LabelSet, weight: f64) -> Self {
        let at = record.timestamp.to_offset(UtcOffset::UTC);
        let label = labels
            .truth(record.prediction_id, record.transaction_id.as_deref())
            .map(|l| (l.is_fraud, (l.labelled_at - at).as_seconds_f64() / 3600.0));
        QualityRow { day: at.date(), score: record.fraud_probability, weight, label }
    }

    /// Fraud or not, when known under `convention` (all cohorts of a positive-only window are mature).
    fn truth(&self, convention: LabelConvention) -> Option<bool> {
        match (self.label, convention) {
            (Some((fraud, _)), _) => Some(fraud),
            (None, LabelConvention::PositiveOnly { .. }) => Some(false),
            (None, LabelConvention::Explicit) => None,
        }
    }
}

/// Realized metrics over judged rows (weighted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Realized {
    /// Weight of the judged rows.
    pub rows: f64,
    /// Weight of the frauds among them.
    pub frauds: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub average_precision: f64,
    pub confusion: Confusion,
    /// Recall when only the top [`RECALL_BUDGET`] of the judged rows by score is reviewed.
    pub at_budget: Option<BudgetRecall>,
}

impl Realized {
    /// `None` when no row is judged.
    pub fn of(rows: &[Row], threshold: f64) -> Option<Self> {
        if rows.is_empty() {
            return None;
        }
        let confusion = metrics::confusion(rows, threshold);
        Some(Realized {
            rows: rows.iter().map(|r| r.weight).sum(),
            frauds: confusion.positives(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            average_precision: metrics::average_precision(rows),
            confusion,
            at_budget: metrics::recall_at_budget(rows, RECALL_BUDGET),
        })
    }
}

/// A cohort's estimate minus its realized value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub precision: f64,
    pub recall: f64,
}

/// One prediction day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortQuality {
    #[serde(with = "iso_date")]
    pub day: Date,
    /// Whole days from the end of the cohort's day to the end of the quality window.
    pub age_days: i64,
    /// Predictions of the model that day (weighted: an estimate when sampled) and the objects read.
    pub rows: f64,
    pub rows_read: usize,
    /// Predictions whose truth is known, and their share of `rows`.
    pub judged_rows: f64,
    pub coverage: f64,
    /// Labelled predictions read, and the hours from prediction to label: median and largest.
    pub labelled_rows: usize,
    pub label_delay_hours_p50: Option<f64>,
    pub label_delay_hours_max: Option<f64>,
    pub realized: Option<Realized>,
    /// CBPE over all the day's rows (as if no label existed), and its difference from the realized values.
    pub estimated: Option<Estimate>,
    pub estimate_minus_realized: Option<Difference>,
}

/// The newest judged cohorts that hold at least [`QUALITY_MIN_LABELLED_FRAUDS`] frauds (or all of them, when
/// together they hold fewer: `enough_frauds` false), and their realized metrics: what the quality alerts judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealizedSpan {
    #[serde(with = "iso_date")]
    pub first_day: Date,
    #[serde(with = "iso_date")]
    pub last_day: Date,
    pub days: usize,
    pub enough_frauds: bool,
    pub realized: Realized,
}

/// What was read of the labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelSummary {
    pub objects: usize,
    /// Label objects that could not be read at all (unknown type, bad CSV header, bad gzip).
    pub unreadable_objects: usize,
    pub records: usize,
    pub invalid_records: usize,
    /// Repeats of a label already held (counted once) and labels replaced by a later one.
    pub duplicates: usize,
    pub replaced: usize,
    /// Distinct labelled predictions (or transactions) after deduplication.
    pub distinct: usize,
    /// Labels attached to a prediction that was read.
    pub matched: usize,
    /// Labels by prediction id whose id falls in the quality window but names no prediction in it.
    pub unmatched_prediction_ids: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched_examples: Vec<String>,
    /// Distinct labels by transaction id, and those that named a prediction read. A transaction id carries no time,
    /// so the others may name predictions outside the window (or, in a sampled window, not drawn): counted here,
    /// never dropped unseen.
    #[serde(default)]
    pub transaction_id_labels: usize,
    #[serde(default)]
    pub transaction_id_labels_matched: usize,
    /// When the newest label object arrived.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_arrival: Option<OffsetDateTime>,
    /// The first bad records, as `<object>: record N: field: problem`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl LabelSummary {
    /// Adds the records of one parsed label file (or object) named `source` to `labels`, counting repeats,
    /// replacements and bad records, and quoting the first bad ones.
    pub fn absorb(&mut self, labels: &mut LabelSet, parsed: ParsedLabels, source: &str) {
        self.objects += 1;
        self.invalid_records += parsed.rejected_records();
        let room = LABEL_ERRORS_SHOWN.saturating_sub(self.errors.len());
        self.errors.extend(
            parsed.errors.iter().take(room).map(|e| format!("{source}: line {}: {}: {}", e.record, e.field, e.problem)),
        );
        for (_, record) in parsed.records {
            self.records += 1;
            match labels.insert(record) {
                Insert::Duplicate => self.duplicates += 1,
                Insert::Replaced => self.replaced += 1,
                Insert::New | Insert::Superseded => {}
            }
        }
        self.distinct = labels.len();
    }

    /// Counts an object that could not be read at all.
    pub fn unreadable(&mut self, source: &str, problem: &dyn std::fmt::Display) {
        self.objects += 1;
        self.unreadable_objects += 1;
        if self.errors.len() < LABEL_ERRORS_SHOWN {
            self.errors.push(format!("{source}: {problem}"));
        }
    }
}

/// Labels by prediction id whose id's time lies in `window`.
pub fn prediction_ids_in(labels: &LabelSet, window: &Window) -> BTreeMap<PredictionId, bool> {
    labels
        .iter()
        .filter_map(|l| match l.target {
            LabelTarget::Prediction(id) if id_time_in(id, window) => Some((id, l.is_fraud)),
            _ => None,
        })
        .collect()
}

fn id_time_in(id: PredictionId, window: &Window) -> bool {
    id.time().is_ok_and(|t| window.start <= t && t < window.end)
}

/// Unmatched label ids quoted in a report.
const UNMATCHED_SHOWN: usize = 10;

/// The labels read, deduplicated, and what reading them found.
#[derive(Debug, Default)]
pub struct LabelsRead {
    pub labels: LabelSet,
    pub summary: LabelSummary,
}

/// The model's predictions in a window, joined to their labels.
#[derive(Debug)]
pub struct CohortsRead {
    pub rows: Vec<QualityRow>,
    pub sampling: QualitySampling,
    /// Labels by prediction id whose id's time is in the window but which name no listed prediction.
    pub unmatched: usize,
    pub unmatched_examples: Vec<String>,
    /// Labels attached to a row read.
    pub matched: usize,
    /// Distinct labels by transaction id that named a prediction read.
    pub transaction_id_labels_matched: usize,
}

/// The predictions read from a quality window, before they are joined to the labels.
#[derive(Debug)]
pub struct PredictionsRead {
    /// Every prediction labelled fraud by its id, read by id: weight 1.
    pub in_full: Vec<PredictionLogRecord>,
    /// The others read (all of them, or a uniform sample), each prediction once, none of `in_full`.
    pub others: Vec<PredictionLogRecord>,
    /// When `others` is a sample: the records the listing counted per UTC day (`in_full` included), which the
    /// day's sampled rows stand for. `None`: nothing was left out, every weight is 1.
    pub listed_per_day: Option<BTreeMap<Date, usize>>,
    /// Labelled ids the listing shows may be in the window, besides the predictions read.
    pub found: HashSet<PredictionId>,
    pub sampling: QualitySampling,
}

impl PredictionsRead {
    /// Every record of `records` made in `window`, each prediction once (a file exported from the batched layout's
    /// table may repeat a record: copies are dropped by `prediction_id`, as every reader does).
    pub fn all(records: Vec<PredictionLogRecord>, window: &Window) -> Self {
        let mut found = HashSet::new();
        let others: Vec<PredictionLogRecord> = records
            .into_iter()
            .filter(|r| window.start <= r.timestamp && r.timestamp < window.end && found.insert(r.prediction_id))
            .collect();
        let sampling = QualitySampling {
            listed_objects: others.len(),
            read_objects: others.len(),
            max_rows: others.len(),
            ..QualitySampling::default()
        };
        PredictionsRead { in_full: Vec::new(), others, listed_per_day: None, found, sampling }
    }
}

/// Joins the predictions read from `window` to `labels` (the one join of the quality check, wherever the predictions
/// come from): each row weighted (1 when read in full or when nothing was left out; else the records listed that
/// day and not read in full over the others sampled that day), rows of another model version than `baseline`'s
/// counted and left out, and labels by prediction id in the window that name no prediction listed counted and
/// quoted.
pub fn join(labels: &LabelSet, window: &Window, baseline: &QualityBaseline, read: PredictionsRead) -> CohortsRead {
    let PredictionsRead { in_full, others, listed_per_day, mut found, sampling } = read;
    found.extend(in_full.iter().chain(&others).map(|r| r.prediction_id));
    let per_day = |records: &[PredictionLogRecord]| {
        let mut counts: BTreeMap<Date, usize> = BTreeMap::new();
        for r in records {
            *counts.entry(day_of(r)).or_default() += 1;
        }
        counts
    };
    let (full_per_day, kept_per_day) = (per_day(&in_full), per_day(&others));
    let weight_of = |day: Date| -> f64 {
        let Some(listed_per_day) = &listed_per_day else { return 1.0 };
        let listed =
            listed_per_day.get(&day).copied().unwrap_or(0).saturating_sub(full_per_day.get(&day).copied().unwrap_or(0));
        kept_per_day.get(&day).map_or(1.0, |&kept| listed as f64 / kept as f64)
    };
    let unmatched: Vec<PredictionId> =
        prediction_ids_in(labels, window).into_keys().filter(|id| !found.contains(id)).collect();
    let mut read = CohortsRead {
        rows: Vec::new(),
        sampling,
        unmatched: unmatched.len(),
        unmatched_examples: unmatched.iter().take(UNMATCHED_SHOWN).map(PredictionId::to_string).collect(),
        matched: 0,
        transaction_id_labels_matched: labels
            .transaction_labels_among(in_full.iter().chain(&others).filter_map(|r| r.transaction_id.as_deref())),
    };
    let rows = in_full.iter().map(|r| (r, 1.0)).chain(others.iter().map(|r| (r, weight_of(day_of(r)))));
    for (record, weight) in rows {
        if record.model_version != baseline.model_version {
            read.sampling.other_model_rows += weight;
            continue;
        }
        let row = QualityRow::of(record, labels, weight);
        read.matched += usize::from(row.label.is_some());
        read.rows.push(row);
    }
    read
}

/// The UTC day of a record (its partition's day).
fn day_of(record: &PredictionLogRecord) -> Date {
    record.timestamp.to_offset(UtcOffset::UTC).date()
}

/// The quality report of `window` from the labels read and the predictions joined to them, with CBPE on the drift
/// run's window (`drift_window_scores`) when there is one: what drift-check's quality check and `fraudctl quality`
/// both report.
pub fn judge(
    labels: LabelsRead,
    cohorts: CohortsRead,
    baseline: &QualityBaseline,
    window: Window,
    settings: &QualitySettings,
    drift_window_scores: Option<&[f64]>,
) -> QualityReport {
    let summary = LabelSummary {
        matched: cohorts.matched,
        unmatched_prediction_ids: cohorts.unmatched,
        unmatched_examples: cohorts.unmatched_examples,
        transaction_id_labels: labels.labels.transaction_labels(),
        transaction_id_labels_matched: cohorts.transaction_id_labels_matched,
        ..labels.summary
    };
    assess(
        &cohorts.rows,
        Assessment {
            baseline,
            window,
            convention: settings.convention,
            labels: summary,
            sampling: cohorts.sampling,
            drift_window_scores,
            label_stale_after_days: settings.label_stale_days,
        },
    )
}

/// How the window's predictions were read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualitySampling {
    pub listed_objects: usize,
    /// Predictions labelled fraud by prediction id: always read.
    pub read_in_full: usize,
    /// Objects the sample read, plus one per prediction read in full (a lookup by id: the GET of its single object,
    /// or in the batched layout that GET's 404 and the files whose id range holds it).
    pub read_objects: usize,
    pub max_rows: usize,
    /// More objects than `max_rows`: the rest was a uniform sample, weighted.
    pub sampled: bool,
    pub seed: u64,
    pub corrupt_objects: usize,
    /// Rows scored by another model version than the one judged (weighted), left out.
    pub other_model_rows: f64,
}

/// The quality section of a drift report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub model_version: String,
    pub window: Window,
    #[serde(flatten)]
    pub convention: LabelConvention,
    pub threshold: f64,
    pub budget: f64,
    pub card_precision: Option<f64>,
    pub card_recall: Option<f64>,
    pub labels: LabelSummary,
    pub sampling: QualitySampling,
    /// Predictions of the model in the window, those judged and their share.
    pub rows: f64,
    pub judged_rows: f64,
    pub coverage: f64,
    pub cohorts: Vec<CohortQuality>,
    /// Every judged row of the window together.
    pub overall: Option<Realized>,
    pub span: Option<RealizedSpan>,
    /// CBPE over the drift run's window (its uniformly sampled rows).
    pub estimated_window: Option<Estimate>,
    /// `LABEL_STALE_DAYS`: LabelsStale fires when no label object arrived for this many days.
    pub label_stale_after_days: u32,
    pub summary: String,
}

/// Which quality alerts the report's numbers trip, judged as `infra/prometheus/alerts.yml` judges the pushed
/// gauges (the HTML report highlights by it). LabelsStale depends on the time of evaluation and is not here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityAlerts {
    pub realized_recall_low: bool,
    pub realized_precision_low: bool,
    pub estimated_recall_low: bool,
    pub estimated_precision_low: bool,
    pub label_coverage_low: bool,
}

impl QualityReport {
    /// Realized or estimated precision below this alerts (the card's minus [`QUALITY_TOLERANCE`]).
    pub fn precision_alert_below(&self) -> Option<f64> {
        self.card_precision.map(|p| p - QUALITY_TOLERANCE)
    }

    /// Realized or estimated recall below this alerts.
    pub fn recall_alert_below(&self) -> Option<f64> {
        self.card_recall.map(|r| r - QUALITY_TOLERANCE)
    }

    pub fn alerts(&self) -> QualityAlerts {
        let below = |value: f64, line: Option<f64>| line.is_some_and(|l| value < l);
        let span = self.span.as_ref().map(|s| &s.realized);
        let estimate = self.estimated_window.as_ref();
        QualityAlerts {
            realized_recall_low: span
                .is_some_and(|r| r.frauds >= QUALITY_MIN_LABELLED_FRAUDS && below(r.recall, self.recall_alert_below())),
            realized_precision_low: span.is_some_and(|r| {
                r.confusion.flagged() >= QUALITY_MIN_FLAGGED_ROWS && below(r.precision, self.precision_alert_below())
            }),
            estimated_recall_low: estimate.is_some_and(|e| {
                e.expected_frauds() >= QUALITY_MIN_LABELLED_FRAUDS && below(e.recall, self.recall_alert_below())
            }),
            estimated_precision_low: estimate.is_some_and(|e| {
                e.flagged() >= QUALITY_MIN_FLAGGED_ROWS && below(e.precision, self.precision_alert_below())
            }),
            label_coverage_low: self.rows >= QUALITY_MIN_WINDOW_ROWS as f64
                && self.coverage < QUALITY_MIN_LABEL_COVERAGE,
        }
    }
}

/// What [`assess`] is given besides the rows.
#[derive(Debug, Clone)]
pub struct Assessment<'a> {
    pub baseline: &'a QualityBaseline,
    pub window: Window,
    pub convention: LabelConvention,
    pub labels: LabelSummary,
    pub sampling: QualitySampling,
    /// The drift window's scores, for CBPE on the window.
    pub drift_window_scores: Option<&'a [f64]>,
    pub label_stale_after_days: u32,
}

/// The quality report of `rows` (the model's predictions in the window, each with its weight and label).
pub fn assess(rows: &[QualityRow], a: Assessment<'_>) -> QualityReport {
    let threshold = f64::from(a.baseline.threshold);
    let mut by_day: BTreeMap<Date, Vec<&QualityRow>> = BTreeMap::new();
    for row in rows {
        by_day.entry(row.day).or_default().push(row);
    }
    let judged = |rows: &[&QualityRow]| -> Vec<Row> {
        rows.iter()
            .filter_map(|r| {
                r.truth(a.convention).map(|fraud| Row { score: f64::from(r.score), fraud, weight: r.weight })
            })
            .collect()
    };
    let estimate = |rows: &[&QualityRow]| {
        let calibration = a.baseline.calibration.as_ref()?;
        cbpe::estimate(rows.iter().map(|r| (f64::from(r.score), r.weight)), threshold, calibration)
    };
    let window_end_day = (a.window.end - Duration::NANOSECOND).date();
    let cohorts: Vec<CohortQuality> = by_day
        .iter()
        .map(|(day, day_rows)| {
            let judged_rows = judged(day_rows);
            let realized = Realized::of(&judged_rows, threshold);
            let estimated = estimate(day_rows);
            let weight: f64 = day_rows.iter().map(|r| r.weight).sum();
            let judged_weight: f64 = judged_rows.iter().map(|r| r.weight).sum();
            let mut delays: Vec<f64> = day_rows.iter().filter_map(|r| r.label.map(|(_, d)| d)).collect();
            delays.sort_unstable_by(f64::total_cmp);
            CohortQuality {
                day: *day,
                age_days: (window_end_day - *day).whole_days(),
                rows: weight,
                rows_read: day_rows.len(),
                judged_rows: judged_weight,
                coverage: metrics::ratio(judged_weight, weight),
                labelled_rows: delays.len(),
                label_delay_hours_p50: (!delays.is_empty()).then(|| delays[(delays.len() - 1) / 2]),
                label_delay_hours_max: delays.last().copied(),
                estimate_minus_realized: realized
                    .zip(estimated)
                    .map(|(r, e)| Difference { precision: e.precision - r.precision, recall: e.recall - r.recall }),
                realized,
                estimated,
            }
        })
        .collect();

    let all: Vec<&QualityRow> = rows.iter().collect();
    let overall = Realized::of(&judged(&all), threshold);
    let span = realized_span(&by_day, &judged, threshold);
    let total: f64 = rows.iter().map(|r| r.weight).sum();
    let judged_total = overall.map_or(0.0, |o| o.rows);
    let estimated_window = match (a.drift_window_scores, &a.baseline.calibration) {
        (Some(scores), Some(calibration)) => cbpe::estimate(scores.iter().map(|&s| (s, 1.0)), threshold, calibration),
        _ => None,
    };
    let mut report = QualityReport {
        model_version: a.baseline.model_version.clone(),
        window: a.window,
        convention: a.convention,
        threshold,
        budget: RECALL_BUDGET,
        card_precision: a.baseline.card_precision,
        card_recall: a.baseline.card_recall,
        labels: a.labels,
        sampling: a.sampling,
        rows: total,
        judged_rows: judged_total,
        coverage: metrics::ratio(judged_total, total),
        cohorts,
        overall,
        span,
        estimated_window,
        label_stale_after_days: a.label_stale_after_days,
        summary: String::new(),
    };
    report.summary = summarise(&report);
    report
}

/// Newest judged cohorts first, until they hold [`QUALITY_MIN_LABELLED_FRAUDS`] frauds.
fn realized_span(
    by_day: &BTreeMap<Date, Vec<&QualityRow>>,
    judged: &dyn Fn(&[&QualityRow]) -> Vec<Row>,
    threshold: f64,
) -> Option<RealizedSpan> {
    let mut rows: Vec<Row> = Vec::new();
    let mut days = Vec::new();
    let mut frauds = 0.0;
    for (day, day_rows) in by_day.iter().rev() {
        let judged_rows = judged(day_rows);
        if judged_rows.is_empty() {
            continue;
        }
        frauds += judged_rows.iter().filter(|r| r.fraud).map(|r| r.weight).sum::<f64>();
        rows.extend(judged_rows);
        days.push(*day);
        if frauds >= QUALITY_MIN_LABELLED_FRAUDS {
            break;
        }
    }
    Some(RealizedSpan {
        first_day: *days.last()?,
        last_day: *days.first()?,
        days: days.len(),
        enough_frauds: frauds >= QUALITY_MIN_LABELLED_FRAUDS,
        realized: Realized::of(&rows, threshold)?,
    })
}

/// One line for people.
fn summarise(r: &QualityReport) -> String {
    let realized = match &r.span {
        None => "no judged predictions (no labels matched)".to_string(),
        Some(s) => format!(
            "realized over {} to {} ({} frauds{}): precision {:.3}, recall {:.3}{}",
            s.first_day,
            s.last_day,
            s.realized.frauds.round(),
            if s.enough_frauds { "" } else { ", too few to judge" },
            s.realized.precision,
            s.realized.recall,
            match (r.card_precision, r.card_recall) {
                (Some(p), Some(rc)) => format!(" (card {p:.3} / {rc:.3})"),
                _ => String::new(),
            }
        ),
    };
    let estimated = r.estimated_window.map_or(String::new(), |e| {
        format!("; estimated on the drift window: precision {:.3}, recall {:.3}", e.precision, e.recall)
    });
    format!(
        "{:.0} predictions, {:.1} % judged ({} labels); {realized}{estimated}",
        r.rows,
        r.coverage * 100.0,
        r.labels.distinct
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn explicit_windows_end_with_the_run_and_positive_only_ones_with_maturity() {
        let end = datetime!(2026-11-22 10:00 UTC);
        let w = quality_window(end, 3, LabelConvention::Explicit).unwrap();
        assert_eq!((w.start, w.end), (datetime!(2026-11-20 00:00 UTC), end));
        // A manual run over one whole day ends at midnight: that day is the last cohort.
        let w = quality_window(datetime!(2026-11-23 00:00 UTC), 1, LabelConvention::Explicit).unwrap();
        assert_eq!(w.start, datetime!(2026-11-22 00:00 UTC));
        let w = quality_window(end, 90, LabelConvention::PositiveOnly { maturity_days: 120 }).unwrap();
        // 120 days before 2026-11-22 10:00 is 2026-07-25 10:00: the last whole day before it is 2026-07-24.
        assert_eq!(w.end, datetime!(2026-07-25 00:00 UTC));
        assert_eq!(w.start, datetime!(2026-04-26 00:00 UTC));
        assert_eq!((w.end - w.start).whole_days(), 90);
        assert_eq!(quality_window(end, 0, LabelConvention::Explicit), None);
    }

    fn row(day: Date, score: f32, label: Option<bool>) -> QualityRow {
        QualityRow { day, score, weight: 1.0, label: label.map(|l| (l, 24.0)) }
    }

    fn baseline() -> QualityBaseline {
        QualityBaseline {
            model_version: "v1".into(),
            threshold: 0.5,
            calibration: None,
            card_precision: Some(0.9),
            card_recall: Some(0.8),
        }
    }

    fn assessment(b: &QualityBaseline, convention: LabelConvention) -> Assessment<'_> {
        Assessment {
            baseline: b,
            window: Window { start: datetime!(2026-11-01 00:00 UTC), end: datetime!(2026-11-04 00:00 UTC) },
            convention,
            labels: LabelSummary::default(),
            sampling: QualitySampling::default(),
            drift_window_scores: None,
            label_stale_after_days: 3,
        }
    }

    #[test]
    fn unlabelled_rows_count_as_legitimate_only_under_the_positive_only_convention() {
        let d = date!(2026 - 11 - 01);
        let rows = [row(d, 0.9, Some(true)), row(d, 0.8, None), row(d, 0.1, Some(true)), row(d, 0.1, None)];
        let b = baseline();
        let explicit = assess(&rows, assessment(&b, LabelConvention::Explicit));
        let o = explicit.overall.unwrap();
        assert_eq!((o.rows, o.confusion.tp, o.confusion.fn_, o.confusion.fp), (2.0, 1.0, 1.0, 0.0));
        assert_eq!(explicit.coverage, 0.5);
        let positive_only = assess(&rows, assessment(&b, LabelConvention::PositiveOnly { maturity_days: 30 }));
        let o = positive_only.overall.unwrap();
        assert_eq!((o.rows, o.confusion.tp, o.confusion.fp, o.confusion.tn), (4.0, 1.0, 1.0, 1.0));
        assert_eq!(positive_only.coverage, 1.0);
    }

    #[test]
    fn the_span_takes_the_newest_cohorts_that_hold_enough_frauds() {
        let b = baseline();
        let mut rows = Vec::new();
        // 20 caught frauds on day 1, 20 missed ones on day 3 (a new pattern), day 2 unlabelled.
        for _ in 0..20 {
            rows.push(row(date!(2026 - 11 - 01), 0.9, Some(true)));
            rows.push(row(date!(2026 - 11 - 02), 0.2, None));
            rows.push(row(date!(2026 - 11 - 03), 0.1, Some(true)));
        }
        let report = assess(&rows, assessment(&b, LabelConvention::Explicit));
        let span = report.span.unwrap();
        assert_eq!((span.first_day, span.last_day, span.days), (date!(2026 - 11 - 01), date!(2026 - 11 - 03), 2));
        // Reports carry days as ISO dates, for the operator's table and Athena alike.
        let json = serde_json::to_value(&span).unwrap();
        assert_eq!(
            (&json["first_day"], &json["last_day"]),
            (&serde_json::json!("2026-11-01"), &serde_json::json!("2026-11-03"))
        );
        assert!(span.enough_frauds);
        assert_eq!(span.realized.recall, 0.5);
        assert_eq!(report.cohorts.len(), 3);
        assert_eq!(report.cohorts[1].realized, None);
        assert_eq!(report.cohorts[2].realized.unwrap().recall, 0.0);
        assert_eq!(report.cohorts[0].age_days, 2);
        // Ten more missed frauds on day 3 and the span no longer needs day 1.
        rows.extend((0..10).map(|_| row(date!(2026 - 11 - 03), 0.1, Some(true))));
        let span = assess(&rows, assessment(&b, LabelConvention::Explicit)).span.unwrap();
        assert_eq!((span.days, span.realized.recall), (1, 0.0));
    }
}

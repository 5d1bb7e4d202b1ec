//! Data drift between the model's reference sample and a window of traffic, computed as Evidently 0.7's
//! `DataDriftPreset` computes it for numerical columns with its defaults, so a number here and one from an
//! Evidently notebook on the same data agree (`shared/monitor/tests/drift.rs` pins every step against scipy):
//!
//! - NaN and ±inf are dropped from each column first;
//! - a reference of ≤ 1,000 rows: two-sample Kolmogorov-Smirnov ([`ks`]), score = p-value, drift when
//!   p ≤ 0.05;
//! - a larger reference: Wasserstein-1 distance / max(population std of the reference, 0.001)
//!   ([`wasserstein`]), drift when ≥ 0.1;
//! - PSI over Evidently's bins ([`psi`]) as an extra score, not part of the verdict;
//! - dataset drift when the share of drifted features is ≥ 0.5;
//! - prediction drift: the same test on the `fraud_probability` column.
//!
//! When reference and current together hold ≤ 5 distinct values Evidently switches to chi²/z/Jensen-Shannon
//! tests; those columns are refused here ([`DriftError::TooFewDistinctValues`]) rather than scored by a test
//! Evidently would not use. The fraud model's columns are continuous, so this does not happen with its
//! reference.

pub mod attribution;
pub mod dataset;
pub mod kolmogorov;
pub mod ks;
pub mod psi;
pub mod wasserstein;

use serde::{Deserialize, Serialize};

pub use attribution::{Attribution, AttributionBaseline, AttributionDrift};
pub use dataset::{DataError, Dataset};
use fraudwatch_core::schema::{FEATURE_COUNT, FEATURE_NAMES};
pub use psi::Histogram;

/// References up to this many rows get K-S, larger ones Wasserstein (Evidently's default rule).
pub const KS_MAX_REFERENCE_ROWS: usize = 1000;
pub const KS_PVALUE_THRESHOLD: f64 = 0.05;
pub const WASSERSTEIN_THRESHOLD: f64 = 0.1;
/// Dataset drift when at least this share of the features drifted.
pub const DRIFT_SHARE: f64 = 0.5;
/// At or below this many distinct pooled values Evidently treats a column as categorical.
pub const MAX_CATEGORICAL_DISTINCT: usize = 5;
/// The model-score column of the reference and of the logs.
pub const PREDICTION_COLUMN: &str = "fraud_probability";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DriftError {
    #[error("column {column}: no finite values in the {side} data")]
    EmptyColumn { column: String, side: &'static str },
    #[error(
        "column {column}: only {distinct} distinct values in reference and current together; Evidently would use a \
         categorical test (chi²/z/Jensen-Shannon) that this build does not implement"
    )]
    TooFewDistinctValues { column: String, distinct: usize },
}

/// The finite values of a column, ascending: what every statistic here reads, sorted once per column.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedSample(Vec<f64>);

impl SortedSample {
    /// Drops NaN and ±inf (as Evidently does before testing) and sorts.
    pub fn new(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_unstable_by(f64::total_cmp);
        SortedSample(v)
    }

    pub fn values(&self) -> &[f64] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of distinct values, counting no further than `limit`.
    pub fn count_distinct(&self, limit: usize) -> usize {
        count_distinct_sorted(self.0.iter().copied(), limit)
    }
}

fn count_distinct_sorted(sorted: impl Iterator<Item = f64>, limit: usize) -> usize {
    let mut count = 0;
    let mut last = None;
    for x in sorted {
        if last != Some(x) {
            count += 1;
            if count >= limit {
                break;
            }
            last = Some(x);
        }
    }
    count
}

/// Distinct values of two sorted samples pooled, counting no further than `limit`.
fn count_distinct_pooled(a: &SortedSample, b: &SortedSample, limit: usize) -> usize {
    let (a, b) = (a.values(), b.values());
    let (mut i, mut j) = (0, 0);
    let merged = std::iter::from_fn(|| match (a.get(i), b.get(j)) {
        (Some(&x), Some(&y)) if x <= y => {
            i += 1;
            Some(x)
        }
        (_, Some(&y)) => {
            j += 1;
            Some(y)
        }
        (Some(&x), None) => {
            i += 1;
            Some(x)
        }
        (None, None) => None,
    });
    count_distinct_sorted(merged, limit)
}

/// The test a column got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Two-sample Kolmogorov-Smirnov; the score is the p-value.
    Ks,
    /// Normalised Wasserstein-1 distance; the score is the distance in reference standard deviations.
    Wasserstein,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Wasserstein => "wasserstein",
        }
    }

    /// What "drifted" means for this score.
    pub fn rule(self) -> &'static str {
        match self {
            Method::Ks => "p ≤ threshold",
            Method::Wasserstein => "score ≥ threshold",
        }
    }
}

/// Location and spread of one side of a column, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub p25: f64,
    pub median: f64,
    pub p75: f64,
    pub max: f64,
}

impl Summary {
    fn of(sample: &SortedSample) -> Self {
        let v = sample.values();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        Summary {
            count: v.len(),
            mean,
            std: wasserstein::population_std(v),
            min: v[0],
            p25: quantile(v, 0.25),
            median: quantile(v, 0.5),
            p75: quantile(v, 0.75),
            max: v[v.len() - 1],
        }
    }
}

/// numpy's default (linear) quantile of sorted, non-empty values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// One column's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    pub column: String,
    pub method: Method,
    /// K-S: the p-value; Wasserstein: distance / max(reference std, 0.001).
    pub score: f64,
    pub threshold: f64,
    pub drifted: bool,
    /// K-S: D; Wasserstein: the distance before normalising.
    pub statistic: f64,
    pub psi: f64,
    pub reference: Summary,
    pub current: Summary,
    pub histogram: Histogram,
}

/// Tests `current` against `reference` for one column with Evidently's default test for it.
pub fn column_drift(column: &str, reference: &[f64], current: &[f64]) -> Result<ColumnDrift, DriftError> {
    let r = SortedSample::new(reference);
    let c = SortedSample::new(current);
    for (sample, side) in [(&r, "reference"), (&c, "current")] {
        if sample.is_empty() {
            return Err(DriftError::EmptyColumn { column: column.into(), side });
        }
    }
    let distinct = count_distinct_pooled(&r, &c, MAX_CATEGORICAL_DISTINCT + 1);
    if distinct <= MAX_CATEGORICAL_DISTINCT {
        return Err(DriftError::TooFewDistinctValues { column: column.into(), distinct });
    }
    let (method, score, threshold, drifted, statistic) = if r.len() <= KS_MAX_REFERENCE_ROWS {
        let t = ks::ks_2samp(&r, &c);
        (Method::Ks, t.pvalue, KS_PVALUE_THRESHOLD, t.pvalue <= KS_PVALUE_THRESHOLD, t.statistic)
    } else {
        let t = wasserstein::normalized_wasserstein(&r, &c);
        (Method::Wasserstein, t.score, WASSERSTEIN_THRESHOLD, t.score >= WASSERSTEIN_THRESHOLD, t.distance)
    };
    let psi = psi::psi(&r, &c);
    Ok(ColumnDrift {
        column: column.into(),
        method,
        score,
        threshold,
        drifted,
        statistic,
        psi: psi.value,
        reference: Summary::of(&r),
        current: Summary::of(&c),
        histogram: psi.histogram,
    })
}

/// The verdict over all features, plus prediction drift when both sides carry model scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// In [`FEATURE_NAMES`] order.
    pub features: Vec<ColumnDrift>,
    pub number_of_columns: usize,
    pub number_of_drifted_columns: usize,
    pub share_of_drifted_columns: f64,
    pub drift_share: f64,
    pub dataset_drift: bool,
    pub prediction: Option<ColumnDrift>,
}

/// Compares every feature (and the prediction column, if both have it) of `current` with `reference`.
pub fn compare(reference: &Dataset, current: &Dataset) -> Result<DatasetDrift, DriftError> {
    let features = (0..FEATURE_COUNT)
        .map(|i| column_drift(FEATURE_NAMES[i], reference.feature(i), current.feature(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let prediction = match (reference.prediction(), current.prediction()) {
        (Some(r), Some(c)) => Some(column_drift(PREDICTION_COLUMN, r, c)?),
        _ => None,
    };
    let drifted = features.iter().filter(|f| f.drifted).count();
    let share = drifted as f64 / features.len() as f64;
    Ok(DatasetDrift {
        number_of_columns: features.len(),
        number_of_drifted_columns: drifted,
        share_of_drifted_columns: share,
        drift_share: DRIFT_SHARE,
        dataset_drift: share >= DRIFT_SHARE,
        features,
        prediction,
    })
}

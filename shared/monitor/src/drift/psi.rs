//! Population Stability Index exactly as Evidently 0.7 bins it (`stattests.utils.get_binned_data` with
//! `feel_zeroes=True`, then `psi`), which differs from textbook PSI in ways that change the number:
//!
//! - a reference with more than 20 distinct values gets `np.histogram_bin_edges(ref ++ cur, "sturges")`:
//!   k = ceil(ptp / (ptp / (log2 N + 1))) equal-width bins over the pooled [min, max] (N pooled values;
//!   Evidently's own bin count is ignored), half-open except the last, which is closed;
//! - otherwise one bin per distinct pooled value;
//! - zero shares become min(non-zero share) / 1e6 when that minimum is ≤ 1e-4, else 1e-4, separately for
//!   reference and current, without renormalising;
//! - PSI = Σ (r − c) · ln(r / c).
//!
//! The bins double as the histograms of the HTML report.

use serde::{Deserialize, Serialize};

use super::SortedSample;

/// Above this many distinct reference values a column is binned by Sturges' rule.
pub const MAX_DISTINCT_FOR_VALUE_BINS: usize = 20;

/// How the values were binned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "binning", rename_all = "snake_case")]
pub enum Bins {
    /// k equal-width bins: k + 1 edges.
    Sturges { edges: Vec<f64> },
    /// One bin per distinct value.
    DistinctValues { values: Vec<f64> },
}

/// Reference and current counts over the same bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    #[serde(flatten)]
    pub bins: Bins,
    pub reference_counts: Vec<u64>,
    pub current_counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Psi {
    pub histogram: Histogram,
    /// Shares after the zero fill.
    pub reference_percents: Vec<f64>,
    pub current_percents: Vec<f64>,
    /// The value that replaced zero shares, if any were zero.
    pub reference_zero_fill: Option<f64>,
    pub current_zero_fill: Option<f64>,
    pub value: f64,
}

pub fn psi(reference: &SortedSample, current: &SortedSample) -> Psi {
    let histogram = histogram(reference, current);
    let (reference_percents, reference_zero_fill) = shares(&histogram.reference_counts, reference.len());
    let (current_percents, current_zero_fill) = shares(&histogram.current_counts, current.len());
    let value = reference_percents.iter().zip(&current_percents).map(|(r, c)| (r - c) * (r / c).ln()).sum();
    Psi { histogram, reference_percents, current_percents, reference_zero_fill, current_zero_fill, value }
}

fn histogram(reference: &SortedSample, current: &SortedSample) -> Histogram {
    let (r, c) = (reference.values(), current.values());
    if reference.count_distinct(MAX_DISTINCT_FOR_VALUE_BINS + 1) > MAX_DISTINCT_FOR_VALUE_BINS {
        let edges = sturges_edges(r, c);
        Histogram {
            reference_counts: edge_counts(r, &edges),
            current_counts: edge_counts(c, &edges),
            bins: Bins::Sturges { edges },
        }
    } else {
        let values = pooled_distinct(r, c);
        Histogram {
            reference_counts: value_counts(r, &values),
            current_counts: value_counts(c, &values),
            bins: Bins::DistinctValues { values },
        }
    }
}

/// `np.histogram_bin_edges(ref ++ cur, bins="sturges")` for pooled data with min < max.
fn sturges_edges(r: &[f64], c: &[f64]) -> Vec<f64> {
    let lo = r[0].min(c[0]);
    let hi = r[r.len() - 1].max(c[c.len() - 1]);
    let pooled = (r.len() + c.len()) as f64;
    let width = (hi - lo) / (pooled.log2() + 1.0);
    let k = ((hi - lo) / width).ceil() as usize;
    // np.linspace(lo, hi, k + 1): i · step + lo, with the last edge exactly hi.
    let step = (hi - lo) / k as f64;
    let mut edges: Vec<f64> = (0..k).map(|i| i as f64 * step + lo).collect();
    edges.push(hi);
    edges
}

/// `np.histogram(x, edges)` on sorted x: bin i holds edges[i] ≤ x < edges[i+1], the last bin also x = hi.
fn edge_counts(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let k = edges.len() - 1;
    let below = |e: f64| sorted.partition_point(|&x| x < e);
    let mut cumulative: Vec<usize> = edges[..k].iter().map(|&e| below(e)).collect();
    cumulative.push(sorted.partition_point(|&x| x <= edges[k]));
    cumulative.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

/// The distinct values of both sorted samples, ascending.
fn pooled_distinct(r: &[f64], c: &[f64]) -> Vec<f64> {
    let mut values: Vec<f64> = r.iter().chain(c).copied().collect();
    values.sort_unstable_by(f64::total_cmp);
    values.dedup();
    values
}

fn value_counts(sorted: &[f64], values: &[f64]) -> Vec<u64> {
    values.iter().map(|&v| (sorted.partition_point(|&x| x <= v) - sorted.partition_point(|&x| x < v)) as u64).collect()
}

/// count / n per bin, zeros filled by Evidently's rule; returns the fill value used, if any.
fn shares(counts: &[u64], n: usize) -> (Vec<f64>, Option<f64>) {
    let mut shares: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    if !shares.contains(&0.0) {
        return (shares, None);
    }
    let min_nonzero = shares.iter().copied().filter(|&s| s != 0.0).fold(f64::INFINITY, f64::min);
    let fill = if min_nonzero <= 0.0001 { min_nonzero / 1e6 } else { 0.0001 };
    shares.iter_mut().filter(|s| **s == 0.0).for_each(|s| *s = fill);
    (shares, Some(fill))
}

//! Feature-attribution drift, as SageMaker Clarify's model-explainability monitor judges it: rank the features
//! by their global attribution — the mean |TreeSHAP contribution| over the rows (Clarify's `agg_method`
//! `mean_abs`) — in the reference and in the window, and compare the window's ranking with the reference's by
//! nDCG, the reference's attributions being the relevance:
//!
//! ```text
//! F  = features sorted by reference attribution a(f), F' = features sorted by window attribution
//! DCG = Σ_i a(F'_i) / log2(i + 1),  iDCG = Σ_i a(F_i) / log2(i + 1)  (i from 1),  nDCG = DCG / iDCG
//! ```
//!
//! 1 means the same ranking; Clarify reports a violation below 0.9
//! ([`fraudwatch_core::alert_thresholds::ATTRIBUTION_NDCG_ALERT`]). This is scikit-learn's `ndcg_score` with
//! `y_true` = the reference attributions and `y_score` = the window's; features tied in the window share their
//! positions' discounts, as scikit-learn averages ties (`shared/monitor/tests/attribution.rs` pins it against
//! `training/attribution_expected.py`).
//!
//! Both sides are explained here, from their features, with the serving model's explainer: predict only explains
//! the predictions a caller asks about (`?explain=true`), so the logged reasons are a biased sample of the
//! traffic, and only their top few features.

use fraudwatch_core::alert_thresholds::ATTRIBUTION_NDCG_ALERT;
use fraudwatch_core::schema::{Features, FEATURE_COUNT, FEATURE_NAMES};
use fraudwatch_explain::Explainer;
use serde::{Deserialize, Serialize};

use super::Dataset;

/// The global attribution of a set of rows: mean |contribution| per feature (log-odds), in
/// [`FEATURE_NAMES`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub rows: usize,
    pub mean_abs_contribution: Vec<f64>,
}

impl Attribution {
    /// Explains every row of `data` (a row's NaN, a missing CSV cell, takes the trees' missing-value branch).
    pub fn of(explainer: &Explainer, data: &Dataset) -> Self {
        let rows = data.rows();
        let mut sums = [0f64; FEATURE_COUNT];
        for r in 0..rows {
            // Exact: the columns hold float32 values widened to f64 (the log records' and the CSV's, as the
            // model read them).
            let features: Features = std::array::from_fn(|j| data.feature(j)[r] as f32);
            for (sum, c) in sums.iter_mut().zip(explainer.contributions(&features).features) {
                *sum += c.abs();
            }
        }
        let mean_abs_contribution = sums.iter().map(|s| if rows == 0 { 0.0 } else { s / rows as f64 }).collect();
        Attribution { rows, mean_abs_contribution }
    }

    /// (feature, mean |contribution|), largest first; equal values keep feature order.
    pub fn ranking(&self) -> Vec<(&'static str, f64)> {
        let mut ranked: Vec<(&'static str, f64)> =
            FEATURE_NAMES.iter().copied().zip(self.mean_abs_contribution.iter().copied()).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
    }
}

/// scikit-learn's `ndcg_score([relevance], [scores])` (log base 2, no cut-off, ties in `scores` averaged): how
/// well ordering the items by `scores` keeps the most relevant ones on top. 0 when every relevance is 0.
pub fn ndcg(relevance: &[f64], scores: &[f64]) -> f64 {
    assert_eq!(relevance.len(), scores.len(), "one score per item");
    let discount = |position: usize| 1.0 / ((position + 2) as f64).log2();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut dcg, mut start) = (0.0, 0);
    for group in order.chunk_by(|&a, &b| scores[a] == scores[b]) {
        let mean_gain = group.iter().map(|&i| relevance[i]).sum::<f64>() / group.len() as f64;
        dcg += mean_gain * (start..start + group.len()).map(discount).sum::<f64>();
        start += group.len();
    }
    let mut ideal = relevance.to_vec();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let ideal_dcg: f64 = ideal.iter().enumerate().map(|(i, r)| r * discount(i)).sum();
    if ideal_dcg == 0.0 {
        0.0
    } else {
        dcg / ideal_dcg
    }
}

/// The window's attribution ranking against the reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionDrift {
    pub reference: Attribution,
    pub window: Attribution,
    /// nDCG of the window's ranking, the reference's attributions as relevance.
    pub ndcg: f64,
    pub threshold: f64,
    /// `ndcg < threshold`: Clarify's violation.
    pub drifted: bool,
}

/// The model's explainer and its reference's attribution, computed once at start-up.
#[derive(Debug, Clone)]
pub struct AttributionBaseline {
    pub explainer: Explainer,
    pub reference: Attribution,
}

impl AttributionBaseline {
    pub fn new(explainer: Explainer, reference: &Dataset) -> Self {
        let reference = Attribution::of(&explainer, reference);
        AttributionBaseline { explainer, reference }
    }

    /// Explains every row of `window` and compares its ranking with the reference's.
    pub fn compare(&self, window: &Dataset) -> AttributionDrift {
        let window = Attribution::of(&self.explainer, window);
        let ndcg = ndcg(&self.reference.mean_abs_contribution, &window.mean_abs_contribution);
        AttributionDrift {
            reference: self.reference.clone(),
            window,
            ndcg,
            threshold: ATTRIBUTION_NDCG_ALERT,
            drifted: ndcg < ATTRIBUTION_NDCG_ALERT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_ranking_scores_one_and_a_scaled_one_too() {
        let a = [0.7, 0.5, 0.05];
        assert_eq!(ndcg(&a, &a), 1.0);
        assert_eq!(ndcg(&a, &[7.0, 5.0, 0.5]), 1.0);
        assert_eq!(ndcg(&[0.0; 3], &a), 0.0, "no relevance at all");
    }

    #[test]
    fn ties_in_the_window_share_their_discounts() {
        // Both tied items get the mean gain (0.6) at positions 1 and 2.
        let tied = ndcg(&[0.7, 0.5, 0.05], &[1.0, 1.0, 0.0]);
        let ideal = 0.7 + 0.5 / 3f64.log2() + 0.05 / 2.0;
        assert!((tied - (0.6 + 0.6 / 3f64.log2() + 0.05 / 2.0) / ideal).abs() < 1e-15, "{tied}");
    }
}

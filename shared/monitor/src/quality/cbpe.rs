//! Performance estimated without labels: NannyML's confidence-based performance estimation (CBPE) with the
//! model card's calibrator.
//!
//! The model's score is not a probability (XGBoost with `scale_pos_weight` ≈ 80, trained on undersampled
//! normals), so `training/calibration.py` fits a Platt calibrator at live prevalence and ships it in the card:
//! `p = 1 / (1 + exp(−(a·ln(s_c / (1 − s_c)) + b)))` with `s_c` = the score clipped to the card's `clip`. If p is
//! the probability of fraud, a flagged row is an expected `p` true positive and `1 − p` false positive, an unflagged
//! one an expected `p` false negative, so precision and recall at the threshold can be estimated from scores
//! alone. NannyML 0.13.1's own `CBPE` gives the same numbers on the same rows (`shared/monitor/tests/quality.rs`,
//! against `shared/tests/fixtures/calibration_expected.json`).
//!
//! CBPE assumes the relation between features and fraud is the one the model learnt. A new fraud pattern that looks
//! legitimate (the `concept-drift` incident) scores low, so CBPE expects no fraud there and its estimate stays put:
//! only labels show that kind of failure, which is why the realized metrics exist beside it.

use fraudwatch_core::card::Calibration;
use serde::{Deserialize, Serialize};

use super::metrics::Confusion;

/// The calibrated probability of fraud of a model score (float64 throughout, as the card's formula says).
pub fn calibrated(calibration: &Calibration, score: f64) -> f64 {
    let s = score.clamp(calibration.clip.min, calibration.clip.max);
    let z = (s / (1.0 - s)).ln();
    1.0 / (1.0 + (-(calibration.a * z + calibration.b)).exp())
}

/// CBPE's estimate for a set of rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Weight of the rows estimated.
    pub rows: f64,
    /// The expected confusion counts: TP = Σ_flagged w·p, FP = Σ_flagged w·(1 − p), FN = Σ_unflagged w·p, TN the rest.
    pub confusion: Confusion,
    pub precision: f64,
    pub recall: f64,
}

impl Estimate {
    /// The frauds the calibrated scores expect among the rows (Σ w·p).
    pub fn expected_frauds(&self) -> f64 {
        self.confusion.positives()
    }

    /// Weight of the flagged rows.
    pub fn flagged(&self) -> f64 {
        self.confusion.flagged()
    }
}

/// CBPE over `(score, weight)` rows, a score ≥ `threshold` being flagged; `None` for no rows.
pub fn estimate(
    rows: impl IntoIterator<Item = (f64, f64)>,
    threshold: f64,
    calibration: &Calibration,
) -> Option<Estimate> {
    let mut c = Confusion::default();
    let mut total = 0.0;
    for (score, weight) in rows {
        let p = calibrated(calibration, score);
        total += weight;
        if score >= threshold {
            c.tp += weight * p;
            c.fp += weight * (1.0 - p);
        } else {
            c.fn_ += weight * p;
            c.tn += weight * (1.0 - p);
        }
    }
    (total > 0.0).then(|| Estimate { rows: total, precision: c.precision(), recall: c.recall(), confusion: c })
}

//! Realized classification metrics over weighted rows, defined as scikit-learn 1.9 defines them
//! (`shared/monitor/tests/quality.rs` pins each against `shared/tests/fixtures/quality_expected.json`, written by
//! `training/quality_expected.py` with scikit-learn, to 1e-9, weighted cases included):
//!
//! - `precision_score`, `recall_score`, `f1_score` with `zero_division=0` and `sample_weight`: a row is flagged
//!   when its score is ≥ the threshold; F1 = 2·TP / (2·TP + FP + FN);
//! - `average_precision_score`: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct scores in descending order (R₀ = 0), each
//!   distinct score taken as a threshold with all its tied rows; 0 when no row is positive;
//! - recall at an alert budget (scikit-learn has none): the rows with the highest scores whose weight first reaches
//!   `budget` × the total weight, every row tied with the last of them included.
//!
//! Weights are what make a sample stand for a window: a sampled row of weight 10 counts as the 10 rows it
//! represents (`super`).

use serde::{Deserialize, Serialize};

/// One scored row with its truth and weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub score: f64,
    pub fraud: bool,
    pub weight: f64,
}

/// Weighted confusion counts at a threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: f64,
    pub fp: f64,
    #[serde(rename = "fn")]
    pub fn_: f64,
    pub tn: f64,
}

impl Confusion {
    /// TP / (TP + FP), 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// TP / (TP + FN), 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// 2·TP / (2·TP + FP + FN), 0 when all three are 0.
    pub fn f1(&self) -> f64 {
        ratio(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn_)
    }

    /// Weight of the flagged rows.
    pub fn flagged(&self) -> f64 {
        self.tp + self.fp
    }

    /// Weight of the positive rows.
    pub fn positives(&self) -> f64 {
        self.tp + self.fn_
    }
}

/// `numerator / denominator`, 0 when the denominator is 0 (scikit-learn's `zero_division=0`).
pub fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// A sum with Neumaier's compensation: within an ulp or two of the exact sum, so it agrees with numpy's pairwise
/// `np.sum` over thousands of unequal weights where a plain running sum drifts by 1e-9 (scikit-learn's confusion
/// counts, by contrast, are `np.bincount`'s running sums, which [`confusion`] reproduces).
pub fn compensated_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut compensation) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        compensation += if sum.abs() >= v.abs() { (sum - t) + v } else { (v - t) + sum };
        sum = t;
    }
    sum + compensation
}

/// The confusion counts of `rows` when a score ≥ `threshold` is flagged.
pub fn confusion(rows: &[Row], threshold: f64) -> Confusion {
    let mut c = Confusion::default();
    for r in rows {
        match (r.score >= threshold, r.fraud) {
            (true, true) => c.tp += r.weight,
            (true, false) => c.fp += r.weight,
            (false, true) => c.fn_ += r.weight,
            (false, false) => c.tn += r.weight,
        }
    }
    c
}

/// Rows sorted by score, highest first, ties in their given order (numpy's stable `argsort(-score)`: only the
/// budget's `k` depends on it, never a metric).
fn by_score_descending(rows: &[Row]) -> Vec<Row> {
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    sorted
}

/// scikit-learn's `average_precision_score(y, score, sample_weight=w)`.
pub fn average_precision(rows: &[Row]) -> f64 {
    let sorted = by_score_descending(rows);
    let positives: f64 = sorted.iter().filter(|r| r.fraud).map(|r| r.weight).sum();
    if positives == 0.0 {
        return 0.0;
    }
    let (mut tp, mut fp, mut recall_before, mut ap) = (0.0, 0.0, 0.0, 0.0);
    for (i, r) in sorted.iter().enumerate() {
        if r.fraud {
            tp += r.weight;
        } else {
            fp += r.weight;
        }
        // A threshold at each distinct score: close the tie group before taking its point.
        if sorted.get(i + 1).is_some_and(|next| next.score == r.score) {
            continue;
        }
        let recall = tp / positives;
        ap += (recall - recall_before) * ratio(tp, tp + fp);
        recall_before = recall;
    }
    ap
}

/// Recall (and precision) when only the top `budget` share of the rows, by weight, can be reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetRecall {
    pub budget: f64,
    pub total_weight: f64,
    pub target_weight: f64,
    /// How many of the highest-scored rows first reach the target weight.
    pub k: usize,
    /// The k-th highest score: every row scored at least this is flagged.
    pub cut_score: f64,
    pub flagged_rows: usize,
    pub flagged_weight: f64,
    pub flagged_weight_share: f64,
    pub tp_weight: f64,
    pub positive_weight: f64,
    pub recall: f64,
    pub precision: f64,
}

/// Recall at an alert budget `budget` (a share of the total weight), `None` for no rows.
pub fn recall_at_budget(rows: &[Row], budget: f64) -> Option<BudgetRecall> {
    let sorted = by_score_descending(rows);
    let total_weight = compensated_sum(sorted.iter().map(|r| r.weight));
    let target_weight = budget * total_weight;
    let mut cumulative = 0.0;
    let mut k = sorted.len();
    for (i, r) in sorted.iter().enumerate() {
        cumulative += r.weight;
        if cumulative >= target_weight {
            k = i + 1;
            break;
        }
    }
    let cut_score = sorted.get(k.checked_sub(1)?)?.score;
    let weight_of = |keep: &dyn Fn(&Row) -> bool| compensated_sum(sorted.iter().filter(|r| keep(r)).map(|r| r.weight));
    let flagged_weight = weight_of(&|r| r.score >= cut_score);
    let tp_weight = weight_of(&|r| r.score >= cut_score && r.fraud);
    let positive_weight = weight_of(&|r| r.fraud);
    Some(BudgetRecall {
        budget,
        total_weight,
        target_weight,
        k,
        cut_score,
        flagged_rows: sorted.iter().filter(|r| r.score >= cut_score).count(),
        flagged_weight,
        flagged_weight_share: ratio(flagged_weight, total_weight),
        tp_weight,
        positive_weight,
        recall: ratio(tp_weight, positive_weight),
        precision: ratio(tp_weight, flagged_weight),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(scores: &[f64], frauds: &[bool]) -> Vec<Row> {
        scores.iter().zip(frauds).map(|(&score, &fraud)| Row { score, fraud, weight: 1.0 }).collect()
    }

    #[test]
    fn a_tie_group_is_one_threshold() {
        // Two rows tied at 0.5, one fraud: AP must not depend on which of them comes first.
        let a = rows(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]);
        let b = rows(&[0.9, 0.5, 0.5, 0.1], &[true, false, true, false]);
        assert_eq!(average_precision(&a), average_precision(&b));
        // P at 0.9 = 1 (R 0.5), at 0.5 = 2/3 (R 1.0): AP = 0.5 + 0.5·2/3.
        assert!((average_precision(&a) - (0.5 + 1.0 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn weights_count_rows_they_stand_for() {
        let weighted = [Row { score: 0.8, fraud: false, weight: 3.0 }, Row { score: 0.9, fraud: true, weight: 1.0 }];
        let repeated = rows(&[0.8, 0.8, 0.8, 0.9], &[false, false, false, true]);
        assert_eq!(confusion(&weighted, 0.5), confusion(&repeated, 0.5));
        assert_eq!(average_precision(&weighted), average_precision(&repeated));
        assert_eq!(recall_at_budget(&weighted, 0.5).unwrap().recall, recall_at_budget(&repeated, 0.5).unwrap().recall);
        assert!(recall_at_budget(&[], 0.5).is_none());
    }
}

//! Evidently's `wasserstein` stattest: scipy `stats.wasserstein_distance(reference, current)` divided by
//! max(`np.std(reference)`, 0.001) (population std, ddof = 0), drift when the ratio is ≥ 0.1.

use super::SortedSample;

/// The normaliser's floor, so a near-constant reference does not turn noise into drift.
pub const MIN_NORM: f64 = 0.001;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WassersteinTest {
    pub distance: f64,
    pub reference_std: f64,
    pub norm: f64,
    /// distance / norm.
    pub score: f64,
}

pub fn normalized_wasserstein(reference: &SortedSample, current: &SortedSample) -> WassersteinTest {
    let distance = wasserstein_distance(reference, current);
    let reference_std = population_std(reference.values());
    let norm = reference_std.max(MIN_NORM);
    WassersteinTest { distance, reference_std, norm, score: distance / norm }
}

/// ∫ |U − V|, the area between the two empirical CDFs, in one merge pass over the sorted samples
/// (scipy sums |U − V| × the gap to the next pooled value; equal pooled values add nothing).
pub fn wasserstein_distance(u: &SortedSample, v: &SortedSample) -> f64 {
    let (u, v) = (u.values(), v.values());
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut total = 0.0;
    while i < u.len() || j < v.len() {
        let x = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => unreachable!("loop condition"),
        };
        while i < u.len() && u[i] <= x {
            i += 1;
        }
        while j < v.len() && v[j] <= x {
            j += 1;
        }
        let next = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        total += (i as f64 / nu - j as f64 / nv).abs() * (next - x);
    }
    total
}

/// `np.std(x)`: the population standard deviation, by the two-pass formula.
pub fn population_std(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

//! The two-sample Kolmogorov-Smirnov test, two-sided, as scipy 1.17 `stats.ks_2samp(a, b)` computes it
//! with its default `method="auto"` (what Evidently's `ks` stattest calls):
//!
//! - D = max |F_a − F_b| over the pooled values, the empirical CDFs counted with ties (`side="right"`);
//! - when max(n1, n2) ≤ 10,000 the exact p-value: D is snapped to h / lcm(n1, n2) and
//!   P(D ≥ h / lcm) is counted over lattice paths (`_compute_prob_outside_square` for n1 = n2, else
//!   `_compute_outer_prob_inside_method`, Hodges' inside method in Viehmann's 1 − p recursion);
//! - otherwise, or if the exact computation leaves [0, 1], `kstwo.sf(D, round(n1·n2/(n1+n2)))`.

use serde::{Deserialize, Serialize};

use super::kolmogorov::kstwo_sf;
use super::SortedSample;

/// `ks_2samp`'s `MAX_AUTO_N`: the largest sample for which "auto" computes the exact p-value.
pub const EXACT_MAX_N: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PValueMethod {
    Exact,
    /// scipy's "asymp": the finite-n one-sample distribution at the effective sample size.
    Asymp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsTest {
    /// D, the largest distance between the two empirical CDFs.
    pub statistic: f64,
    pub pvalue: f64,
    pub pvalue_method: PValueMethod,
}

/// The two-sided two-sample K-S test of `a` against `b` (both non-empty).
pub fn ks_2samp(a: &SortedSample, b: &SortedSample) -> KsTest {
    let (a, b) = (a.values(), b.values());
    let (n1, n2) = (a.len(), b.len());
    assert!(n1 > 0 && n2 > 0, "ks_2samp needs two non-empty samples");
    let d = statistic(a, b);
    if n1.max(n2) <= EXACT_MAX_N {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) * n2;
        let h = (d * lcm as f64).round() as usize;
        let d_exact = h as f64 / lcm as f64;
        if h == 0 {
            return KsTest { statistic: d_exact, pvalue: 1.0, pvalue_method: PValueMethod::Exact };
        }
        let p = if n1 == n2 { prob_outside_square(n1, h) } else { outer_prob_inside(n1, n2, g, h) };
        if (0.0..=1.0).contains(&p) {
            return KsTest { statistic: d_exact, pvalue: p, pvalue_method: PValueMethod::Exact };
        }
        // scipy falls back to "asymp" with the snapped statistic.
        return asymp(d_exact, n1, n2);
    }
    asymp(d, n1, n2)
}

fn asymp(d: f64, n1: usize, n2: usize) -> KsTest {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = m * n / (m + n);
    // np.round rounds halves to even.
    let pvalue = kstwo_sf(d, en.round_ties_even() as u64).clamp(0.0, 1.0);
    KsTest { statistic: d, pvalue, pvalue_method: PValueMethod::Asymp }
}

/// max(max(F_a − F_b), −min(F_a − F_b)) evaluated at every pooled value, each CDF value computed as
/// count / n like numpy's `searchsorted(..., "right") / n`, so D is the same double as scipy's.
fn statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let (mut max_diff, mut min_diff) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => unreachable!("loop condition"),
        };
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_s = (-min_diff).clamp(0.0, 1.0);
    if min_s > max_diff {
        min_s
    } else {
        max_diff
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D_{n,n} ≥ h/n): 2 Σ_k (−1)^(k−1) C(2n, n − kh) / C(2n, n), by scipy's Horner-like product form
/// (which avoids the alternating sum's cancellation).
fn prob_outside_square(n: usize, h: usize) -> f64 {
    let (n, h) = (n as i64, h as i64);
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The share of lattice paths from (0, 0) to (m, n) that leave the band |x/m − y/n| < h / lcm(m, n):
/// the exact two-sided p-value for unequal sizes (scipy `_compute_outer_prob_inside_method`).
fn outer_prob_inside(m: usize, n: usize, g: usize, h: usize) -> f64 {
    // Symmetric in m and n; the recursion walks the longer side.
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let (mg, ng) = (m / g, n / g);
    let floor_div = |a: i64, b: i64| a.div_euclid(b);
    let ceil_div = |a: i64, b: i64| -(-a).div_euclid(b);
    // One column of the path counts, as a sliding window [minj, maxj). scipy allocates
    // min(2 maxj + 2, n + 1) entries; n + 1 always holds the window, so indexing can never leave it.
    let mut minj = 0i64;
    let mut maxj = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len = (n + 1) as usize;
    let mut a = vec![1.0f64; len];
    a[minj as usize..maxj as usize].fill(0.0);
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            // Entries carried over from the longer previous window count as "outside" (1).
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(len);
            a[from..to].fill(1.0);
        }
    }
    a[(maxj - minj - 1) as usize]
}

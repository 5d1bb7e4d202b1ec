//! The distribution of the two-sided one-sample Kolmogorov-Smirnov statistic D_n for a finite n,
//! `scipy.stats.kstwo`. Two-sample K-S (scipy `ks_2samp`, method "asymp") takes its p-value from here
//! once max(n1, n2) > 10,000.
//!
//! A port of scipy 1.17 `scipy/stats/_ksstats.py` (`_kolmogn` and the methods it picks between, after
//! Simard & L'Ecuyer 2011: Ruben-Gambino, the Durbin matrix in Marsaglia-Tsang-Wang form, Pomeranz,
//! Pelz-Good, and 2 × Smirnov's one-sided sum). The one-sided sum is xsf's `cephes/kolmogorov.h` `_smirnov`,
//! evaluated in f64 log space instead of double-double: its terms are positive, so that costs ~1e-13
//! relative, far inside what a p-value needs. The branch thresholds are scipy's, unchanged, because they
//! decide which approximation a p-value gets.

const E128: i32 = 128;
/// 2^128 and 2^-128: the rescaling steps scipy uses to keep intermediate products in range.
const EP128: f64 = 3.402_823_669_209_385e38;
const EM128: f64 = 2.938_735_877_055_719e-39;
const MIN_LOG: f64 = -708.0;
/// cephes MINLOG = log(2^-1022): exp of anything below underflows.
const CEPHES_MINLOG: f64 = -7.083_964_185_322_641e2;
const SMIRNOV_MAX_COMPUTE_N: u64 = 1_000_000;
/// B_2j / (2j (2j - 1)) for j = 8..1: the Stirling series of log(n!).
// Verbatim from scipy, so the port can be checked against its source.
#[allow(clippy::excessive_precision)]
const STIRLING_COEFFS: [f64; 8] = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
];

/// P(D_n > d) for the two-sided one-sample statistic with n observations (`scipy.stats.kstwo.sf(d, n)`).
pub fn kstwo_sf(d: f64, n: u64) -> f64 {
    assert!(n > 0, "kstwo needs n >= 1");
    let nf = n as f64;
    if d.is_nan() {
        return f64::NAN;
    }
    if d >= 1.0 {
        return 0.0;
    }
    if d <= 0.0 {
        return 1.0;
    }
    let t = nf * d;
    if t <= 1.0 {
        // Ruben-Gambino: 1/(2n) <= d <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).map(|i| i as f64 * (1.0 / nf) * (2.0 * t - 1.0)).product::<f64>()
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - d).powf(nf));
    }
    if d >= 0.5 {
        return clip(2.0 * smirnov_sf(n, d));
    }
    let nx_squared = t * d;
    if n <= 140 {
        if nx_squared <= 0.754693 {
            return clip(1.0 - durbin_cdf(n, d));
        }
        if nx_squared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, d));
        }
        return clip(2.0 * smirnov_sf(n, d));
    }
    if nx_squared >= 370.0 {
        return 0.0;
    }
    if nx_squared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, d));
    }
    let cdf = if n <= 100_000 && nf * d.powf(1.5) <= 1.4 { durbin_cdf(n, d) } else { pelz_good_cdf(n, d) };
    clip(1.0 - clip(cdf))
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// log(n! / n^n) by Stirling's series, with n log n removed up front against cancellation.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    let rn = 1.0 / n;
    let series = STIRLING_COEFFS.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * series
}

/// P(D_n <= d) by Durbin's matrix algorithm as Marsaglia, Tsang & Wang (2003) compute it (`_kolmogn_DMTW`).
fn durbin_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    // v: first column (and, reversed, last row) of H; w[j] = 1/j!.
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hm = Matrix::zeros(m);
    for i in 1..m {
        for r in (i - 1)..m {
            hm.set(r, i, w[r - (i - 1)]);
        }
    }
    for (r, &x) in v.iter().enumerate() {
        hm.set(r, 0, x);
    }
    for c in 0..m {
        hm.set(m - 1, c, v[m - 1 - c]);
    }

    let mut power = Matrix::identity(m);
    let mut nn = n;
    let mut exponent = 0i32;
    let mut h_exponent = 0i32;
    while nn > 0 {
        if nn % 2 == 1 {
            power = power.mul(&hm);
            exponent += h_exponent;
        }
        hm = hm.mul(&hm);
        h_exponent *= 2;
        if hm.get(k - 1, k - 1).abs() > EP128 {
            hm.scale(1.0 / EP128);
            h_exponent += E128;
        }
        nn /= 2;
    }
    let mut p = power.get(k - 1, k - 1);
    // Multiply by n!/n^n.
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            exponent -= E128;
        }
    }
    if exponent != 0 {
        p = ldexp(p, exponent);
    }
    clip(p)
}

/// A small dense square matrix, row-major.
#[derive(Clone)]
struct Matrix {
    n: usize,
    a: Vec<f64>,
}

impl Matrix {
    fn zeros(n: usize) -> Self {
        Matrix { n, a: vec![0.0; n * n] }
    }
    fn identity(n: usize) -> Self {
        let mut m = Matrix::zeros(n);
        for i in 0..n {
            m.set(i, i, 1.0);
        }
        m
    }
    fn get(&self, r: usize, c: usize) -> f64 {
        self.a[r * self.n + c]
    }
    fn set(&mut self, r: usize, c: usize, v: f64) {
        self.a[r * self.n + c] = v;
    }
    fn scale(&mut self, s: f64) {
        self.a.iter_mut().for_each(|x| *x *= s);
    }
    fn mul(&self, other: &Matrix) -> Matrix {
        let n = self.n;
        let mut out = Matrix::zeros(n);
        for r in 0..n {
            for k in 0..n {
                let x = self.a[r * n + k];
                if x != 0.0 {
                    for c in 0..n {
                        out.a[r * n + c] += x * other.a[k * n + c];
                    }
                }
            }
        }
        out
    }
}

/// `np.ldexp`: x · 2^e, in steps so that neither the factor nor an intermediate overflows needlessly.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

/// The row interval (j1, j2) of Pomeranz's recursion at step i (`_pomeranz_compute_j1j2`).
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// P(D_n <= d) by Pomeranz's recursion (1974), `_kolmogn_Pomeranz` (used for n <= 140 only).
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let n = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    // (g/n)^m/m!, (2g/n)^m/m!, ((1-2g)/n)^m/m!: Poisson probabilities without their normalising factor.
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_over_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut exponent = 0i32;
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    for i in 1..(2 * n + 2) {
        // k1: the previous row's first index.
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let j2;
        (j1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // numpy slices clamp at the end of the array; so do these.
            let start = (k1 - v0s) as usize;
            let a = &v0[start.min(npwrs)..(start + ln2 as usize).min(npwrs)];
            let b = &pwrs[..(ln2 as usize).min(npwrs)];
            let conv = convolve(a, b);
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            v1[..conv_len].copy_from_slice(&conv[conv_start..conv_start + conv_len]);
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < EM128 {
                v1.iter_mut().for_each(|v| *v *= EP128);
                exponent -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(n - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            exponent += E128;
        }
        ans *= m as f64;
    }
    if exponent != 0 {
        ans = ldexp(ans, exponent);
    }
    clip(ans)
}

/// `np.convolve(a, b)` (mode "full").
fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// The Pelz-Good (1976) approximation of P(D_n <= x): the Li-Chien/Korolyuk expansion in powers of
/// 1/sqrt(n), transformed for small z = x sqrt(n) (`_kolmogn_PelzGood`).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let sqrt2pi = (2.0 * PI).sqrt();
    let (pi2, pi4, pi6) = (PI.powi(2), PI.powi(4), PI.powi(6));
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z.powi(2), z.powi(3), z.powi(4), z.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let (k1a, k1b) = (-z2, pi2 / 4.0);
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);

    // Horner in q over the odd terms of the sums for K0..K3.
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powi((8 * kk) as i32);
        let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (acc, c) in k.iter_mut().zip(coeffs) {
            *acc = *acc * qpower + c;
        }
    }
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (acc, d) in k.iter_mut().zip(divisors) {
        *acc = *acc * q * sqrt2pi / d;
    }
    // The remaining sums of K2 and K3 run over all integers.
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let k2 = (kk * kk) as f64;
        let qpower = q.powi((kk * kk) as i32);
        let kspi = PI * kk as f64;
        k2extra += k2 * qpower;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * k2 * qpower;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    let powers_of_n = [1.0, nf.sqrt(), nf, nf.powf(1.5)];
    k.iter().zip(powers_of_n).map(|(acc, p)| acc / p).sum()
}

/// P(D+_n > x), the one-sided Smirnov survival function (xsf `_smirnov(n, x).sf`), for the arguments
/// `kstwo_sf` passes: 1 < n·x < n − 1. There the lower Birnbaum-Tingey sum applies (xsf's upper sum and its
/// n·x <= 1 and x >= 1 − 1/n special cases are never reached):
/// sf = x Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v).
fn smirnov_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    debug_assert!(nf * x > 1.0 && nf * x < nf - 1.0, "smirnov_sf({n}, {x}) outside the range kstwo uses");
    if -2.0 * nf * x * x < CEPHES_MINLOG {
        return 0.0;
    }
    if n > SMIRNOV_MAX_COMPUTE_N {
        // xsf: p ~ exp(-(6nx + 1)^2 / 18n) when the sum would take too long.
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        // Below ln 2 exp() is exact enough; above it 1 - (-expm1) keeps the cdf's precision, as xsf does.
        return if logp < -std::f64::consts::LN_2 { logp.exp() } else { 1.0 + logp.exp_m1() };
    }
    // n·x = nx_hi + nx_lo exactly (an FMA recovers the product's rounding error), so floor(n·x) and the
    // terms' bases (v + n·x)/n and (n − v − n·x)/n keep full precision, as xsf's double-double does.
    let nx_hi = nf * x;
    let nx_lo = nf.mul_add(x, -nx_hi);
    // Rounding to nearest cannot step over an integer, so floor(nx_hi) is exact unless nx_hi is itself the
    // integer the exact product lies just below.
    let mut nx_floor = nx_hi.floor();
    if nx_hi == nx_floor && nx_lo < 0.0 {
        nx_floor -= 1.0;
    }
    let nx_floor = nx_floor as u64;
    // Terms v = 0 ..= n − ⌊n·x⌋ − 1: up to ⌊n(1−x)⌋, without the term whose base is 0 when n·x is an integer.
    let n_terms = n - nx_floor;
    let ln_n = nf.ln();
    let mut ln_binomial = 0.0f64;
    let mut sum = (nf * (-x).ln_1p() - x.ln()).exp();
    for v in 1..n_terms {
        ln_binomial += ((n - v + 1) as f64 / v as f64).ln();
        let vf = v as f64;
        let ln_up = ((vf + nx_hi) + nx_lo).ln() - ln_n;
        let ln_down = (((nf - vf) - nx_hi) - nx_lo).ln() - ln_n;
        let term = (ln_binomial + (vf - 1.0) * ln_up + (nf - vf) * ln_down).exp();
        sum += term;
        // xsf stops once the remaining terms cannot change the sum.
        if term != 0.0 {
            if 4.0 * (n_terms - v) as f64 * term < f64::EPSILON * sum && v != n_terms - 1 {
                break;
            }
        } else if v > n / 2 {
            break;
        }
    }
    clip(x * sum)
}

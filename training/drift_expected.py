#!/usr/bin/env python3
"""Expected numbers for the Rust drift-statistics unit tests.

Writes shared/tests/fixtures/drift_expected.json (paths are relative to the repository root).
Every number is computed the way Evidently 0.7's DataDriftPreset computes it for a numerical
column (the `evidently.legacy.calculations.stattests` modules that the preset runs):

* Test selection (registry._get_default_stattest), n_unique = nunique(reference ++ current):
    reference rows <= 1000: n_unique <= 5 -> chi-square / z-test (not covered here),
                            else two-sample K-S;
    reference rows  > 1000: n_unique <= 5 -> Jensen-Shannon (not covered here),
                            else normalised Wasserstein.
* K-S ("ks"): p = scipy.stats.ks_2samp(ref, cur) two-sided, method "auto":
    exact when max(n1, n2) <= 10000, else "asymp" = scipy.stats.kstwo.sf(D, round(n1*n2/(n1+n2)))
    (the exact finite-n one-sample Kolmogorov distribution at n = round(en), NOT the Kolmogorov
    limit); drift when p <= 0.05. Score = p.
* Wasserstein ("wasserstein"): score = scipy.stats.wasserstein_distance(ref, cur)
    / max(np.std(ref) (population, ddof=0), 0.001); drift when score >= 0.1.
* PSI ("psi", reported next to the test): stattests.utils.get_binned_data(ref, cur, Numerical, n=30):
    if nunique(ref) > 20: edges = np.histogram_bin_edges(ref ++ cur, bins="sturges")
        (k = int(ceil(ptp / (ptp / (log2(N) + 1)))) equal-width bins over [min, max] of the
        combined N values, edges = min + i * (ptp / k) for i < k, last edge = max exactly;
        the n_bins argument (30) is ignored), counts = np.histogram(x, edges) (bins half-open
        [e_i, e_i+1) except the last, which is closed), percents = counts / len(x);
    else: one "bin" per distinct value of ref ++ cur, percents = value counts / len(x).
    Zero percents are then replaced, separately for ref and cur: by min(nonzero)/1e6 if
    min(nonzero) <= 0.0001, else by 0.0001 (no renormalisation).
    psi = sum((ref_pct - cur_pct) * ln(ref_pct / cur_pct)); drift when psi >= 0.1.
* Dataset drift: share = drifted columns / columns; dataset_drift when share >= 0.5.
* NaN and +-inf are dropped from each column before all of the above (none occur here).

Run: training/.venv/bin/python training/drift_expected.py
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "shared" / "tests" / "fixtures" / "drift_expected.json"
REFERENCE = "model/reference.csv.gz"
PARITY = "model/parity.csv"
MODEL = "model/model.onnx"
FEATURES = [f"V{i}" for i in range(1, 29)] + ["Amount"]
SEED = 20261122

KS_P_THRESHOLD = 0.05
WASSERSTEIN_THRESHOLD = 0.1
PSI_THRESHOLD = 0.1
DRIFT_SHARE = 0.5


# ---------------------------------------------------------------- data access ---------------
def read_table(rel: str) -> tuple[list[str], np.ndarray]:
    data = (REPO_ROOT / rel).read_bytes()
    if rel.endswith(".gz"):
        data = gzip.decompress(data)
    rows = list(csv.reader(io.StringIO(data.decode("ascii"))))
    return rows[0], np.array([[float(v) for v in r] for r in rows[1:]], dtype=np.float64)


_TABLES: dict[str, tuple[list[str], np.ndarray]] = {}


def column(rel: str, name: str, start: int, end: int) -> np.ndarray:
    if rel not in _TABLES:
        _TABLES[rel] = read_table(rel)
    header, A = _TABLES[rel]
    col = A[start:end, header.index(name)]
    assert len(col) == end - start, (rel, name, start, end)
    return col


def file_slice(rel: str, name: str, start: int, end: int) -> dict:
    return {"file": rel, "column": name, "rows": [start, end]}


# ---------------------------------------------------------------- statistics ----------------
def ks(ref: np.ndarray, cur: np.ndarray) -> dict:
    r = stats.ks_2samp(ref, cur)  # two-sided, method="auto"
    n1, n2 = len(ref), len(cur)
    method = "exact" if max(n1, n2) <= 10000 else "asymp"
    out = {
        "n_reference": n1,
        "n_current": n2,
        "statistic": float(r.statistic),
        "pvalue": float(r.pvalue),
        "pvalue_method": method,
        "threshold": KS_P_THRESHOLD,
        "drifted": bool(r.pvalue <= KS_P_THRESHOLD),
    }
    if method == "asymp":
        en = n1 * n2 / (n1 + n2)
        out["kstwo_n"] = int(np.round(en))
        out["kstwobign_sf_sqrt_en_d"] = float(stats.kstwobign.sf(math.sqrt(en) * r.statistic))
    else:
        # the exact test works on h = round(D * lcm(n1, n2)); report it to ease debugging
        g = math.gcd(n1, n2)
        out["lcm"] = (n1 // g) * n2
        out["h"] = int(np.round(r.statistic * out["lcm"]))
    return out


def wasserstein(ref: np.ndarray, cur: np.ndarray) -> dict:
    wd = float(stats.wasserstein_distance(ref, cur))
    sd = float(np.std(ref))  # ddof=0
    norm = max(sd, 0.001)
    score = wd / norm
    return {
        "n_reference": len(ref),
        "n_current": len(cur),
        "wasserstein_distance": wd,
        "reference_std_ddof0": sd,
        "norm": norm,
        "score": score,
        "threshold": WASSERSTEIN_THRESHOLD,
        "drifted": bool(score >= WASSERSTEIN_THRESHOLD),
    }


def _fill_zeroes(p: np.ndarray) -> tuple[np.ndarray, float | None]:
    p = p.copy()
    if not (p == 0).any():
        return p, None
    m = float(p[p != 0].min())
    fill = m / 10**6 if m <= 0.0001 else 0.0001
    p[p == 0] = fill
    return p, fill


def psi(ref: np.ndarray, cur: np.ndarray) -> dict:
    out: dict = {"n_reference": len(ref), "n_current": len(cur)}
    if len(np.unique(ref)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rc = np.histogram(ref, edges)[0]
        cc = np.histogram(cur, edges)[0]
        both = np.concatenate([ref, cur])
        k, lo, hi = len(edges) - 1, float(both.min()), float(both.max())
        assert k == int(np.ceil((hi - lo) / ((hi - lo) / (np.log2(len(both)) + 1.0))))
        assert np.array_equal(edges[:-1], lo + np.arange(k) * ((hi - lo) / k)) and edges[-1] == hi
        out["binning"] = "sturges"
        out["n_bins"] = len(edges) - 1
        out["edges"] = [float(e) for e in edges]
    else:
        keys = sorted(set(np.unique(ref).tolist()) | set(np.unique(cur).tolist()))
        rc = np.array([int((ref == k).sum()) for k in keys])
        cc = np.array([int((cur == k).sum()) for k in keys])
        out["binning"] = "distinct_values"
        out["n_bins"] = len(keys)
        out["values"] = [float(k) for k in keys]
    out["reference_counts"] = [int(c) for c in rc]
    out["current_counts"] = [int(c) for c in cc]
    rp, rfill = _fill_zeroes(rc / len(ref))
    cp, cfill = _fill_zeroes(cc / len(cur))
    value = float(np.sum((rp - cp) * np.log(rp / cp)))
    out["reference_zero_fill"] = rfill
    out["current_zero_fill"] = cfill
    out["reference_percents"] = [float(v) for v in rp]
    out["current_percents"] = [float(v) for v in cp]
    out["psi"] = value
    out["threshold"] = PSI_THRESHOLD
    out["drifted"] = bool(value >= PSI_THRESHOLD)
    return out


def default_test(ref: np.ndarray, cur: np.ndarray) -> dict:
    n_unique = len(np.unique(np.concatenate([ref, cur])))
    assert n_unique > 5, "categorical-like columns are not covered by these fixtures"
    if len(ref) <= 1000:
        r = ks(ref, cur)
        return {"stattest": "ks", "score": r["pvalue"], "threshold": r["threshold"], "drifted": r["drifted"]}
    r = wasserstein(ref, cur)
    return {"stattest": "wasserstein", "score": r["score"], "threshold": r["threshold"], "drifted": r["drifted"]}


def fl(a: np.ndarray) -> list[float]:
    return [float(v) for v in a]


# ---------------------------------------------------------------- cases ---------------------
def main() -> int:
    rng = np.random.default_rng(SEED)
    cases: list[dict] = []

    # (a) small K-S cases (exact p-values), inline, with ties
    a = np.round(rng.normal(0.0, 1.0, 50), 1)
    b = np.round(rng.normal(0.3, 1.0, 60), 1)
    cases.append({"id": "ks_exact_50_vs_60_ties", "kind": "ks", "reference": fl(a), "current": fl(b),
                  "expected": ks(a, b)})
    a = rng.integers(0, 40, 200).astype(float)
    b = rng.integers(3, 43, 300).astype(float)
    cases.append({"id": "ks_exact_200_vs_300_integer_ties", "kind": "ks", "reference": fl(a), "current": fl(b),
                  "expected": ks(a, b)})
    a = np.round(rng.normal(0.0, 1.0, 100), 2)
    b = np.round(rng.normal(0.0, 1.0, 100), 2)
    cases.append({"id": "ks_exact_100_vs_100_equal_sizes", "kind": "ks", "reference": fl(a), "current": fl(b),
                  "expected": ks(a, b)})
    a = np.round(rng.normal(0.0, 1.0, 40), 2)
    b = np.round(rng.normal(1.5, 1.0, 40), 2)
    cases.append({"id": "ks_exact_40_vs_40_shifted", "kind": "ks", "reference": fl(a), "current": fl(b),
                  "expected": ks(a, b)})
    a = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    b = np.array([7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 2.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 2.0])
    cases.append({"id": "ks_exact_same_distribution_d0_p1", "kind": "ks", "reference": fl(a), "current": fl(b),
                  "expected": ks(a, b)})
    # real data, exact: reference 1000 rows (the K-S side of the rule), current 5000 rows
    ra = column(PARITY, "V1", 0, 1000)
    rb = column(REFERENCE, "V1", 0, 5000)
    cases.append({"id": "ks_exact_real_V1_parity1000_vs_reference5000", "kind": "ks",
                  "reference": file_slice(PARITY, "V1", 0, 1000), "current": file_slice(REFERENCE, "V1", 0, 5000),
                  "expected": ks(ra, rb)})
    rb5 = rb + 5.0
    cases.append({"id": "ks_exact_real_V1_parity1000_vs_reference5000_plus5", "kind": "ks",
                  "reference": file_slice(PARITY, "V1", 0, 1000),
                  "current": dict(file_slice(REFERENCE, "V1", 0, 5000), add=5.0),
                  "expected": ks(ra, rb5)})

    # (b) asymptotic K-S: max(n1, n2) > 10000
    a = np.round(rng.normal(0.0, 1.0, 800), 3)
    b = np.round(rng.normal(0.0, 1.0, 12000), 3)
    cases.append({"id": "ks_asymp_800_vs_12000_same", "kind": "ks", "reference": fl(a), "current": fl(b),
                  "expected": ks(a, b)})
    b2 = np.round(rng.normal(0.12, 1.0, 12000), 3)
    cases.append({"id": "ks_asymp_800_vs_12000_shift_0_12", "kind": "ks", "reference": fl(a), "current": fl(b2),
                  "expected": ks(a, b2)})
    # the distribution behind "asymp", for testing it on its own
    kstwo_table = []
    for d, n in [(0.01, 1000), (0.05, 739), (0.05, 1000), (0.1, 100), (0.2, 50), (0.03, 5000),
                 (0.5, 10), (0.002, 100000), (0.9, 5), (0.25, 30)]:
        kstwo_table.append({"d": d, "n": n, "sf": float(stats.kstwo.sf(d, n)),
                            "kstwobign_sf_sqrt_n_d": float(stats.kstwobign.sf(math.sqrt(n) * d))})
    cases.append({"id": "kstwo_sf_table", "kind": "kstwo_sf", "expected": kstwo_table})

    # (c) normalised Wasserstein (reference > 1000 rows)
    ref_v1 = column(REFERENCE, "V1", 0, 5000)
    cur_v1 = column(PARITY, "V1", 0, 3000)
    cases.append({"id": "wasserstein_real_V1_reference_vs_parity3000", "kind": "wasserstein",
                  "reference": file_slice(REFERENCE, "V1", 0, 5000), "current": file_slice(PARITY, "V1", 0, 3000),
                  "expected": wasserstein(ref_v1, cur_v1)})
    cases.append({"id": "wasserstein_real_V1_reference_vs_parity3000_plus5", "kind": "wasserstein",
                  "reference": file_slice(REFERENCE, "V1", 0, 5000),
                  "current": dict(file_slice(PARITY, "V1", 0, 3000), add=5.0),
                  "expected": wasserstein(ref_v1, cur_v1 + 5.0)})
    ref_amt = column(REFERENCE, "Amount", 0, 5000)
    cur_amt = column(PARITY, "Amount", 0, 3000)
    uniform_amount = np.round(rng.uniform(5000.0, 15000.0, 3000), 2)
    cases.append({"id": "wasserstein_real_Amount_reference_vs_parity3000", "kind": "wasserstein",
                  "reference": file_slice(REFERENCE, "Amount", 0, 5000),
                  "current": file_slice(PARITY, "Amount", 0, 3000),
                  "expected": wasserstein(ref_amt, cur_amt)})
    cases.append({"id": "wasserstein_real_Amount_reference_vs_uniform_5000_15000", "kind": "wasserstein",
                  "reference": file_slice(REFERENCE, "Amount", 0, 5000),
                  "current": fl(uniform_amount),
                  "expected": wasserstein(ref_amt, uniform_amount)})
    a = np.round(rng.normal(10.0, 2.0, 1200), 1)
    b = np.round(rng.normal(10.4, 2.0, 300), 1)
    cases.append({"id": "wasserstein_synthetic_1200_vs_300_ties", "kind": "wasserstein",
                  "reference": fl(a), "current": fl(b), "expected": wasserstein(a, b)})
    a = np.full(1001, 3.0)
    a[0] = 3.00001
    b = np.array([3.0, 3.0005, 2.9995, 3.0, 3.001, 3.0, 2.999, 3.0])
    cases.append({"id": "wasserstein_tiny_std_uses_floor_0_001", "kind": "wasserstein",
                  "reference": fl(a), "current": fl(b), "expected": wasserstein(a, b)})

    # (d) PSI
    cases.append({"id": "psi_real_V1_reference_vs_parity3000", "kind": "psi",
                  "reference": file_slice(REFERENCE, "V1", 0, 5000), "current": file_slice(PARITY, "V1", 0, 3000),
                  "expected": psi(ref_v1, cur_v1)})
    cases.append({"id": "psi_real_V1_reference_vs_parity3000_plus5", "kind": "psi",
                  "reference": file_slice(REFERENCE, "V1", 0, 5000),
                  "current": dict(file_slice(PARITY, "V1", 0, 3000), add=5.0),
                  "expected": psi(ref_v1, cur_v1 + 5.0)})
    cases.append({"id": "psi_real_Amount_reference_vs_uniform_5000_15000", "kind": "psi",
                  "reference": file_slice(REFERENCE, "Amount", 0, 5000),
                  "current": {"same_as_case": "wasserstein_real_Amount_reference_vs_uniform_5000_15000",
                              "side": "current"},
                  "expected": psi(ref_amt, uniform_amount)})
    # 12,000 current values with a lone far outlier -> a bin holding 1/12000 < 0.0001 of cur, so
    # cur's zero bins get min/1e6; ref (800 rows) has zero bins filled with 0.0001
    a = np.round(rng.normal(0.0, 1.0, 800), 3)
    b = np.round(rng.normal(0.05, 1.0, 12000), 3)
    b[0] = 40.0
    r = psi(a, b)
    assert r["current_zero_fill"] is not None and r["current_zero_fill"] < 1e-4 and r["reference_zero_fill"] == 1e-4
    cases.append({"id": "psi_synthetic_800_vs_12000_outlier_both_zero_fill_rules", "kind": "psi",
                  "reference": fl(a), "current": fl(b), "expected": r})
    a = rng.integers(0, 6, 400).astype(float)
    b = rng.integers(1, 8, 250).astype(float)
    cases.append({"id": "psi_discrete_reference_nunique_le_20", "kind": "psi",
                  "reference": fl(a), "current": fl(b), "expected": psi(a, b)})

    # (e) whole-dataset cases: all 29 features + the prediction column, as the drift check runs them
    import onnxruntime as ort  # scores of the modified rows, as the service would compute them

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(REPO_ROOT / MODEL), sess_options=so, providers=["CPUExecutionProvider"])

    def score(cols: dict[str, np.ndarray]) -> np.ndarray:
        X = np.stack([cols[f] for f in FEATURES], axis=1).astype(np.float32)
        return sess.run(["probabilities"], {"input": X})[0][:, 1].astype(np.float64)

    card = json.loads((REPO_ROOT / "model" / "card.json").read_text())
    ref_cols = {f: column(REFERENCE, f, 0, 5000) for f in FEATURES}
    ref_score = column(REFERENCE, "fraud_probability", 0, 5000)
    parity_class = column(PARITY, "Class", 0, 3000)
    variants = [
        # (id, incident, keep only Class == 0 rows of the slice?)
        ("dataset_no_incident", None, False),
        ("dataset_no_incident_legit_only", None, True),
        ("dataset_distribution_shift", "distribution_shift", False),
    ]
    for case_id, incident, legit_only in variants:
        keep = parity_class == 0 if legit_only else np.ones(3000, dtype=bool)
        cur_cols = {f: column(PARITY, f, 0, 3000)[keep] for f in FEATURES}
        current = {"file": PARITY, "rows": [0, 3000], "columns": FEATURES}
        if legit_only:
            current["filter"] = {"column": "Class", "equals": 0}
        if incident:
            for f in ["V1", "V2", "V3", "V4", "V5"]:
                cur_cols[f] = cur_cols[f] + 5.0
            cur_cols["Amount"] = uniform_amount[keep]
            current["add"] = {f: 5.0 for f in ["V1", "V2", "V3", "V4", "V5"]}
            current["replace"] = {"Amount": {"same_as_case": "wasserstein_real_Amount_reference_vs_uniform_5000_15000",
                                             "side": "current"}}
        cur_score = score(cur_cols)
        per_col = {}
        for f in FEATURES:
            t = default_test(ref_cols[f], cur_cols[f])
            t["psi"] = psi(ref_cols[f], cur_cols[f])["psi"]
            per_col[f] = t
        n_drift = sum(1 for t in per_col.values() if t["drifted"])
        pred = default_test(ref_score, cur_score)
        pred["psi"] = psi(ref_score, cur_score)["psi"]
        share = n_drift / len(FEATURES)
        notes = {
            "dataset_no_incident": ("parity rows 0..3000 as they are; they hold all 98 test frauds (3.3 %) vs "
                                    "0.18 % (live prevalence) in the reference, which alone drifts 12 features "
                                    "(frauds sit far out on V1..V4, V10..V17) and the prediction"),
            "dataset_no_incident_legit_only": ("parity rows 0..3000 with Class == 0 only (like live traffic, "
                                               "0.17 % fraud): neither a feature nor the prediction column "
                                               "drifts"),
            "dataset_distribution_shift": ("the distribution_shift incident: V1..V5 of parity rows 0..3000 + 5.0; "
                                           "Amount replaced by the inline uniform 5,000-15,000 values of case "
                                           "wasserstein_real_Amount_reference_vs_uniform_5000_15000; the 3.3 % "
                                           "frauds of the rows drift the same features as dataset_no_incident"),
        }
        cases.append({
            "id": case_id,
            "kind": "dataset",
            "incident": incident,
            "note": notes[case_id] + "; current_prediction = ONNX Runtime score of the current rows "
                                     "(float32 written as the exact double)",
            "reference": {"file": REFERENCE, "rows": [0, 5000], "columns": FEATURES,
                          "prediction_column": "fraud_probability"},
            "current": current,
            "current_rows": int(keep.sum()),
            "current_prediction": fl(cur_score),
            "expected": {
                "columns": per_col,
                "number_of_columns": len(FEATURES),
                "number_of_drifted_columns": n_drift,
                "share_of_drifted_columns": share,
                "drift_share": DRIFT_SHARE,
                "dataset_drift": bool(share >= DRIFT_SHARE),
                "prediction": pred,
                "threshold": card["threshold"],
                "current_fraud_rate_at_threshold": float(np.mean(cur_score >= card["threshold"])),
            },
        })

    doc = {
        "schema_version": 1,
        "generated_by": "training/drift_expected.py",
        "method": __doc__.split("\n\n", 2)[2].rsplit("\n\nRun:", 1)[0],
        "inputs": ("An input is either an inline array of numbers, or {file, column, rows: [start, end)} = "
                   "rows start..end (0-based data rows after the header) of that column of a committed file "
                   "(path relative to the repository root; .gz = gzip CSV), optionally with add: x (add x to "
                   "every value; in dataset cases a map column -> x), filter: {column, equals} (keep only the "
                   "rows of the slice where that column equals the value) and replace: {column: input}; "
                   "{same_as_case, side} = the inline array of another case. Numbers are float64; expected values are from "
                   "scipy/numpy in float64 (compare with a relative tolerance of ~1e-9, p-values ~1e-9 "
                   "absolute too)."),
        "evidently_source": ("evidently 0.7, src/evidently/legacy/calculations/stattests/{ks_stattest,"
                             "wasserstein_distance_norm,psi,utils,registry}.py and calculations/data_drift.py"),
        "library_versions": {"python": platform.python_version(), "numpy": np.__version__,
                             "scipy": scipy.__version__, "onnxruntime": ort.__version__},
        "model_sha256": card["model_sha256"],
        "reference_sha256": card["reference"]["sha256"],
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
    OUT.write_text(text, encoding="ascii")

    print(f"wrote {OUT} ({len(text)} bytes, {len(cases)} cases)")
    for c in cases:
        e = c["expected"]
        if c["kind"] == "ks":
            print(f"  {c['id']:<58} D={e['statistic']:.6f} p={e['pvalue']:.6g} ({e['pvalue_method']}) "
                  f"drift={e['drifted']}")
        elif c["kind"] == "wasserstein":
            print(f"  {c['id']:<58} score={e['score']:.6f} drift={e['drifted']}")
        elif c["kind"] == "psi":
            print(f"  {c['id']:<58} psi={e['psi']:.6f} bins={e['n_bins']} drift={e['drifted']}")
        elif c["kind"] == "dataset":
            drifted = [f for f, t in e["columns"].items() if t["drifted"]]
            print(f"  {c['id']:<58} share={e['share_of_drifted_columns']:.4f} dataset_drift={e['dataset_drift']} "
                  f"drifted={drifted} prediction={e['prediction']['score']:.4f}/{e['prediction']['drifted']} "
                  f"fraud_rate={e['current_fraud_rate_at_threshold']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Expected numbers for the Rust realized-model-quality tests.

Writes shared/tests/fixtures/quality_expected.json. Every classification number comes from scikit-learn
(precision_score, recall_score, f1_score with zero_division=0, average_precision_score, confusion_matrix,
all with sample_weight in the weighted cases), in float64. A row is flagged (predicted fraud) when
score >= threshold. Recall at an alert budget has no scikit-learn function; it is computed here in numpy
with the definition in the JSON's `budget_definition`.

Run: training/.venv/bin/python training/quality_expected.py
"""

from __future__ import annotations

import csv
import io
import json
import platform
import sys
from pathlib import Path

import numpy as np

import train as T

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "shared" / "tests" / "fixtures" / "quality_expected.json"
PARITY = "model/parity.csv"
SEED = 20261123
BUDGETS = [0.005, 0.01]

BUDGET_DEFINITION = (
    "Recall at an alert budget b (a share of the rows' total weight). Sort the rows by score descending; "
    "W = total weight (every row weighs 1 when unweighted); take the smallest k such that the cumulative "
    "weight of the top k rows (float64, summed in that order) is >= b * W; the cut score s_k is the k-th "
    "highest score; flag every row with score >= s_k (all rows tied with s_k are flagged, so the flagged "
    "weight can exceed b * W, and which tied row is 'k-th' does not matter); recall = weighted TP / "
    "weighted positives (0 when there are no positives); flagged_weight_share = flagged weight / W; "
    "precision = weighted TP / flagged weight. k is reported with ties ordered by row index."
)
AP_DEFINITION = (
    "sklearn average_precision_score: AP = sum_n (R_n - R_{n-1}) P_n over the distinct scores taken as "
    "thresholds in descending order (score >= threshold flagged), R_0 = 0, P_n and R_n the weighted "
    "precision and recall at the n-th threshold; with no positive labels scikit-learn 1.9.1 warns and "
    "returns 0.0 (cases no_positive_labels*)"
)


def fl(a) -> list[float]:
    return [float(v) for v in a]


def classification(y: np.ndarray, s: np.ndarray, threshold: float, w: np.ndarray | None) -> dict:
    import warnings

    from sklearn.metrics import (average_precision_score, confusion_matrix, f1_score, precision_score,
                                 recall_score)

    pred = (s >= threshold).astype(np.int64)
    kw = {"sample_weight": w}
    cm = confusion_matrix(y, pred, labels=[0, 1], **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no positive labels: sklearn warns about AP / recall
        ap = float(average_precision_score(y, s, **kw))
    return {
        "precision": float(precision_score(y, pred, zero_division=0, **kw)),
        "recall": float(recall_score(y, pred, zero_division=0, **kw)),
        "f1": float(f1_score(y, pred, zero_division=0, **kw)),
        "average_precision": ap,
        "confusion_matrix": {"tn": float(cm[0, 0]), "fp": float(cm[0, 1]), "fn": float(cm[1, 0]),
                             "tp": float(cm[1, 1])},
        "flagged_rows": int(pred.sum()),
    }


def at_budget(y: np.ndarray, s: np.ndarray, w: np.ndarray | None, budget: float) -> dict:
    ww = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    order = np.argsort(-s, kind="stable")       # descending score, ties by row index
    cum = np.cumsum(ww[order])                  # sequential float64 sums
    total = float(np.sum(ww))
    target = budget * total
    k = int(np.searchsorted(cum, target, side="left")) + 1   # smallest k with cum[k-1] >= target
    k = min(k, len(y))
    cut = float(s[order][k - 1])
    flagged = s >= cut
    tp = float(np.sum(ww[flagged & (y == 1)]))
    pos = float(np.sum(ww[y == 1]))
    fw = float(np.sum(ww[flagged]))
    return {
        "budget": budget,
        "total_weight": total,
        "target_weight": target,
        "k": k,
        "cut_score": cut,
        "flagged_rows": int(flagged.sum()),
        "flagged_weight": fw,
        "flagged_weight_share": fw / total,
        "tp_weight": tp,
        "positive_weight": pos,
        "recall": tp / pos if pos > 0 else 0.0,
        "precision": tp / fw if fw > 0 else 0.0,
    }


def main() -> int:
    import sklearn

    card = json.loads((REPO_ROOT / "model" / "card.json").read_text(encoding="ascii"))
    thr = card["threshold"]
    rows = list(csv.reader(io.StringIO((REPO_ROOT / PARITY).read_text(encoding="ascii"))))
    header = rows[0]
    A = np.array([[float(v) for v in r] for r in rows[1:]], dtype=np.float64)
    y_par = A[:, header.index("Class")].astype(np.int64)
    s_par = A[:, header.index("expected_probability")]
    w_neg = T.negative_weight(y_par)
    w_par = T.sample_weights(y_par)
    par_labels = {"file": PARITY, "column": "Class"}
    par_scores = {"file": PARITY, "column": "expected_probability"}
    par_weights = {"by_label": {"1": 1.0, "0": w_neg},
                   "note": "train.py negative_weight(Class of parity.csv) = (284315/492) * (P/N), P = 98, "
                           "N = 2902: the weighted fraud share is 492/284807 (live prevalence)"}

    rng = np.random.default_rng(SEED)
    cases: list[dict] = []

    def case(cid: str, desc: str, labels, scores, weights, threshold, y, s, w) -> None:
        cases.append({"id": cid, "kind": "classification", "description": desc,
                      "inputs": {"labels": labels, "scores": scores, "weights": weights, "threshold": threshold},
                      "expected": classification(y, s, threshold, w)})

    def budget_case(cid: str, desc: str, labels, scores, weights, y, s, w, budgets=BUDGETS) -> None:
        cases.append({"id": cid, "kind": "recall_at_budget", "description": desc,
                      "inputs": {"labels": labels, "scores": scores, "weights": weights, "budgets": budgets},
                      "expected": [at_budget(y, s, w, b) for b in budgets]})

    # (a), (b) parity.csv at the card threshold
    case("parity_unweighted", "model/parity.csv Class vs expected_probability at the card threshold",
         par_labels, par_scores, None, thr, y_par, s_par, None)
    case("parity_weighted_live_prevalence", "(a) with frauds weight 1 and negatives weight w (live prevalence)",
         par_labels, par_scores, par_weights, thr, y_par, s_par, w_par)

    # (c) many tied scores; the threshold equals a tied score (flagged, since score >= threshold)
    levels = np.array([0.02, 0.1, 0.25, 0.4, 0.6, 0.75, 0.9, 0.97])
    s_tie = levels[rng.integers(0, len(levels), 240)]
    y_tie = (rng.uniform(size=240) < s_tie * 0.8).astype(np.int64)
    w_tie = np.round(rng.choice([1.0, 2.5, 7.2], size=240) * rng.uniform(0.5, 1.5, 240), 3)
    tie_thr = 0.6
    assert int((s_tie == tie_thr).sum()) > 10
    case("ties_threshold_on_tied_score", f"240 rows, 8 distinct scores; threshold {tie_thr} = a tied score "
         f"({int((s_tie == tie_thr).sum())} rows at it, all flagged)",
         [int(v) for v in y_tie], fl(s_tie), None, tie_thr, y_tie, s_tie, None)
    case("ties_threshold_on_tied_score_weighted", "the same rows with inline per-row weights",
         [int(v) for v in y_tie], fl(s_tie), fl(w_tie), tie_thr, y_tie, s_tie, w_tie)

    # (d) zero_division
    case("no_positive_predictions", "parity.csv with threshold 1.0, above every score: no row flagged "
         "(precision 0/0 -> 0, F1 -> 0)", par_labels, par_scores, None, 1.0, y_par, s_par, None)
    y_none = np.zeros(50, dtype=np.int64)
    s_none = np.round(rng.uniform(size=50), 4)
    case("no_positive_labels", "50 rows, all Class 0, threshold 0.5 (some flagged): recall 0/0 -> 0",
         [int(v) for v in y_none], fl(s_none), None, 0.5, y_none, s_none, None)
    case("no_positive_labels_none_flagged", "the same 50 rows with threshold 2.0: nothing flagged and no "
         "positive label (precision, recall, F1 all 0/0 -> 0)",
         [int(v) for v in y_none], fl(s_none), None, 2.0, y_none, s_none, None)

    # (e) recall at an alert budget
    budget_case("budget_parity_unweighted", "parity.csv, every row weight 1", par_labels, par_scores, None,
                y_par, s_par, None)
    budget_case("budget_parity_weighted_live_prevalence", "parity.csv, negatives weight w (live prevalence)",
                par_labels, par_scores, par_weights, y_par, s_par, w_par)
    budget_case("budget_ties", "the tied rows of (c), unweighted: the cut falls inside the top tie group",
                [int(v) for v in y_tie], fl(s_tie), None, y_tie, s_tie, None, budgets=BUDGETS + [0.1, 0.5])
    budget_case("budget_ties_weighted", "the tied rows of (c) with their weights",
                [int(v) for v in y_tie], fl(s_tie), fl(w_tie), y_tie, s_tie, w_tie, budgets=BUDGETS + [0.1, 0.5])

    doc = {
        "schema_version": 1,
        "generated_by": "training/quality_expected.py",
        "inputs": ("labels / scores: an inline array, or {file, column} = that column of every data row of a "
                   "committed CSV (path relative to the repository root); weights: null (every row weighs 1), "
                   "an inline array, or {by_label: {\"1\": w1, \"0\": w0}} (weight by the row's label); a row is "
                   "flagged when score >= threshold"),
        "classification_definition": ("sklearn precision_score / recall_score / f1_score (zero_division=0), "
                                      "confusion_matrix(labels=[0, 1]) as {tn, fp, fn, tp}, "
                                      "average_precision_score; sample_weight = the weights"),
        "average_precision_definition": AP_DEFINITION,
        "budget_definition": BUDGET_DEFINITION,
        "tolerance": "float64; match to 1e-9 (absolute)",
        "threshold_card": thr,
        "model_sha256": card["model_sha256"],
        "parity_sha256": T.sha256_file(REPO_ROOT / PARITY),
        "library_versions": {"python": platform.python_version(), "numpy": np.__version__,
                             "scikit-learn": sklearn.__version__},
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
    OUT.write_text(text, encoding="ascii")
    print(f"wrote {OUT} ({len(text)} bytes, {len(cases)} cases)")
    for c in cases:
        if c["kind"] == "classification":
            e = c["expected"]
            print(f"  {c['id']:<42} P={e['precision']:.6f} R={e['recall']:.6f} F1={e['f1']:.6f} "
                  f"AP={e['average_precision']:.6f} {e['confusion_matrix']}")
        else:
            for e in c["expected"]:
                print(f"  {c['id']:<42} b={e['budget']:<6} k={e['k']} cut={e['cut_score']:.6g} "
                      f"share={e['flagged_weight_share']:.6f} recall={e['recall']:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Feature-attribution drift fixture: shared/tests/fixtures/attribution_expected.json.

SageMaker Clarify's feature-attribution drift check ranks the features by their global SHAP value (the mean
|SHAP| over the rows) in the baseline and in the live data and computes nDCG with the BASELINE attributions as
the relevance and the LIVE attributions as the ranking scores; a violation is nDCG < 0.9. That is
scikit-learn's `ndcg_score(y_true=[baseline], y_score=[live])` (log base 2, no cut-off, ties in y_score
averaged). This script writes what the Rust side (`fraudwatch_monitor::drift::attribution`) must reproduce:

* `clarify_example`: the college-admission example of Clarify's documentation (SAT 0.70, GPA 0.50, class rank
  0.05 in training; 0.10, 0.20, 0.70 live), whose nDCG the documentation gives as 0.69.
* `cases`: hand-made rankings: identical, scaled, reversed, a swap of the top two, ties in the live scores (which
  scikit-learn averages), ties and zeros in the baseline, one feature with all the attribution.
* `parity_by_class`: real attributions: XGBoost's own `pred_contribs` (model/parity-contribs.csv.gz) averaged in
  absolute value over the 2,902 legitimate rows of model/parity.csv (the "reference") and over its 98 frauds (the
  "window"), and scikit-learn's nDCG of the two. The Rust test explains the same rows itself, so this pins the
  mean |contribution| and the nDCG end to end.

Run (numpy and scikit-learn, pinned as in requirements.txt):

    python3 -m venv training/.venv-attribution
    training/.venv-attribution/bin/pip install numpy==2.4.6 scikit-learn==1.9.1 scipy==1.17.1
    training/.venv-attribution/bin/python training/attribution_expected.py
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import ndcg_score

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "shared" / "tests" / "fixtures" / "attribution_expected.json"
FEATURES = [f"V{i}" for i in range(1, 29)] + ["Amount"]
CLARIFY_THRESHOLD = 0.9


def clarify_ndcg(reference: list[float], window: list[float]) -> float:
    return float(ndcg_score(np.asarray([reference]), np.asarray([window])))


def by_hand(reference: list[float], window: list[float]) -> float:
    """Clarify's formula without ties: DCG over the window's order, iDCG over the reference's."""
    order = sorted(range(len(window)), key=lambda i: -window[i])
    ideal = sorted(reference, reverse=True)
    dcg = sum(reference[j] / math.log2(i + 2) for i, j in enumerate(order))
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg


def case(name: str, reference: list[float], window: list[float], note: str) -> dict:
    ndcg = clarify_ndcg(reference, window)
    if len(set(window)) == len(window) and len(set(reference)) == len(reference):
        # Without ties Clarify's formula and scikit-learn agree to rounding.
        assert abs(ndcg - by_hand(reference, window)) < 1e-12, name
    return {"name": name, "note": note, "reference": reference, "window": window, "ndcg": ndcg,
            "drifted": ndcg < CLARIFY_THRESHOLD}


def parity_by_class() -> dict:
    with open(ROOT / "model" / "parity.csv", newline="") as f:
        classes = [int(float(row["Class"])) for row in csv.DictReader(f)]
    with gzip.open(ROOT / "model" / "parity-contribs.csv.gz", "rt", newline="") as f:
        contribs = [[float(row[name]) for name in FEATURES] for row in csv.DictReader(f)]
    if len(contribs) != len(classes):
        raise SystemExit(f"{len(contribs)} contribution rows for {len(classes)} parity rows")
    contribs = np.abs(np.asarray(contribs))
    classes = np.asarray(classes)
    legit = contribs[classes == 0].mean(axis=0)
    fraud = contribs[classes == 1].mean(axis=0)
    reference, window = [float(v) for v in legit], [float(v) for v in fraud]
    ranked = lambda values: [FEATURES[i] for i in sorted(range(len(values)), key=lambda i: -values[i])]
    return {
        "source": "mean |XGBoost pred_contribs| (model/parity-contribs.csv.gz) over the rows of model/parity.csv "
                  "with Class 0 (reference) and Class 1 (window)",
        "reference_rows": int((classes == 0).sum()),
        "window_rows": int((classes == 1).sum()),
        "features": FEATURES,
        "reference": reference,
        "window": window,
        "reference_ranking": ranked(reference),
        "window_ranking": ranked(window),
        "ndcg": clarify_ndcg(reference, window),
    }


def main() -> None:
    clarify = case("clarify_example", [0.70, 0.50, 0.05], [0.10, 0.20, 0.70],
                   "SageMaker Clarify documentation, feature attribution drift: SAT score, GPA, class rank; nDCG 0.69")
    if round(clarify["ndcg"], 2) != 0.69:
        raise SystemExit(f"Clarify's example gives {clarify['ndcg']}, its documentation says 0.69")
    base = [0.42, 0.18, 0.11, 0.032, 0.024, 0.012, 0.009, 0.004]
    cases = [
        case("identical", base, base, "the same attributions: 1"),
        case("scaled", base, [3 * v for v in base], "nDCG only sees the window's order: 1"),
        case("reversed", base, base[::-1], "the least attributed feature on top"),
        case("top_two_swapped", base, [0.18, 0.42] + base[2:], "the second feature now leads"),
        case("tail_shuffled", base, base[:3] + [0.004, 0.009, 0.012, 0.024, 0.032],
             "the top three unchanged, the rest reversed: small loss"),
        case("ties_in_window", base, [0.3, 0.3, 0.1, 0.1, 0.1, 0.01, 0.01, 0.0],
             "tied window scores share their positions' discounts (scikit-learn's default)"),
        case("ties_and_zeros_in_reference", [0.5, 0.5, 0.0, 0.2, 0.0], [0.1, 0.6, 0.3, 0.2, 0.05],
             "tied and unused reference features"),
        case("one_feature_carries_everything", [1.0, 0.0, 0.0, 0.0], [0.2, 0.5, 0.1, 0.05],
             "only the rank of the one relevant feature matters"),
    ]
    doc = {
        "generated_by": "training/attribution_expected.py",
        "definition": "nDCG = DCG / iDCG, DCG = sum_i a(F'_i) / log2(i + 1) over the window's ranking F', iDCG the "
                      "same over the reference's ranking F, a = the reference attribution (mean |SHAP|); scikit-learn "
                      "ndcg_score(y_true=[reference], y_score=[window]), ties in the window averaged",
        "threshold": CLARIFY_THRESHOLD,
        "library_versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "clarify_example": clarify,
        "cases": cases,
        "parity_by_class": parity_by_class(),
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: clarify example {clarify['ndcg']:.6f}, parity legit vs fraud "
          f"{doc['parity_by_class']['ndcg']:.6f}; " + ", ".join(f"{c['name']} {c['ndcg']:.4f}" for c in cases))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Expected numbers for the Rust calibrator and CBPE tests.

Writes shared/tests/fixtures/calibration_expected.json from model/card.json (its calibration field),
model/model.onnx and the data sample. It re-derives the validation and test splits exactly as train.py
does, scores them with ONNX Runtime, refits the calibrator and fails unless the refit equals
card.calibration, so the fixture and the card cannot disagree.

CBPE (confidence-based performance estimation, NannyML's method) at the card threshold, rows weighted by
v_i (v_i = 1 for frauds, w for negatives in the weighted section; 1 for every row in the unweighted one):
    flagged_i = s_i >= threshold, p_i = calibrated P(fraud | s_i)
    expected TP = sum_{flagged} v_i p_i        expected FP = sum_{flagged} v_i (1 - p_i)
    expected FN = sum_{not flagged} v_i p_i    expected TN = sum_{not flagged} v_i (1 - p_i)
    estimated precision = TP / (TP + FP), recall = TP / (TP + FN) (0 when the denominator is 0)
    realized: the same sums with p_i replaced by the label y_i.

With training/.venv-nannyml present it also records NannyML's own CBPE (training/cbpe_nannyml.py).

Run: training/.venv/bin/python training/calibration_expected.py [--no-nannyml]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

import calibration as C
import train as T

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "shared" / "tests" / "fixtures" / "calibration_expected.json"
NANNYML_PYTHON = REPO_ROOT / "training" / ".venv-nannyml" / "bin" / "python"


def fl(a) -> list[float]:
    return [float(v) for v in a]


def repeat_counts(y: np.ndarray, w: float) -> np.ndarray:
    """Integer stand-in for the weights (NannyML has none): frauds once, the k-th negative (0-based, in
    row order) floor(w (k+1) + 1/2) - floor(w k + 1/2) times, so N negatives become floor(w N + 1/2)."""
    rep = np.ones(len(y), dtype=np.int64)
    k = np.arange(int((y == 0).sum()), dtype=np.float64)
    rep[y == 0] = (np.floor(w * (k + 1) + 0.5) - np.floor(w * k + 0.5)).astype(np.int64)
    return rep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-nannyml", action="store_true", help="do not run NannyML (records why)")
    args = ap.parse_args(argv)

    import onnxruntime as ort
    import scipy
    import sklearn
    from scipy.special import expit

    card = json.loads((REPO_ROOT / "model" / "card.json").read_text(encoding="ascii"))
    cal = card["calibration"]
    model = REPO_ROOT / "model" / "model.onnx"
    if T.sha256_file(model) != card["model_sha256"] or T.sha256_file(T.DEFAULT_DATA) != card["training_data_sha256"]:
        raise SystemExit("model.onnx / data do not match card.json: re-run train.py")
    X, y = T.load_data(T.DEFAULT_DATA)
    _, idx_test, _, idx_val = T.split_indices(y, card["training"]["seed"])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model), sess_options=so, providers=["CPUExecutionProvider"])

    def score(A: np.ndarray) -> np.ndarray:
        return sess.run(["probabilities"], {"input": A.astype(np.float32)})[0][:, 1].astype(np.float64)

    s_val, y_val = score(X[idx_val]), y[idx_val]
    s_test, y_test = score(X[idx_test]), y[idx_test]
    w_val, w_test = T.sample_weights(y_val), T.sample_weights(y_test)
    refit = C.fit_and_choose(s_val, y_val, w_val, s_test, y_test, w_test, prevalence=cal["prevalence"],
                             threshold=card["threshold"], fitted_on=cal["fitted_on"],
                             evaluated_on=cal["comparison"]["evaluated_on"])
    if refit["card"] != cal:
        raise SystemExit("refitting the calibrator does not reproduce card.calibration: re-run train.py")
    if cal["method"] != "platt":
        raise SystemExit("this fixture script writes Platt cases; extend it for isotonic")
    a, b = cal["a"], cal["b"]

    # sklearn's own output for the same calibrator: a LogisticRegression holding (a, b), on z
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression()
    lr.classes_ = np.array([0, 1])
    lr.coef_ = np.array([[a]])
    lr.intercept_ = np.array([b])
    lr.n_features_in_ = 1

    def points(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = C.logit_clipped(scores)
        p = C.apply(cal, scores)
        p_sk = lr.predict_proba(z[:, None])[:, 1]
        p_expit = expit(a * z + b)
        worst = float(max(np.max(np.abs(p - p_sk) / p), np.max(np.abs(p - p_expit) / p)))
        if worst > 1e-14:
            raise SystemExit(f"numpy formula differs from sklearn/scipy by {worst} (relative)")
        return z, p, p_sk

    lo, hi = cal["fitted_range"]
    edge = [
        (0.0, "zero: clipped to clip.min"),
        (1.0, "one: clipped to clip.max"),
        (5e-324, "smallest subnormal double: clipped"),
        (1e-300, "below clip.min"),
        (2.0 ** -25, "below clip.min (2^-25)"),
        (C.CLIP_MIN, "clip.min exactly (2^-24, z = -16.63)"),
        (float(np.nextafter(C.CLIP_MIN, 1.0)), "just above clip.min"),
        (1e-7, "1e-7"),
        (float(np.nextafter(lo, 0.0)), "just below the fitted range (lowest validation score)"),
        (lo, "lowest validation score (float32 5.96e-7)"),
        (1e-6, "1e-6"),
        (1e-4, "1e-4"),
        (0.001, "0.001"),
        (0.01, "0.01"),
        (0.1, "0.1"),
        (0.5, "0.5: z = 0, p = 1 / (1 + exp(-b))"),
        (0.9, "0.9"),
        (0.99, "0.99"),
        (card["threshold"], "the card threshold"),
        (float(np.float32(0.999)), "float32 0.999 as a double"),
        (hi, "highest validation score (float32)"),
        (float(np.nextafter(hi, 1.0)), "just above the fitted range"),
        (0.9999999, "0.9999999 (not a float32)"),
        (C.CLIP_MAX, "clip.max exactly (1 - 2^-24, the largest float32 below 1)"),
        (1.0 - 2.0 ** -30, "above clip.max (double only): clipped"),
        (float(np.nextafter(1.0, 0.0)), "largest double below 1: clipped"),
    ]
    e_s = np.array([s for s, _ in edge])
    e_z, e_p, e_sk = points(e_s)
    t_z, t_p, t_sk = points(s_test)

    thr = card["threshold"]
    flagged = s_test >= thr
    w_neg = T.negative_weight(y_test)
    weighted = C.cbpe(t_p, flagged, w_test, y_test)
    unweighted = C.cbpe(t_p, flagged, np.ones(len(y_test)), y_test)

    nannyml: dict
    if args.no_nannyml:
        nannyml = {"skipped": "run with --no-nannyml"}
    elif not NANNYML_PYTHON.exists():
        raise SystemExit(f"{NANNYML_PYTHON} missing: create it (training/README.md) or pass --no-nannyml")
    else:
        rep_test = repeat_counts(y_test, w_neg)
        rep_val = repeat_counts(y_val, T.negative_weight(y_val))
        p_val = C.apply(cal, s_val)
        request = {
            "threshold": thr,
            "reference": {"p": fl(p_val), "flagged": [int(v) for v in s_val >= thr], "y": [int(v) for v in y_val],
                          "repeat": [int(v) for v in rep_val]},
            "analysis": {"p": fl(t_p), "flagged": [int(v) for v in flagged], "y": [int(v) for v in y_test],
                         "repeat": [int(v) for v in rep_test]},
        }
        env = dict(os.environ, NML_DISABLE_USAGE_LOGGING="1")
        proc = subprocess.run([str(NANNYML_PYTHON), str(REPO_ROOT / "training" / "cbpe_nannyml.py")],
                              input=json.dumps(request), capture_output=True, text=True, env=env, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"cbpe_nannyml.py failed:\n{proc.stderr}")
        nml = json.loads(proc.stdout)
        ours = C.cbpe(t_p, flagged, rep_test.astype(np.float64), y_test)
        nannyml = {
            "version": nml["nannyml_version"],
            "how": ("nannyml.CBPE(metrics=['precision', 'recall'], problem_type='classification_binary', "
                    "y_pred_proba = p (the calibrated probabilities above), y_pred = flagged, "
                    "calibrator=NoopCalibrator() (NannyML's own calibration disabled), chunk_number=1), fitted "
                    "on the validation split, estimated on the test split. NannyML takes no sample weights, "
                    "so every row is repeated: frauds once, the k-th negative (0-based, split order) "
                    "floor(w(k+1)+1/2) - floor(wk+1/2) times (w = the split's negative weight)"),
            "analysis_rows": nml["rows"],
            "reference_rows": nml["reference_rows"],
            "estimated_precision": nml["estimated_precision"],
            "estimated_recall": nml["estimated_recall"],
            "realized_precision": nml["realized_precision"],
            "realized_recall": nml["realized_recall"],
            "ours_on_repeated_rows": ours,
            "nannyml_minus_ours_on_repeated_rows": {
                "estimated_precision": nml["estimated_precision"] - ours["estimated"]["precision"],
                "estimated_recall": nml["estimated_recall"] - ours["estimated"]["recall"],
                "realized_precision": nml["realized_precision"] - ours["realized"]["precision"],
                "realized_recall": nml["realized_recall"] - ours["realized"]["recall"],
            },
            "repeated_minus_weighted": {
                "estimated_precision": ours["estimated"]["precision"] - weighted["estimated"]["precision"],
                "estimated_recall": ours["estimated"]["recall"] - weighted["estimated"]["recall"],
            },
        }
        if max(abs(v) for v in nannyml["nannyml_minus_ours_on_repeated_rows"].values()) > 1e-9:
            raise SystemExit(f"NannyML's CBPE differs from ours: {nannyml['nannyml_minus_ours_on_repeated_rows']}")

    doc = {
        "schema_version": 1,
        "generated_by": "training/calibration_expected.py",
        "model_sha256": card["model_sha256"],
        "calibration": {k: cal[k] for k in ("method", "prevalence", "a", "b", "clip", "formula")},
        "tolerance": ("p is float64 from numpy (np.log, np.exp); compare with a relative tolerance of 1e-12 "
                      "(sklearn's predict_proba agrees to < 1e-14 relative); CBPE sums to 1e-9"),
        "edge_cases": [{"score": float(s), "note": note, "z": float(z), "p": float(p), "p_sklearn": float(q)}
                       for (s, note), z, p, q in zip(edge, e_z, e_p, e_sk)],
        "test_split": {
            "note": ("train.py's test split (stratified 20 %, seed 42), in split order: ONNX Runtime score s "
                     "(float32 as the exact double), Class, calibrated p"),
            "rows": int(len(y_test)),
            "frauds": int(y_test.sum()),
            "scores": fl(s_test),
            "labels": [int(v) for v in y_test],
            "p": fl(t_p),
        },
        "cbpe": {
            "definition": __doc__.split("\n\n")[2].strip(),
            "threshold": thr,
            "flagged_rows": int(flagged.sum()),
            "weighted": dict({"weights": {"fraud": 1.0, "negative": w_neg,
                                          "note": "train.py negative_weight of the test split: weighted fraud "
                                                  "share = 492/284807"}}, **weighted),
            "unweighted": dict({"note": ("every row weight 1 (the live code path, where there are no labels); "
                                         "the test split is at the sample's prevalence (1.23 %), so this "
                                         "estimate is not meaningful, only a test of the arithmetic")},
                               **unweighted),
            "nannyml": nannyml,
        },
        "library_versions": {"python": platform.python_version(), "numpy": np.__version__,
                             "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
                             "onnxruntime": ort.__version__},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
    OUT.write_text(text, encoding="ascii")
    ew, er = weighted["estimated"], weighted["realized"]
    print(f"wrote {OUT} ({len(text)} bytes)")
    print(f"CBPE test split weighted: estimated precision {ew['precision']:.6f} recall {ew['recall']:.6f}; "
          f"realized {er['precision']:.6f} / {er['recall']:.6f}; difference "
          f"{weighted['difference']['precision']:+.6f} / {weighted['difference']['recall']:+.6f}")
    if "version" in nannyml:
        print(f"NannyML {nannyml['version']} on {nannyml['analysis_rows']} repeated rows: estimated precision "
              f"{nannyml['estimated_precision']:.6f} recall {nannyml['estimated_recall']:.6f} (realized "
              f"{nannyml['realized_precision']:.6f} / {nannyml['realized_recall']:.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

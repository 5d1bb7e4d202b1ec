#!/usr/bin/env python3
"""Offline, reproducible training of the fraud-detector model.

Reads the (biased) ULB credit-card sample, trains an XGBoost classifier on the 29 features
V1..V28, Amount, exports it to ONNX with onnxmltools, checks ONNX Runtime against XGBoost, and
writes the committed artifacts (see docs/contracts.md):

    <out>/model.onnx         TreeEnsembleClassifier; input `input` float32[N,29];
                             outputs `label` int64[N], `probabilities` float32[N,2]
    <out>/card.json          the model card
    <out>/reference.csv.gz   5,000 TRAIN rows at the full data's fraud prevalence (9 frauds)
                             + the model's (ONNX Runtime) score: the drift reference, i.e. live traffic
    <out>/parity.csv         3,000 held-out TEST rows (all test frauds) + XGBoost's predict_proba[:,1]
    <out>/trees.json         the trees with node covers, for TreeSHAP (explain.py; checked against model.onnx)
    <out>/parity-contribs.csv.gz  XGBoost's pred_contribs (TreeSHAP) + margin of the parity.csv rows

card.json also gets importance (total gain), explanation (trees.json) and calibration (calibration.py).

Running it twice with the same inputs and library versions gives byte-identical files.
Usage: training/.venv/bin/python training/train.py [--data ...] [--out model/] [--version v1] [--seed 42]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / "data" / "creditcard-sample-39960.csv.gz"
DEFAULT_OUT = REPO_ROOT / "model"
# Fixed by default (NOT the wall clock) so that re-running produces byte-identical artifacts.
DEFAULT_CREATED_AT = "2026-11-22T00:00:00Z"

FEATURES = [f"V{i}" for i in range(1, 29)] + ["Amount"]
N_FEATURES = len(FEATURES)  # 29

# The full dataset (SOURCE.md): 284,807 transactions, 492 frauds. The sample keeps all frauds
# and ~1 in 7.2 normals, so prevalence-corrected metrics re-weight each negative.
FULL_ROWS = 284_807
FULL_FRAUDS = 492
FULL_NEGATIVES = FULL_ROWS - FULL_FRAUDS  # 284,315
FULL_FRAUD_SHARE = FULL_FRAUDS / FULL_ROWS  # 0.001727...

TEST_SIZE = 0.20        # of all rows -> test split (held out; metrics + parity fixture)
VALIDATION_SIZE = 0.20  # of the train split -> validation split (threshold choice)
REFERENCE_ROWS = 5_000  # train-split rows at live prevalence -> reference.csv.gz
# The drift check compares live traffic (~0.17 % fraud) with the reference, so the reference must have
# live traffic's fraud share, not the sample's 1.23 %: round(5,000 * 492 / 284,807) = 9 frauds.
REFERENCE_FRAUDS = round(REFERENCE_ROWS * FULL_FRAUD_SHARE)
# Its own random stream (numpy SeedSequence [seed, 1]) so drawing it changes no other artifact.
REFERENCE_STREAM = 1
PARITY_ROWS = 3_000     # test rows -> parity.csv (all test frauds + negatives)
PARITY_TOLERANCE = 1e-5  # max |ONNX Runtime - XGBoost| allowed on every row of the data set

THRESHOLD_RULE = (
    "Maximise the prevalence-corrected F1 (negatives weighted so the fraud share is the full "
    "dataset's 492/284807) on the validation split over all distinct validation scores s "
    "(fraud iff p >= s); the threshold is the midpoint between the best s and the next lower "
    "distinct validation score; a transaction is fraud iff fraud_probability >= threshold."
)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fmt(x: float) -> str:
    """Shortest text that reads back to the same double (no precision lost)."""
    return repr(float(x))


def negative_weight(y: np.ndarray) -> float:
    """Weight of each negative so the weighted fraud share of `y` equals 492/284,807.

    With P positives (weight 1) and N negatives (weight w):  P / (P + w N) = 492 / 284,807
    <=>  w = (284,315 / 492) * (P / N).  On the whole sample w = 284,315 / 39,468 = 7.2037, the
    undersampling factor; per split it differs from that only by the stratification rounding.
    """
    p = int(y.sum())
    n = int(len(y) - p)
    return (FULL_NEGATIVES / FULL_FRAUDS) * (p / n)


def sample_weights(y: np.ndarray) -> np.ndarray:
    return np.where(y == 1, 1.0, negative_weight(y))


def metrics_at(y: np.ndarray, p: np.ndarray, threshold: float, weighted: bool) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    w = sample_weights(y) if weighted else np.ones(len(y))
    pred = p >= threshold
    tp = float(w[(pred) & (y == 1)].sum())
    fp = float(w[(pred) & (y == 0)].sum())
    fn = float(w[(~pred) & (y == 1)].sum())
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "pr_auc": float(average_precision_score(y, p, sample_weight=w)),
        "roc_auc": float(roc_auc_score(y, p, sample_weight=w)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = p >= threshold
    return {
        "tp": int(((pred) & (y == 1)).sum()),
        "fp": int(((pred) & (y == 0)).sum()),
        "fn": int(((~pred) & (y == 1)).sum()),
        "tn": int(((~pred) & (y == 0)).sum()),
    }


def choose_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """See THRESHOLD_RULE. Returns (threshold, best corrected F1 on validation)."""
    w = sample_weights(y)
    order = np.argsort(-p, kind="mergesort")
    ps, ys, ws = p[order].astype(np.float64), y[order], w[order]
    tp = np.cumsum(np.where(ys == 1, ws, 0.0))
    fp = np.cumsum(np.where(ys == 0, ws, 0.0))
    total_pos = float(ws[ys == 1].sum())
    # Candidate s = each distinct score: predicted positive = all rows with score >= s,
    # i.e. the prefix ending at the LAST occurrence of s in descending order.
    last = np.r_[ps[1:] != ps[:-1], True]
    idx = np.nonzero(last)[0]
    prec = tp[idx] / (tp[idx] + fp[idx])
    rec = tp[idx] / total_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    best = int(np.argmax(f1))  # first max = highest such threshold
    s = float(ps[idx[best]])
    lower = float(ps[idx[best + 1]]) if best + 1 < len(idx) else 0.0
    return (s + lower) / 2.0, float(f1[best])


def write_csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("ascii")


def write_gzip_deterministic(path: Path, data: bytes) -> None:
    raw = io.BytesIO()
    # filename="" and mtime=0: no name or timestamp in the gzip header -> byte-reproducible.
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    path.write_bytes(raw.getvalue())


def table_rows(X: np.ndarray, y: np.ndarray, score: np.ndarray) -> list[list[str]]:
    return [[fmt(v) for v in X[i]] + [str(int(y[i])), fmt(score[i])] for i in range(len(y))]


def load_data(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The gzip CSV Time,V1..V28,Amount,Class -> (X float64 [N,29], y int64 [N])."""
    # Parsed with Python's float() (correctly rounded, like Rust's str::parse::<f64>) so every
    # reader of the same text gets the same doubles.
    with gzip.open(path, "rt", encoding="ascii", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        expected_cols = ["Time"] + FEATURES + ["Class"]
        if header != expected_cols:
            raise SystemExit(f"unexpected columns: {header}")
        rows = [[float(v) for v in r[1:1 + N_FEATURES]] + [int(r[-1])] for r in reader]
    X = np.array([r[:N_FEATURES] for r in rows], dtype=np.float64)
    y = np.array([r[N_FEATURES] for r in rows], dtype=np.int64)
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise SystemExit("Class must be 0/1")
    return X, y


def split_indices(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train, test, fit, validation) row indices; see the card's training.split."""
    from sklearn.model_selection import train_test_split

    idx_all = np.arange(len(y))
    idx_train, idx_test = train_test_split(idx_all, test_size=TEST_SIZE, stratify=y, random_state=seed)
    idx_fit, idx_val = train_test_split(idx_train, test_size=VALIDATION_SIZE, stratify=y[idx_train],
                                        random_state=seed)
    return idx_train, idx_test, idx_fit, idx_val


def read_table(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """reference.csv / parity.csv text -> (features, Class, score), as the Rust service reads them."""
    r = list(csv.reader(io.StringIO(data.decode("ascii"))))
    A = np.array([[float(v) for v in row] for row in r[1:]], dtype=np.float64)
    return A[:, :N_FEATURES], A[:, N_FEATURES].astype(np.int64), A[:, N_FEATURES + 1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="gzip CSV Time,V1..V28,Amount,Class")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: model/)")
    ap.add_argument("--version", default="v1")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--created-at", default=DEFAULT_CREATED_AT,
                    help="card created_at (fixed by default for byte-reproducible output)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    import onnx
    import onnxmltools
    import onnxruntime as ort
    import scipy
    import sklearn
    import xgboost as xgb
    from onnxmltools.convert.common.data_types import FloatTensorType

    import calibration
    import explain

    # ---- 1. data -------------------------------------------------------------------------
    data_sha = sha256_file(args.data)
    X, y = load_data(args.data)
    n_rows, n_frauds = len(y), int(y.sum())
    print(f"data: {args.data} rows={n_rows} frauds={n_frauds} sha256={data_sha}")

    # ---- 2. splits (stratified, seeded) ---------------------------------------------------
    idx_train, idx_test, idx_fit, idx_val = split_indices(y, args.seed)
    X_fit, y_fit = X[idx_fit], y[idx_fit]
    X_val, y_val = X[idx_val], y[idx_val]
    X_test, y_test = X[idx_test], y[idx_test]

    # ---- 3. model ---------------------------------------------------------------------------
    neg, pos = int((y_fit == 0).sum()), int((y_fit == 1).sum())
    params = {
        "n_estimators": 200,
        "max_depth": 5,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "tree_method": "hist",
        "max_bin": 256,
        "objective": "binary:logistic",
        "base_score": 0.5,
        "scale_pos_weight": neg / pos,
        "n_jobs": 2,
        "random_state": args.seed,
    }
    clf = xgb.XGBClassifier(**params)
    clf.fit(X_fit, y_fit)

    # ---- 5. ONNX export + parity check ------------------------------------------------------
    # name= fixes the graph name: onnxmltools otherwise uses a random uuid4().hex, the only thing
    # that made model.onnx differ between otherwise identical runs.
    onx = onnxmltools.convert_xgboost(clf, name="fraud_detector",
                                      initial_types=[("input", FloatTensorType([None, N_FEATURES]))])
    onnx.checker.check_model(onx)
    op_types = [n.op_type for n in onx.graph.node]
    outputs = [o.name for o in onx.graph.output]
    if op_types != ["TreeEnsembleClassifier"] or outputs != ["label", "probabilities"]:
        raise SystemExit(f"unexpected ONNX graph: nodes={op_types} outputs={outputs}")
    model_bytes = onx.SerializeToString(deterministic=True)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])

    def ort_score(A: np.ndarray) -> np.ndarray:
        label, proba = sess.run(["label", "probabilities"], {"input": A.astype(np.float32)})
        assert proba.dtype == np.float32 and proba.shape == (len(A), 2) and label.dtype == np.int64
        return proba[:, 1]

    xgb_all = clf.predict_proba(X)[:, 1]
    ort_all = ort_score(X)
    parity_max = float(np.max(np.abs(xgb_all.astype(np.float64) - ort_all.astype(np.float64))))
    print(f"parity (all {n_rows} rows): max |onnxruntime - xgboost| = {parity_max:.3g}")
    if not parity_max <= PARITY_TOLERANCE:
        raise SystemExit(f"PARITY FAILURE: ONNX probabilities differ from predict_proba by {parity_max} "
                         f"> {PARITY_TOLERANCE}")

    # ---- 4. threshold (validation) and metrics (test), on the deployed (ONNX Runtime) scores ----
    p_val, p_test = ort_all[idx_val], ort_all[idx_test]
    threshold, val_f1 = choose_threshold(y_val, p_val)
    # card.metrics keeps exactly the contract's shape: {split: {raw|prevalence_corrected: {5 floats}}};
    # the details (confusion counts, weights, formula) go to card.training.evaluation.
    metrics = {
        split: {
            "raw": metrics_at(yy, pp, threshold, weighted=False),
            "prevalence_corrected": metrics_at(yy, pp, threshold, weighted=True),
        }
        for split, yy, pp in [("test", y_test, p_test), ("validation", y_val, p_val)]
    }
    evaluation = {
        "scores": "ONNX Runtime probabilities[:, 1] of model.onnx (what the service computes)",
        "prevalence_correction": (
            "negatives weighted by w = (284315/492) * (P/N), P and N = frauds and non-frauds of the "
            "evaluated split, frauds weight 1, so the weighted fraud share is 492/284807 = 0.1727 % "
            "(w ~ 7.20 ~ 284315/39468, the sample's undersampling of normals); precision = TP/(TP + w FP), "
            "PR-AUC = sklearn average_precision_score with these sample weights; recall and ROC-AUC are "
            "invariant to this reweighting"
        ),
        "negative_weight": {"test": negative_weight(y_test), "validation": negative_weight(y_val)},
        "confusion": {"test": confusion(y_test, p_test, threshold),
                      "validation": confusion(y_val, p_val, threshold)},
    }
    assert abs(val_f1 - metrics["validation"]["prevalence_corrected"]["f1"]) < 1e-12

    # ---- 6. artifacts -------------------------------------------------------------------------
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.onnx"
    model_path.write_bytes(model_bytes)

    # reference: REFERENCE_ROWS rows of the train split (fit + validation) with REFERENCE_FRAUDS
    # frauds, i.e. live traffic's prevalence, drawn without replacement in a seeded order, scored by
    # ONNX Runtime (float32, written as the exact double of it). A sample-prevalence (1.23 %)
    # reference made fraud-free live traffic look like prediction drift.
    ref_rng = np.random.default_rng([args.seed, REFERENCE_STREAM])
    train_frauds = idx_train[y[idx_train] == 1]
    train_negs = idx_train[y[idx_train] == 0]
    idx_ref = ref_rng.permutation(np.concatenate([
        ref_rng.choice(train_frauds, size=REFERENCE_FRAUDS, replace=False),
        ref_rng.choice(train_negs, size=REFERENCE_ROWS - REFERENCE_FRAUDS, replace=False),
    ]))
    ref_bytes = write_csv_bytes(FEATURES + ["Class", "fraud_probability"],
                                table_rows(X[idx_ref], y[idx_ref], ort_all[idx_ref]))
    ref_path = out / "reference.csv.gz"
    write_gzip_deterministic(ref_path, ref_bytes)

    # parity: all test frauds + seeded negatives up to PARITY_ROWS, in test-split order;
    # expected_probability is XGBoost's own predict_proba[:, 1].
    test_frauds = idx_test[y[idx_test] == 1]
    test_negs = idx_test[y[idx_test] == 0]
    rng = np.random.default_rng(args.seed)
    keep_negs = rng.choice(test_negs, size=PARITY_ROWS - len(test_frauds), replace=False)
    keep = set(test_frauds.tolist()) | set(keep_negs.tolist())
    idx_par = np.array([i for i in idx_test if i in keep])
    par_bytes = write_csv_bytes(FEATURES + ["Class", "expected_probability"],
                                table_rows(X[idx_par], y[idx_par], xgb_all[idx_par]))
    (out / "parity.csv").write_bytes(par_bytes)

    # ---- 7. TreeSHAP artifact: the trees with covers, checked against model.onnx ---------------
    booster = clf.get_booster()
    trees_doc = explain.export_trees(booster, FEATURES, sha256_file(model_path))
    structure = explain.verify_against_onnx(trees_doc, onx)
    trees_margin = explain.margins_f32(trees_doc, X)
    trees_max = float(np.max(np.abs(explain.sigmoid(trees_margin) - ort_all.astype(np.float64))))
    xgb_margin_all = booster.predict(xgb.DMatrix(X), output_margin=True)
    trees_margin_max = float(np.max(np.abs(trees_margin.astype(np.float64) - xgb_margin_all.astype(np.float64))))
    print(f"trees.json: {structure['trees']} trees, {structure['splits']} splits, {structure['leaves']} leaves "
          f"equal to model.onnx; all {n_rows} rows: max |sigmoid(margin) - onnxruntime| = {trees_max:.3g}, "
          f"max |margin - xgboost output_margin| = {trees_margin_max:.3g}")
    if not trees_max <= explain.EVAL_TOLERANCE:
        raise SystemExit(f"TREES CHECK FAILURE: trees.json probabilities differ from ONNX Runtime by {trees_max} "
                         f"> {explain.EVAL_TOLERANCE}")
    trees_path = out / "trees.json"
    trees_path.write_bytes(explain.trees_json_bytes(trees_doc))

    # ---- 8. TreeSHAP parity fixture: XGBoost's own pred_contribs on the parity.csv rows ---------
    Xp_file, yp_file, sp_file = read_table(par_bytes)
    dm64, dm32 = xgb.DMatrix(Xp_file), xgb.DMatrix(Xp_file.astype(np.float32))
    contribs = booster.predict(dm64, pred_contribs=True)
    margin_par = booster.predict(dm64, output_margin=True)
    if not (contribs.shape == (len(idx_par), N_FEATURES + 1)
            and np.array_equal(contribs, booster.predict(dm32, pred_contribs=True))
            and np.array_equal(margin_par, booster.predict(dm32, output_margin=True))
            and np.array_equal(booster.predict(dm32).astype(np.float64), sp_file)):
        raise SystemExit("CONTRIBS CHECK FAILURE: float32 parity features do not give the same contributions / "
                         "margins / parity.csv probabilities")
    contrib_sum_max = float(np.max(np.abs(contribs.astype(np.float64).sum(axis=1) - margin_par.astype(np.float64))))
    if not contrib_sum_max <= explain.CONTRIB_SUM_TOLERANCE:
        raise SystemExit(f"CONTRIBS CHECK FAILURE: contributions sum to the margin within {contrib_sum_max} "
                         f"> {explain.CONTRIB_SUM_TOLERANCE}")
    # the same contributions from trees.json alone (float64 TreeSHAP, what the Rust service implements)
    # (pure Python, ~55 ms a row: every 10th parity row plus every parity fraud)
    shap_rows = np.array(sorted(set(range(0, len(Xp_file), 10)) | set(np.nonzero(yp_file == 1)[0].tolist())))
    ref_phi = np.array([explain.tree_shap_row(trees_doc, Xp_file[i].astype(np.float32)) for i in shap_rows])
    treeshap_max = float(np.max(np.abs(ref_phi - contribs[shap_rows].astype(np.float64))))
    if not treeshap_max <= explain.CONTRIB_SUM_TOLERANCE:
        raise SystemExit(f"CONTRIBS CHECK FAILURE: TreeSHAP from trees.json differs from pred_contribs by "
                         f"{treeshap_max}")
    print(f"parity-contribs: {len(idx_par)} rows; max |sum(contribs) - margin| = {contrib_sum_max:.3g}; "
          f"TreeSHAP from trees.json (float64) vs pred_contribs (float32) on {len(shap_rows)} rows: "
          f"max |diff| = {treeshap_max:.3g}; "
          f"float32 input gives identical numbers and parity.csv's probabilities")
    contribs_path = out / "parity-contribs.csv.gz"
    write_gzip_deterministic(contribs_path, write_csv_bytes(
        FEATURES + ["bias", "margin"],
        [[fmt(v) for v in contribs[i]] + [fmt(margin_par[i])] for i in range(len(contribs))]))

    # ---- 9. importance (total gain) and the calibrator -----------------------------------------
    importance = explain.importance(booster, FEATURES)
    print(f"importance: {importance['important_features']}")
    cal = calibration.fit_and_choose(
        p_val.astype(np.float64), y_val, sample_weights(y_val),
        p_test.astype(np.float64), y_test, sample_weights(y_test),
        prevalence=FULL_FRAUD_SHARE, threshold=threshold,
        fitted_on=(f"validation split ({len(idx_val)} rows, {int(y_val.sum())} frauds), ONNX Runtime scores; "
                   f"frauds weight 1, negatives weight w = {negative_weight(y_val)!r} (train.py negative_weight), "
                   f"so the weighted fraud share is 492/284807"),
        evaluated_on=(f"test split ({len(idx_test)} rows, {int(y_test.sum())} frauds), ONNX Runtime scores, "
                      f"negatives weighted w = {negative_weight(y_test)!r}; sklearn brier_score_loss / log_loss "
                      f"with these sample weights; cbpe_* = CBPE estimate at the card threshold"),
    )["card"]
    print(f"calibration: {cal['method']}; test brier/log-loss platt {cal['comparison']['platt']['brier']:.6g}/"
          f"{cal['comparison']['platt']['log_loss']:.6g}, isotonic {cal['comparison']['isotonic']['brier']:.6g}/"
          f"{cal['comparison']['isotonic']['log_loss']:.6g}")

    versions = {
        "python": platform.python_version(),
        "xgboost": xgb.__version__,
        "scikit-learn": sklearn.__version__,
        "onnxmltools": onnxmltools.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    card = {
        "name": "fraud-detector",
        "version": args.version,
        "created_at": args.created_at,
        "features": FEATURES,
        "threshold": threshold,
        "threshold_rule": THRESHOLD_RULE,
        "model_sha256": sha256_file(model_path),
        "training_data_sha256": data_sha,
        "reference": {"file": ref_path.name, "rows": int(len(idx_ref)), "sha256": sha256_file(ref_path)},
        "metrics": metrics,
        "training": {
            "seed": args.seed,
            "rows": n_rows,
            "frauds": n_frauds,
            "train_rows": int(len(idx_train)),
            "fit_rows": int(len(idx_fit)),
            "validation_rows": int(len(idx_val)),
            "test_rows": int(len(idx_test)),
            "test_frauds": int(y_test.sum()),
            "validation_frauds": int(y_val.sum()),
            "reference_frauds": int(y[idx_ref].sum()),
            "parity_rows": int(len(idx_par)),
            "evaluation": evaluation,
            "split": ("stratified by Class (sklearn train_test_split, random_state=seed): 20 % test; "
                      "the remaining train split -> 80 % fit (the model is trained on it) / 20 % validation "
                      "(threshold); reference = 5,000 rows of the train split at the full data's "
                      "prevalence (9 frauds, seeded draw without replacement), like live traffic"),
            "data_file": args.data.name,
            "params": params,
            "onnx": {
                "ir_version": int(onx.ir_version),
                "opsets": {(o.domain or "ai.onnx"): o.version for o in onx.opset_import},
                "parity_max_abs_diff": parity_max,
                "parity_rows_checked": n_rows,
            },
            "library_versions": versions,
        },
        "importance": importance,
        "explanation": {
            "file": trees_path.name,
            "sha256": sha256_file(trees_path),
            "method": "TreeSHAP (path-dependent), XGBoost pred_contribs",
            "output": "log-odds margin",
            "parity": {"file": contribs_path.name, "rows": int(len(contribs)), "sha256": sha256_file(contribs_path)},
            "checks": {
                "onnx_structure": (f"{structure['trees']} trees, {structure['splits']} splits and "
                                   f"{structure['leaves']} leaves equal to model.onnx (features, float32 "
                                   f"thresholds, children, missing, float32 leaf weights)"),
                "probability_max_abs_diff_vs_onnxruntime": trees_max,
                "rows_checked": n_rows,
                "contribution_sum_max_abs_diff": contrib_sum_max,
                "treeshap_float64_max_abs_diff_vs_pred_contribs": treeshap_max,
                "treeshap_rows_checked": int(len(shap_rows)),
            },
        },
        "calibration": cal,
    }
    card_text = json.dumps(card, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
    (out / "card.json").write_text(card_text, encoding="ascii")

    # ---- read the written files back, as the Rust service will ------------------------------
    Xr, yr, sr = read_table(gzip.decompress(ref_path.read_bytes()))
    if not (np.array_equal(Xr, X[idx_ref]) and np.array_equal(yr, y[idx_ref])
            and np.array_equal(sr, ort_score(Xr).astype(np.float64))):
        raise SystemExit("reference.csv.gz does not read back to the same rows / ONNX scores")
    Xp, yp, sp = read_table((out / "parity.csv").read_bytes())
    parity_file_max = float(np.max(np.abs(ort_score(Xp).astype(np.float64) - sp)))
    if not (np.array_equal(Xp, X[idx_par]) and parity_file_max <= PARITY_TOLERANCE
            and int(yp.sum()) == int(y_test.sum())):
        raise SystemExit(f"parity.csv check failed (max diff {parity_file_max})")
    print(f"read-back ok: reference scores equal ONNX Runtime bit for bit; parity.csv max diff "
          f"{parity_file_max:.3g}")

    # ---- summary -------------------------------------------------------------------------
    t = metrics["test"]
    print(f"threshold = {threshold!r} (validation corrected F1 = {val_f1:.4f})")
    print(f"{'test split':<24}{'PR-AUC':>8}{'ROC-AUC':>9}{'prec':>8}{'recall':>8}{'F1':>8}")
    for name, m in [("raw", t["raw"]), ("prevalence-corrected", t["prevalence_corrected"])]:
        print(f"{name:<24}{m['pr_auc']:>8.4f}{m['roc_auc']:>9.4f}{m['precision']:>8.4f}"
              f"{m['recall']:>8.4f}{m['f1']:>8.4f}")
    print(f"confusion at threshold: test {evaluation['confusion']['test']}, "
          f"validation {evaluation['confusion']['validation']}")
    for f in ["model.onnx", "card.json", "reference.csv.gz", "parity.csv", "trees.json", "parity-contribs.csv.gz"]:
        p = out / f
        print(f"wrote {p} ({p.stat().st_size} bytes, sha256 {sha256_file(p)})")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

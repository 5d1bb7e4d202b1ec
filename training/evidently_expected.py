#!/usr/bin/env python3
"""Evidently's OWN DataDriftPreset output for drift_expected.py's three whole-dataset cases.

Writes shared/tests/fixtures/evidently_expected.json. Runs in its own venv (training/.venv-evidently,
training/requirements-evidently.txt), after drift_expected.py:

    training/.venv-evidently/bin/python training/evidently_expected.py

Inputs are rebuilt from shared/tests/fixtures/drift_expected.json's own input description of the cases
dataset_no_incident, dataset_no_incident_legit_only and dataset_distribution_shift (reference rows
0..5000 of model/reference.csv.gz; current rows 0..3000 of model/parity.csv with its filter / add /
replace; fraud_probability of the current rows = the case's inline current_prediction), with
drift_expected.py's own reader, and checked against it: drift_expected.py's scipy statistics on the
rebuilt columns must give exactly the fixture's numbers, so the rows are identical.

Evidently 0.7 (new API): Report([DataDriftPreset()], include_tests=True) with default options on
Dataset.from_pandas(..., DataDefinition(numerical_columns = the 29 features + fraud_probability)).
fraud_probability is one more numerical column there: DataDriftPreset drifts every numerical /
categorical / text column of the data definition, and this is also what Evidently infers with no data
definition at all. (Declared instead as BinaryClassification(prediction_probas=...) it is not drifted at
all: the preset skips prediction columns, and such a definition needs a target column.) So Evidently
counts it in the dataset verdict: 30 columns. drift_expected.json counts the 29 features and reports the
prediction separately. The legacy DataDriftPreset (evidently.legacy, ColumnMapping(numerical_features=29,
prediction="fraud_probability")), which the new preset renders with, is run too and must agree.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's anonymous usage telemetry off

import numpy as np  # noqa: E402

import drift_expected as D  # noqa: E402  (its readers and statistics; pure numpy/scipy)

REPO_ROOT = Path(__file__).resolve().parent.parent
DRIFT_FIXTURE = REPO_ROOT / "shared" / "tests" / "fixtures" / "drift_expected.json"
OUT = REPO_ROOT / "shared" / "tests" / "fixtures" / "evidently_expected.json"
CASES = ["dataset_no_incident", "dataset_no_incident_legit_only", "dataset_distribution_shift"]
PRED = "fraud_probability"
STATTEST_NAMES = {"Wasserstein distance (normed)": "wasserstein", "K-S p_value": "ks"}


def inline_of(fixture: dict, ref: dict) -> np.ndarray:
    (other,) = [c for c in fixture["cases"] if c["id"] == ref["same_as_case"]]
    return np.asarray(other[ref["side"]], dtype=np.float64)


def build(fixture: dict, case: dict) -> tuple[dict, dict]:
    """(reference columns, current columns), each {name: float64 array}, incl. fraud_probability."""
    r = case["reference"]
    ref = {f: D.column(r["file"], f, r["rows"][0], r["rows"][1]) for f in r["columns"]}
    ref[PRED] = D.column(r["file"], r["prediction_column"], r["rows"][0], r["rows"][1])
    c = case["current"]
    start, end = c["rows"]
    keep = np.ones(end - start, dtype=bool)
    if "filter" in c:
        keep = D.column(c["file"], c["filter"]["column"], start, end) == c["filter"]["equals"]
    cur = {f: D.column(c["file"], f, start, end)[keep] for f in c["columns"]}
    for f, x in c.get("add", {}).items():
        cur[f] = cur[f] + x
    for f, spec in c.get("replace", {}).items():
        cur[f] = inline_of(fixture, spec)[keep]
    cur[PRED] = np.asarray(case["current_prediction"], dtype=np.float64)
    if any(len(v) != case["current_rows"] for v in cur.values()):
        raise SystemExit(f"{case['id']}: rebuilt current rows != {case['current_rows']}")
    # the same rows as drift_expected.py: its statistics reproduce its fixture exactly
    e = case["expected"]
    for f in D.FEATURES:
        if D.default_test(ref[f], cur[f]) != {k: e["columns"][f][k] for k in ("stattest", "score", "threshold",
                                                                              "drifted")}:
            raise SystemExit(f"{case['id']} {f}: rebuilt rows do not reproduce drift_expected.json")
    if D.default_test(ref[PRED], cur[PRED])["score"] != e["prediction"]["score"]:
        raise SystemExit(f"{case['id']}: rebuilt prediction does not reproduce drift_expected.json")
    return ref, cur


def run_new(ref: dict, cur: dict) -> dict:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    cols = D.FEATURES + [PRED]
    dd = DataDefinition(numerical_columns=cols)
    snap = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(pd.DataFrame({k: cur[k] for k in cols}), data_definition=dd),
        Dataset.from_pandas(pd.DataFrame({k: ref[k] for k in cols}), data_definition=dd))
    d = snap.dict()
    per_col: dict[str, dict] = {}
    count = None
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"] == "evidently:metric_v2:ValueDrift":
            per_col[cfg["column"]] = {"stattest": cfg["method"], "score": float(m["value"]),
                                      "threshold": float(cfg["threshold"])}
        elif cfg["type"] == "evidently:metric_v2:DriftedColumnsCount":
            count = m["value"]
    tests = {}
    for t in d["tests"]:
        name = t["name"]
        tests[name] = t["status"]
    for col in per_col:
        status = tests[f"Value Drift for column {col}"]
        per_col[col]["drifted"] = {"FAIL": True, "SUCCESS": False}[status]
    share_tests = [s for n, s in tests.items() if not n.startswith("Value Drift for column")]
    if len(share_tests) != 1:
        raise SystemExit(f"expected one drifted-share test, got {share_tests}")
    return {"columns": per_col, "count": float(count["count"]), "share": float(count["share"]),
            "share_test_status": share_tests[0], "share_test_name": [n for n in tests
                                                                     if not n.startswith("Value Drift")][0]}


def run_legacy(ref: dict, cur: dict) -> dict:
    import pandas as pd
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    cols = D.FEATURES + [PRED]
    rep = Report(metrics=[DataDriftPreset()])
    rep.run(reference_data=pd.DataFrame({k: ref[k] for k in cols}),
            current_data=pd.DataFrame({k: cur[k] for k in cols}),
            column_mapping=ColumnMapping(numerical_features=D.FEATURES, prediction=PRED, target=None))
    out = {}
    for m in rep.as_dict()["metrics"]:
        if m["metric"] == "DatasetDriftMetric":
            out["dataset"] = m["result"]
        elif m["metric"] == "DataDriftTable":
            out["columns"] = {k: {"stattest": v["stattest_name"], "score": float(v["drift_score"]),
                                  "threshold": float(v["stattest_threshold"]), "drifted": bool(v["drift_detected"]),
                                  "column_type": v["column_type"]}
                              for k, v in m["result"]["drift_by_columns"].items()}
    return out


def main() -> int:
    import evidently
    import pandas
    import scipy

    fixture = json.loads(DRIFT_FIXTURE.read_text(encoding="ascii"))
    out_cases = []
    for cid in CASES:
        (case,) = [c for c in fixture["cases"] if c["id"] == cid]
        ref, cur = build(fixture, case)
        new = run_new(ref, cur)
        legacy = run_legacy(ref, cur)
        ds = legacy["dataset"]
        # the new API and the legacy preset must say the same
        for col, v in new["columns"].items():
            lv = legacy["columns"][col]
            if (lv["stattest"], lv["score"], lv["threshold"], lv["drifted"]) != (v["stattest"], v["score"],
                                                                                v["threshold"], v["drifted"]):
                raise SystemExit(f"{cid} {col}: new API {v} vs legacy {lv}")
        if (ds["number_of_drifted_columns"], ds["share_of_drifted_columns"]) != (new["count"], new["share"]) \
                or ds["dataset_drift"] != (new["share_test_status"] == "FAIL"):
            raise SystemExit(f"{cid}: dataset verdict differs between the new API and legacy: {new} {ds}")

        # comparison with drift_expected.json
        e = case["expected"]
        mine = dict(e["columns"])
        mine[PRED] = e["prediction"]
        diffs = {}
        mismatches = []
        for col, v in new["columns"].items():
            m = mine[col]
            diffs[col] = v["score"] - m["score"]
            if STATTEST_NAMES.get(v["stattest"]) != m["stattest"] or v["threshold"] != m["threshold"] \
                    or v["drifted"] != m["drifted"]:
                mismatches.append(col)
        n_feat = e["number_of_drifted_columns"]
        n_all = n_feat + int(e["prediction"]["drifted"])
        comparison = {
            "max_abs_score_difference": max(abs(x) for x in diffs.values()),
            "max_abs_score_difference_column": max(diffs, key=lambda k: abs(diffs[k])),
            "columns_with_other_stattest_threshold_or_verdict": mismatches,
            "drift_expected_dataset": {"columns": e["number_of_columns"], "drifted": n_feat,
                                       "share": e["share_of_drifted_columns"], "dataset_drift": e["dataset_drift"],
                                       "prediction_drifted": e["prediction"]["drifted"]},
            "drift_expected_if_prediction_counted": {"columns": e["number_of_columns"] + 1, "drifted": n_all,
                                                     "share": n_all / (e["number_of_columns"] + 1),
                                                     "dataset_drift": n_all / (e["number_of_columns"] + 1)
                                                     >= e["drift_share"]},
            "same_dataset_verdict": bool(ds["dataset_drift"]) == bool(e["dataset_drift"]),
        }
        out_cases.append({
            "id": cid,
            "current_rows": case["current_rows"],
            "columns": {col: dict(v, score_minus_drift_expected=diffs[col]) for col, v in new["columns"].items()},
            "dataset": {
                "number_of_columns": int(ds["number_of_columns"]),
                "number_of_drifted_columns": int(ds["number_of_drifted_columns"]),
                "share_of_drifted_columns": float(ds["share_of_drifted_columns"]),
                "drift_share": float(ds["drift_share"]),
                "dataset_drift": bool(ds["dataset_drift"]),
                "share_test": {"name": new["share_test_name"], "status": new["share_test_status"]},
            },
            "comparison_with_drift_expected": comparison,
        })

    doc = {
        "schema_version": 1,
        "generated_by": "training/evidently_expected.py",
        "evidently_version": evidently.__version__,
        "how": __doc__.split("\n\n", 3)[3].strip(),
        "inputs": ("the cases of the same id in shared/tests/fixtures/drift_expected.json (its reference / "
                   "current / current_prediction fields); columns = V1..V28, Amount, fraud_probability"),
        "fields": ("columns.<name>: stattest = Evidently's stattest name, score = drift score (p-value for K-S, "
                   "normed distance for Wasserstein), threshold, drifted = Evidently's verdict (its ValueDrift "
                   "test FAILed), score_minus_drift_expected = score - drift_expected.json's score (the "
                   "prediction's for fraud_probability); dataset: Evidently's DatasetDriftMetric over all 30 "
                   "columns (dataset_drift = share >= drift_share) and the new API's drifted-share test"),
        "drift_expected_sha256": __import__("hashlib").sha256(DRIFT_FIXTURE.read_bytes()).hexdigest(),
        "library_versions": {"python": platform.python_version(), "evidently": evidently.__version__,
                             "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pandas.__version__},
        "cases": out_cases,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
    OUT.write_text(text, encoding="ascii")
    print(f"wrote {OUT} ({len(text)} bytes), evidently {evidently.__version__}")
    for c in out_cases:
        ds, cmp = c["dataset"], c["comparison_with_drift_expected"]
        drifted = [k for k, v in c["columns"].items() if v["drifted"]]
        print(f"  {c['id']:<32} evidently {ds['number_of_drifted_columns']}/{ds['number_of_columns']} "
              f"share={ds['share_of_drifted_columns']:.4f} dataset_drift={ds['dataset_drift']} | drift_expected "
              f"{cmp['drift_expected_dataset']['drifted']}/29 share={cmp['drift_expected_dataset']['share']:.4f} "
              f"dataset_drift={cmp['drift_expected_dataset']['dataset_drift']} | max |score diff| "
              f"{cmp['max_abs_score_difference']:.3g} ({cmp['max_abs_score_difference_column']}); other verdicts: "
              f"{cmp['columns_with_other_stattest_threshold_or_verdict']}")
        print(f"    drifted: {drifted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""NannyML's own CBPE estimate, as a reference for calibration_expected.json.

Runs in its own venv (training/.venv-nannyml, training/requirements-nannyml.txt); calibration_expected.py
calls it: JSON on stdin -> JSON on stdout. Input:

    {"threshold": t,
     "reference": {"p": [...], "flagged": [0/1...], "y": [0/1...], "repeat": [int...]},
     "analysis":  {"p": [...], "flagged": [0/1...], "y": [0/1...], "repeat": [int...]}}

p = the card's calibrated P(fraud) (NannyML's calibration disabled: NoopCalibrator), flagged = score >=
threshold (NannyML's y_pred). NannyML has no sample weights, so row i is repeated repeat[i] times (the
caller's integer stand-in for the prevalence weights). One chunk = the whole analysis set.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no usage statistics (and no network) from NannyML


def frame(part: dict):
    import numpy as np
    import pandas as pd

    rep = np.asarray(part["repeat"], dtype=np.int64)
    return pd.DataFrame({
        "p": np.repeat(np.asarray(part["p"], dtype=np.float64), rep),
        "flagged": np.repeat(np.asarray(part["flagged"], dtype=np.int64), rep),
        "y": np.repeat(np.asarray(part["y"], dtype=np.int64), rep),
    })


def main() -> int:
    import nannyml
    from nannyml.calibration import NoopCalibrator

    doc = json.load(sys.stdin)
    ref, ana = frame(doc["reference"]), frame(doc["analysis"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "number of chunks is too low": one chunk on purpose
        est = nannyml.CBPE(metrics=["precision", "recall"], y_pred_proba="p", y_pred="flagged", y_true="y",
                           problem_type="classification_binary", chunk_number=1, calibrator=NoopCalibrator())
        est.fit(ref)
        res = est.estimate(ana).filter(period="analysis").to_df()
    if len(res) != 1:
        raise SystemExit(f"expected one analysis chunk, got {len(res)}")
    row = res.iloc[0]
    out = {
        "nannyml_version": nannyml.__version__,
        "rows": int(len(ana)),
        "reference_rows": int(len(ref)),
        "estimated_precision": float(row[("precision", "value")]),
        "estimated_recall": float(row[("recall", "value")]),
        "realized_precision": float(row[("precision", "realized")]),
        "realized_recall": float(row[("recall", "realized")]),
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

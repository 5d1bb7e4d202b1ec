"""Score calibrator for label-free performance estimation (CBPE): ONNX score -> P(fraud) at live prevalence.

Used by train.py (fits it, writes card.calibration) and calibration_expected.py (the Rust fixture).
The model's scores are not probabilities: scale_pos_weight ~ 80 and the sample's ~7.2x undersampling of
normal transactions both inflate them. Both candidates are fitted on the VALIDATION split's ONNX Runtime
scores with frauds weighted 1 and negatives weighted w (train.py's negative_weight), so the weighted fraud
share is the live 492/284,807; they are compared on the TEST split, weighted the same way.

* platt:    s_c = min(max(s, CLIP_MIN), CLIP_MAX); z = ln(s_c / (1 - s_c)); p = 1 / (1 + exp(-(a z + b))),
            a, b = weighted maximum likelihood (Newton-Raphson to convergence, cross-checked against
            scikit-learn's unpenalised LogisticRegression).
* isotonic: sklearn IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1) with sample_weight;
            p = np.interp(s, X_thresholds_, y_thresholds_) (linear between knots, flat outside).
"""

from __future__ import annotations

import numpy as np

# 2^-24: 1 - 2^-24 is the largest float32 below 1, so for float32 scores >= 2^-24 the clip only
# touches exact 0 and 1 (which have no finite logit).
CLIP_MIN = 2.0 ** -24
CLIP_MAX = 1.0 - 2.0 ** -24

PLATT_FORMULA = ("s_c = min(max(s, clip.min), clip.max); z = ln(s_c / (1 - s_c)); "
                 "p = 1 / (1 + exp(-(a * z + b))); s = fraud_probability (the ONNX Runtime float32 score as a "
                 "double), all arithmetic in float64")
ISOTONIC_FORMULA = "p = np.interp(s, x, y): linear between knots, y[0] below x[0], y[-1] above x[-1]"


def logit_clipped(s: np.ndarray) -> np.ndarray:
    sc = np.minimum(np.maximum(np.asarray(s, dtype=np.float64), CLIP_MIN), CLIP_MAX)
    return np.log(sc / (1.0 - sc))


def platt_apply(a: float, b: float, s: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(a * logit_clipped(s) + b)))


def isotonic_apply(x: list[float], y: list[float], s: np.ndarray) -> np.ndarray:
    return np.interp(np.asarray(s, dtype=np.float64), np.asarray(x), np.asarray(y))


def apply(cal: dict, s: np.ndarray) -> np.ndarray:
    if cal["method"] == "platt":
        if (cal["clip"]["min"], cal["clip"]["max"]) != (CLIP_MIN, CLIP_MAX):
            raise SystemExit("calibration clip bounds differ from calibration.py")
        return platt_apply(cal["a"], cal["b"], s)
    return isotonic_apply(cal["x"], cal["y"], s)


def fit_platt(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, int]:
    """Weighted logistic regression of y on z = logit_clipped(s), no penalty, by Newton-Raphson."""
    z = logit_clipped(s)
    yy = y.astype(np.float64)
    a, b = 1.0, 0.0
    for it in range(1, 101):
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        r = w * (p - yy)                      # gradient of the weighted negative log-likelihood
        g = np.array([np.sum(r * z), np.sum(r)])
        h = w * p * (1.0 - p)
        H = np.array([[np.sum(h * z * z), np.sum(h * z)], [np.sum(h * z), np.sum(h)]])
        step = np.linalg.solve(H, g)
        a, b = a - float(step[0]), b - float(step[1])
        if max(abs(step[0]), abs(step[1])) < 1e-13:
            return a, b, it
    raise SystemExit("Platt fit did not converge")


def fit_isotonic(s: np.ndarray, y: np.ndarray, w: np.ndarray):
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
        np.asarray(s, dtype=np.float64), y.astype(np.float64), sample_weight=w)


def scores_of(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict:
    from sklearn.metrics import brier_score_loss, log_loss

    return {
        "brier": float(brier_score_loss(y, p, sample_weight=w)),
        "log_loss": float(log_loss(y, p, sample_weight=w, labels=[0, 1])),
        "expected_frauds": float(np.sum(w * p)),
        "frauds": float(np.sum(w * y)),
        "zero_probability_frauds": int(np.sum((p == 0) & (y == 1))),
    }


def fit_and_choose(s_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray,
                   s_test: np.ndarray, y_test: np.ndarray, w_test: np.ndarray,
                   prevalence: float, threshold: float, fitted_on: str, evaluated_on: str) -> dict:
    """Both calibrators, their test-split scores, and card.calibration for the chosen one."""
    from sklearn.linear_model import LogisticRegression

    a, b, iters = fit_platt(s_val, y_val, w_val)
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(
        logit_clipped(s_val)[:, None], y_val, sample_weight=w_val)
    if not (abs(lr.coef_[0, 0] - a) < 1e-5 and abs(lr.intercept_[0] - b) < 1e-5):
        raise SystemExit(f"Platt Newton fit ({a}, {b}) differs from sklearn "
                         f"({lr.coef_[0, 0]}, {lr.intercept_[0]})")
    iso = fit_isotonic(s_val, y_val, w_val)
    ix, iy = [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]
    p_iso = isotonic_apply(ix, iy, s_test)
    if not np.array_equal(p_iso, iso.predict(s_test)):
        diff = float(np.max(np.abs(p_iso - iso.predict(s_test))))
        if diff > 1e-15:
            raise SystemExit(f"np.interp differs from IsotonicRegression.predict by {diff}")
    p_platt = platt_apply(a, b, s_test)
    # weighted prevalence of the fit data: the calibrators' base rate
    if abs(float(np.sum(w_val * y_val) / np.sum(w_val)) - prevalence) > 1e-12:
        raise SystemExit("validation weights do not give the live prevalence")
    flagged = np.asarray(s_test) >= threshold
    est = {name: cbpe(pp, flagged, w_test)["estimated"] for name, pp in [("platt", p_platt), ("isotonic", p_iso)]}
    comparison = {
        "evaluated_on": evaluated_on,
        "platt": dict(scores_of(y_test, p_platt, w_test), cbpe_precision=est["platt"]["precision"],
                      cbpe_recall=est["platt"]["recall"]),
        "isotonic": dict(scores_of(y_test, p_iso, w_test), knots=len(ix),
                         cbpe_precision=est["isotonic"]["precision"], cbpe_recall=est["isotonic"]["recall"]),
        "uncalibrated": scores_of(y_test, np.asarray(s_test, dtype=np.float64), w_test),
        "realized": cbpe(p_platt, flagged, w_test, y_test)["realized"],
    }
    one_from = next((xv for xv, yv in zip(ix, iy) if yv == 1.0), None)
    zero_to = max((xv for xv, yv in zip(ix, iy) if yv == 0.0), default=None)
    cp, ci = comparison["platt"], comparison["isotonic"]
    platt_wins = cp["log_loss"] <= ci["log_loss"]
    method = "platt" if platt_wins else "isotonic"
    why = (
        f"Platt: lower weighted log loss on the test split ({cp['log_loss']:.6g} vs {ci['log_loss']:.6g} "
        f"isotonic) and {'lower' if cp['brier'] <= ci['brier'] else 'higher'} weighted Brier score "
        f"({cp['brier']:.6g} vs {ci['brier']:.6g}). Fitted on "
        f"{int(np.sum(y_val))} validation frauds, isotonic is a {len(ix)}-knot step function that is exactly 0 "
        f"for s <= {zero_to!r} ({ci['zero_probability_frauds']} test frauds get p = 0, so CBPE could never "
        f"expect a missed fraud there) and exactly 1 for s >= {one_from!r} (CBPE precision "
        f"{ci['cbpe_precision']:.4f} at the threshold vs {comparison['realized']['precision']:.4f} realized); "
        f"Platt's 2 parameters are smooth and strictly inside (0, 1) (CBPE precision "
        f"{cp['cbpe_precision']:.4f}, recall {cp['cbpe_recall']:.4f} vs {comparison['realized']['recall']:.4f})."
    ) if platt_wins else (
        f"Lower weighted log loss on the test split ({ci['log_loss']:.6g} isotonic vs {cp['log_loss']:.6g} "
        f"Platt; Brier {ci['brier']:.6g} vs {cp['brier']:.6g})."
    )
    card = {
        "method": method,
        "fitted_on": fitted_on,
        "prevalence": prevalence,
    }
    if method == "platt":
        card.update({"a": a, "b": b, "clip": {"min": CLIP_MIN, "max": CLIP_MAX}, "formula": PLATT_FORMULA,
                     "fit": f"weighted maximum likelihood, Newton-Raphson ({iters} iterations; sklearn "
                            f"LogisticRegression(C=inf) agrees within 1e-5)"})
    else:
        card.update({"x": ix, "y": iy, "formula": ISOTONIC_FORMULA})
    card["fitted_range"] = [float(np.min(s_val)), float(np.max(s_val))]
    card["comparison"] = comparison
    card["choice"] = why
    return {"card": card, "platt": (a, b), "isotonic": (ix, iy), "p_test": p_platt if platt_wins else p_iso}


def cbpe(p: np.ndarray, flagged: np.ndarray, w: np.ndarray, y: np.ndarray | None = None) -> dict:
    """Confidence-based performance estimation: expected confusion counts from calibrated p
    (each row weighted by w), and, with labels, the realized ones."""
    est_tp = float(np.sum((w * p)[flagged]))
    est_fp = float(np.sum((w * (1.0 - p))[flagged]))
    est_fn = float(np.sum((w * p)[~flagged]))
    est_tn = float(np.sum((w * (1.0 - p))[~flagged]))
    out = {"estimated": _prf(est_tp, est_fp, est_fn, est_tn)}
    if y is not None:
        yy = y.astype(bool)
        out["realized"] = _prf(float(np.sum(w[flagged & yy])), float(np.sum(w[flagged & ~yy])),
                               float(np.sum(w[~flagged & yy])), float(np.sum(w[~flagged & ~yy])))
        out["difference"] = {k: out["estimated"][k] - out["realized"][k] for k in ("precision", "recall")}
    return out


def _prf(tp: float, fp: float, fn: float, tn: float) -> dict:
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp > 0 else 0.0,
            "recall": tp / (tp + fn) if tp + fn > 0 else 0.0}


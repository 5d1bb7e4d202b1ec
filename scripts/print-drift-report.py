#!/usr/bin/env python3
"""Prints a drift-check JSON report (drift-reports/dt=.../<run_id>.json) as the table an operator reads."""
import json
import sys

report = json.load(open(sys.argv[1]))
drift = report.get("drift")
print(f"  run {report['run_id']} · model {report['model_version']} · window rows {report['window_rows']}"
      f" · corrupt objects {report['corrupt_objects']} · sampled {report['sampling']['sampled']}")
if report.get("fraud_rate") is not None:
    print(f"  fraud rate in the window: {report['fraud_rate']:.4%}")
print(f"  {report['summary']}")
if drift:
    print(f"\n  {'feature':<8} {'method':<22} {'score':>10} {'threshold':>9}  drifted {'psi':>8}")
    rows = drift["features"] + ([drift["prediction"]] if drift.get("prediction") else [])
    for c in rows:
        mark = "YES" if c["drifted"] else "no"
        print(f"  {c['column']:<8} {str(c['method']):<22} {c['score']:>10.4f} {c['threshold']:>9.3f}  {mark:<7} {c['psi']:>8.4f}")
    print(f"\n  drifted columns: {drift['number_of_drifted_columns']} of {drift['number_of_columns']}"
          f" (share {drift['share_of_drifted_columns']:.3f}; dataset drift when ≥ {drift['drift_share']}):"
          f" dataset drift {'YES' if drift['dataset_drift'] else 'no'}")

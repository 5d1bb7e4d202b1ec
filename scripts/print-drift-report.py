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

quality = report.get("quality")
if quality:
    card_p, card_r = quality.get("card_precision"), quality.get("card_recall")
    print(f"\n  model quality (labels under labels/ joined to the predictions of {quality['window']['start'][:10]}"
          f" .. {quality['window']['end'][:16]}, {quality['convention'].replace('_', '-')} labels):")
    print(f"  {quality['summary']}")
    print(f"  {'day':<10} {'rows':>7} {'judged':>7} {'precision':>9} {'recall':>7} {'F1':>6} {'PR-AUC':>6}"
          f" {'TP':>5} {'FP':>5} {'FN':>5}   {'CBPE prec':>9} {'CBPE rec':>8}  est−real (P / R)")
    num = lambda v, w=7, p=3: f"{v:>{w}.{p}f}" if v is not None else f"{'-':>{w}}"
    for c in quality["cohorts"]:
        r, e, d = c.get("realized"), c.get("estimated"), c.get("estimate_minus_realized")
        conf = r["confusion"] if r else {}
        print(f"  {c['day']:<10} {c['rows']:>7.0f} {c['judged_rows']:>7.0f} {num(r and r['precision'], 9)} "
              f"{num(r and r['recall'])} {num(r and r['f1'], 6)} {num(r and r['average_precision'], 6)} "
              f"{conf.get('tp', 0):>5.0f} {conf.get('fp', 0):>5.0f} {conf.get('fn', 0):>5.0f}   "
              f"{num(e and e['precision'], 9)} {num(e and e['recall'], 8)}  "
              + (f"{d['precision']:+.3f} / {d['recall']:+.3f}" if d else "-"))
    e = quality.get("estimated_window")
    if e:
        print(f"  CBPE on the drift window (no labels): precision {e['precision']:.3f}, recall {e['recall']:.3f}"
              f" (expected frauds {e['confusion']['tp'] + e['confusion']['fn']:.1f})")
    if card_p is not None and card_r is not None:
        print(f"  model card: precision {card_p:.3f}, recall {card_r:.3f}; the quality alerts fire 0.2 below either,"
              f" from 30 labelled frauds")

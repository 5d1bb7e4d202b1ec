#!/usr/bin/env python3
"""Writes what scripts/perf measured into docs/performance.md, between the markers of its generated section.

    scripts/perf-docs.py FIGURES DOC

FIGURES is the run's `key=value` file (scripts/perf writes it under its work directory); DOC the page whose
section between BEGIN and END is replaced, nothing else. The section says when, on which commit and machine, under
which load and with which settings the figures were taken, so a reader can tell a quiet run from a loaded one.
Exits non-zero, leaving DOC unchanged, if a figure is missing or the markers are not there exactly once.
"""
import datetime
import os
import subprocess
import sys

BEGIN = "<!-- scripts/perf: begin generated section (scripts/perf rewrites everything up to the end marker) -->"
END = "<!-- scripts/perf: end generated section -->"
COUNTS = ("wrk_requests", "queued", "wrk_requests_per_s", "logger_records", "logger_objects_per_s", "drift_window_rows")


def read_figures(path):
    figures = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                key, _, value = line.rstrip("\n").partition("=")
                figures[key] = value
    return figures


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    mem_kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
    return f"{os.cpu_count()} CPUs ({model}), {mem_kib / 2**20:.0f} GiB"


def commit():
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
    return f"`{head or 'unknown'}`" + (" with uncommitted changes" if dirty.strip() else "")


def section(f, when, on_commit, on_machine):
    rows = [
        ("predict cold start: process start → first answer (`GET /health`) under `cargo lambda watch "
         f"--only-lambda-apis`, release build, real model, {f['runs']} starts", "< 50 ms",
         f"**{f['coldstart_answered_median_ms']} ms** median (p90 {f['coldstart_answered_p90_ms']}; 'model loaded' "
         f"at {f['coldstart_loaded_median_ms']} ms); the emulator's own share, a warm `/health` round trip: "
         f"{f['warm_median_ms']} ms (p90 {f['warm_p90_ms']}); load {f['load_coldstart']}", "`scripts/perf` (part 1)"),
        ("peak RSS (VmHWM)", "predict < 64 MB",
         f"predict **{f['coldstart_hwm_mib']} MiB** at first answer, **{f['predict_hwm_after_load_mib']} MiB** after "
         f"the load run; prediction-logger {f['logger_hwm_mib']} MiB ({f['logger_records']} records in batches of "
         f"100); drift-check {f['drift_hwm_mib']} MiB ({f['drift_window_rows']} window rows, with attribution drift "
         "and the quality check)", "`scripts/perf`"),
        (f"load: `wrk`, {f['connections']} connections, {f['duration_s']} s, `POST /predict` with 2,000 real "
         "transactions (normal traffic at live fraud prevalence) through the emulator → one release predict → SQS "
         "(moto)", "0 errors",
         f"**0 errors**, every answered prediction found in the queue ({f['wrk_requests']} answered, {f['queued']} "
         f"messages); {f['wrk_requests_per_s']} requests/s, p50 {f['wrk_p50']}, p90 {f['wrk_p90']}, p99 "
         f"{f['wrk_p99']} (load {f['load_wrk']}). Inside predict (its EMF metrics): parse + validate + score p50 "
         f"{f['inside_score_us_p50']} µs / p99 {f['inside_score_us_p99']} µs; the SQS send p50 "
         f"{f['inside_sqs_ms_p50']} ms / p99 {f['inside_sqs_ms_p99']} ms. One sandbox serves one request at a time, "
         "so the connections queue behind moto's SendMessageBatch (a Python server on the same machine): the "
         "figure measures the local SQS, not predict", "`scripts/perf` (part 2)"),
        (f"logger end to end through the emulator ({f['logger_records']} real queued records, batches of 100)", "—",
         f"{f['logger_objects_per_s']} objects/s (load {f['load_logger']})", "`scripts/perf` (part 3)"),
        ("drift-check on that window, invocation round trip", "—",
         f"{f['drift_window_rows']} window rows read from S3 and compared in {f['drift_seconds']} s",
         "`scripts/perf` (part 3)"),
    ]
    table = ["| what | target | measured | reproduce |", "|---|---|---|---|"]
    table += [f"| {' | '.join(cells)} |" for cells in rows]
    return "\n".join([
        BEGIN,
        f"Written by `scripts/perf` on {when} at commit {on_commit}, on {on_machine}; load averages (1 min) as each "
        f"part started are in the rows. Settings: --runs {f['runs']} --duration {f['duration_s']} "
        f"--connections {f['connections']}.",
        "",
        *table,
        END,
    ])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    figures_path, doc_path = sys.argv[1:]
    figures = read_figures(figures_path)
    for count in COUNTS:  # 1,004 as the rest of the page writes counts
        if count in figures:
            figures[count] = f"{int(figures[count]):,}"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    on_commit = commit()
    try:
        new = section(figures, when, on_commit, machine())
    except KeyError as missing:
        sys.exit(f"perf-docs: {figures_path} has no figure {missing}: the run did not finish every part")
    doc = open(doc_path, encoding="utf-8").read()
    if doc.count(BEGIN) != 1 or doc.count(END) != 1 or doc.index(BEGIN) > doc.index(END):
        sys.exit(f"perf-docs: {doc_path} must hold the generated section's markers exactly once, in order")
    start, end = doc.index(BEGIN), doc.index(END) + len(END)
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc[:start] + new + doc[end:])
    print(f"wrote the scripts/perf section of {doc_path} ({when}, commit {on_commit})")


if __name__ == "__main__":
    main()

//! `fraudctl drift`: compares two files the way drift-check compares a window with the model's reference
//! (`fraudwatch_monitor::drift`, Evidently-equal statistics), e.g. before shipping a new reference, or to replay an
//! exported window offline.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use fraudwatch_monitor::drift::{compare, Dataset, DatasetDrift};
use serde::Serialize;

#[derive(clap::Args)]
pub struct DriftArgs {
    /// The reference: CSV (plain or gzip) with columns V1..V28, Amount and, for prediction drift,
    /// fraud_probability; e.g. model/reference.csv.gz.
    #[arg(long)]
    reference: PathBuf,
    /// The traffic: a CSV like the reference, or prediction-log records as JSON lines (.jsonl, .ndjson)
    /// or JSON (.json: an array of records, or one record).
    #[arg(long)]
    current: PathBuf,
    /// Print the full comparison (tests, PSI, summaries, histograms) as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Comparison {
    reference_rows: usize,
    current_rows: usize,
    /// Share of rows flagged as fraud, when the current side is prediction logs.
    current_fraud_rate: Option<f64>,
    #[serde(flatten)]
    drift: DatasetDrift,
}

pub fn run(args: DriftArgs) -> anyhow::Result<()> {
    let read = |path: &Path, flag: &str| {
        Dataset::read_file(path).with_context(|| format!("reading {flag} {}", path.display()))
    };
    let reference = read(&args.reference, "--reference")?;
    let current = read(&args.current, "--current")?;
    let drift = compare(&reference, &current).context("comparing --current with --reference")?;
    let comparison = Comparison {
        reference_rows: reference.rows(),
        current_rows: current.rows(),
        current_fraud_rate: current.fraud_rate(),
        drift,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!(
            "{}",
            table(comparison.reference_rows, comparison.current_rows, comparison.current_fraud_rate, &comparison.drift)
        );
    }
    Ok(())
}

/// The comparison of `current_rows` with `reference_rows` as a table; also how `fraudctl report` shows a drift-check
/// run's comparison.
pub(crate) fn table(
    reference_rows: usize,
    current_rows: usize,
    current_fraud_rate: Option<f64>,
    d: &DatasetDrift,
) -> String {
    let mut out = format!(
        "reference {reference_rows} rows, current {current_rows} rows\n{:<18} {:<12} {:>12} {:>10} {:<8} {:>10}\n",
        "column", "method", "score", "threshold", "drifted", "psi"
    );
    for f in d.features.iter().chain(&d.prediction) {
        let _ = writeln!(
            out,
            "{:<18} {:<12} {:>12.6} {:>10} {:<8} {:>10.4}",
            f.column,
            f.method.as_str(),
            f.score,
            f.threshold,
            if f.drifted { "yes" } else { "no" },
            f.psi
        );
    }
    let _ = writeln!(
        out,
        "drifted features: {}/{} (share {:.3}); dataset drift: {} (share >= {})",
        d.number_of_drifted_columns,
        d.number_of_columns,
        d.share_of_drifted_columns,
        if d.dataset_drift { "yes" } else { "no" },
        d.drift_share
    );
    let _ = match &d.prediction {
        Some(p) => writeln!(
            out,
            "prediction drift: {} ({} score {:.6}, threshold {})",
            if p.drifted { "yes" } else { "no" },
            p.method.as_str(),
            p.score,
            p.threshold
        ),
        None => writeln!(out, "prediction drift: not measured (both sides need fraud_probability)"),
    };
    if let Some(rate) = current_fraud_rate {
        let _ = writeln!(out, "current fraud rate (flagged): {:.4} %", rate * 100.0);
    }
    out
}

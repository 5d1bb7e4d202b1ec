//! `fraudctl quality`: the quality check of drift-check, offline, from a file of prediction-log records and a file of
//! labels (`fraudwatch_monitor::quality`): the same window rule, join (`quality::join`), metrics and CBPE, on every
//! record given.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fraudwatch_core::card::ModelCard;
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_monitor::quality::label_files::parse_label_file;
use fraudwatch_monitor::quality::{
    join, judge, quality_window, LabelConvention, LabelsRead, PredictionsRead, QualityBaseline, QualityReport,
    QualitySettings,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(clap::Args)]
pub struct QualityArgs {
    /// Prediction-log records: JSON lines (.jsonl, .ndjson) or a JSON array (.json), optionally gzip.
    #[arg(long)]
    predictions: PathBuf,
    /// Labels: JSON lines or CSV (`prediction_id` or `transaction_id`, `label`, `labelled_at`, `source`).
    #[arg(long)]
    labels: PathBuf,
    /// The model card (threshold, calibrator, the metrics realized ones are compared with).
    #[arg(long, default_value = "model/card.json")]
    card: PathBuf,
    /// The quality window ends here (RFC 3339); default now.
    #[arg(long, value_parser = |s: &str| OffsetDateTime::parse(s, &Rfc3339))]
    as_of: Option<OffsetDateTime>,
    /// Days of prediction cohorts judged.
    #[arg(long, default_value_t = 90)]
    lookback_days: u32,
    /// Positive-only labels: predictions this many days old without a fraud label count as legitimate.
    #[arg(long)]
    maturity_days: Option<u32>,
    /// Print the full report section as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: QualityArgs) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let card_bytes =
        std::fs::read(&args.card).with_context(|| format!("cannot read --card {}", args.card.display()))?;
    let card = ModelCard::from_json(&card_bytes).with_context(|| format!("--card {}", args.card.display()))?;
    let records =
        read_records(&args.predictions).with_context(|| format!("--predictions {}", args.predictions.display()))?;
    let mut labels = LabelsRead::default();
    let label_bytes =
        std::fs::read(&args.labels).with_context(|| format!("cannot read --labels {}", args.labels.display()))?;
    let name = args.labels.to_string_lossy();
    let parsed = parse_label_file(&name, &label_bytes, now).with_context(|| format!("--labels {name}"))?;
    labels.summary.absorb(&mut labels.labels, parsed, &name);
    let settings = QualitySettings {
        lookback_days: args.lookback_days,
        convention: args
            .maturity_days
            .map_or(LabelConvention::Explicit, |maturity_days| LabelConvention::PositiveOnly { maturity_days }),
        max_rows: records.len(),
        label_stale_days: 3,
    };
    let baseline = QualityBaseline::from_card(&card);
    let window = quality_window(args.as_of.unwrap_or(now), settings.lookback_days, settings.convention)
        .context("--lookback-days 0 judges nothing")?;
    // drift-check's join, over every record given (nothing sampled, every weight 1).
    let cohorts = join(&labels.labels, &window, &baseline, PredictionsRead::all(records, &window));
    let report = judge(labels, cohorts, &baseline, window, &settings, None);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// Records as JSON lines, or a JSON array, each checked as the quality check checks an object from the bucket.
fn read_records(path: &Path) -> Result<Vec<PredictionLogRecord>> {
    let raw = std::fs::read(path)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).context("not valid gzip")?;
        out
    } else {
        raw
    };
    if bytes.trim_ascii_start().starts_with(b"[") {
        let items: Vec<serde_json::Value> = serde_json::from_slice(&bytes)?;
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                PredictionLogRecord::decode(&serde_json::to_vec(item)?).with_context(|| format!("item {i}"))
            })
            .collect();
    }
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(i, line)| PredictionLogRecord::decode(line).with_context(|| format!("line {}", i + 1)))
        .collect()
}

/// The report section as a table; also how `fraudctl report` shows a drift-check run's quality section.
pub(crate) fn table(q: &QualityReport) -> String {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let mut out = format!("{}\n", q.summary);
    let _ = writeln!(
        out,
        "labels: {} records, {} distinct, {} matched, {} duplicates, {} replaced, {} invalid, {} prediction ids not \
         found, {} of {} transaction-id labels matched",
        q.labels.records,
        q.labels.distinct,
        q.labels.matched,
        q.labels.duplicates,
        q.labels.replaced,
        q.labels.invalid_records,
        q.labels.unmatched_prediction_ids,
        q.labels.transaction_id_labels_matched,
        q.labels.transaction_id_labels
    );
    for e in &q.labels.errors {
        let _ = writeln!(out, "  {e}");
    }
    let _ = writeln!(
        out,
        "{:<10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>9} {:>9}",
        "day",
        "rows",
        "judged",
        "coverage",
        "precision",
        "recall",
        "f1",
        "pr_auc",
        "r@budget",
        "tp",
        "fp",
        "fn",
        "est_prec",
        "est_rec"
    );
    for c in &q.cohorts {
        let r = c.realized.as_ref();
        let _ = writeln!(
            out,
            "{:<10} {:>8.0} {:>8.0} {:>8.3} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6.0} {:>6.0} {:>6.0} {:>9} {:>9}",
            c.day.to_string(),
            c.rows,
            c.judged_rows,
            c.coverage,
            opt(r.map(|r| r.precision)),
            opt(r.map(|r| r.recall)),
            opt(r.map(|r| r.f1)),
            opt(r.map(|r| r.average_precision)),
            opt(r.and_then(|r| r.at_budget.map(|b| b.recall))),
            r.map_or(0.0, |r| r.confusion.tp),
            r.map_or(0.0, |r| r.confusion.fp),
            r.map_or(0.0, |r| r.confusion.fn_),
            opt(c.estimated.map(|e| e.precision)),
            opt(c.estimated.map(|e| e.recall)),
        );
    }
    let alerts = q.alerts();
    let _ = writeln!(
        out,
        "alerts: realized recall low {}, realized precision low {}, label coverage low {}",
        alerts.realized_recall_low, alerts.realized_precision_low, alerts.label_coverage_low
    );
    out
}

//! `fraudctl check`: drift-check's monitoring run (`fraudwatch_monitor::run`) on demand, against a bucket: the same
//! window rule, sample, statistics, label join, report (saved to `drift-reports/`) and, with `--push`, the same push.
//! For a window a scheduled run missed, or to see what a run would say now.

use std::path::PathBuf;

use anyhow::{Context, Result};
use fraudwatch_monitor::baseline::Reference;
use fraudwatch_monitor::pushgateway::Pushgateway;
use fraudwatch_monitor::quality::{LabelConvention, QualitySettings};
use fraudwatch_monitor::run::{
    Monitor, RunConfig, RunSummary, DEFAULT_INTERVAL_SECONDS, DEFAULT_LABEL_STALE_DAYS, DEFAULT_MAX_ROWS,
    DEFAULT_QUALITY_LOOKBACK_DAYS, DEFAULT_QUALITY_MAX_ROWS, MAX_QUALITY_LOOKBACK_DAYS, MAX_WINDOW_HOURS,
};
use fraudwatch_monitor::window::Window;
use time::{Date, OffsetDateTime};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The bucket holding `prediction-logs/` and `labels/`; receives `drift-reports/`.
    #[arg(long, env = "LOG_BUCKET")]
    bucket: String,
    /// One UTC day (YYYY-MM-DD) instead of the last --hours.
    #[arg(long, value_parser = parse_date, conflicts_with = "hours")]
    date: Option<Date>,
    /// The whole hours before the current one.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WINDOW_HOURS)))]
    hours: u32,
    /// At most this many distinct records are compared; a larger window is sampled uniformly.
    #[arg(long, default_value_t = DEFAULT_MAX_ROWS, value_parser = at_least_one)]
    max_rows: usize,
    /// Days of prediction cohorts the quality check judges (0: no quality check).
    #[arg(long, default_value_t = DEFAULT_QUALITY_LOOKBACK_DAYS,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_QUALITY_LOOKBACK_DAYS)))]
    quality_lookback_days: u32,
    /// Positive-only labels: predictions this many days old without a fraud label count as legitimate.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=365))]
    maturity_days: Option<u32>,
    /// Prediction logs the quality check reads besides those labelled fraud.
    #[arg(long, default_value_t = DEFAULT_QUALITY_MAX_ROWS, value_parser = at_least_one)]
    quality_max_rows: usize,
    /// The model card.
    #[arg(long, default_value = "model/card.json")]
    card: PathBuf,
    /// The model's drift reference (its card's checksum must match).
    #[arg(long, default_value = "model/reference.csv.gz")]
    reference: PathBuf,
    /// The trees the card's explanation names, for attribution drift.
    #[arg(long, default_value = "model/trees.json")]
    trees: PathBuf,
    /// Push the verdict to this Pushgateway (http:// or https://), as drift-check does; default: no push.
    #[arg(long)]
    push: Option<String>,
    /// The stage: the Pushgateway group the push replaces.
    #[arg(long, default_value = "local")]
    stage: String,
    /// Print the whole report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
}

fn parse_date(s: &str) -> Result<Date, time::error::Parse> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn run(s3: &aws_sdk_s3::Client, args: CheckArgs) -> Result<()> {
    let read = |path: &PathBuf, flag: &str| {
        std::fs::read(path).with_context(|| format!("cannot read {flag} {}", path.display()))
    };
    let (card, trees) = (read(&args.card, "--card")?, read(&args.trees, "--trees")?);
    let reference = Reference::from_artifacts(&card, &read(&args.reference, "--reference")?)
        .and_then(|r| r.with_explanation(&card, Some(&trees)))
        .context("the model's reference")?;
    let pushgateway = match &args.push {
        Some(url) => Some(Pushgateway::new(url, &args.stage, None).context("--push")?),
        None => None,
    };
    let config = RunConfig {
        bucket: args.bucket,
        max_rows: args.max_rows,
        stage: args.stage,
        interval_seconds: DEFAULT_INTERVAL_SECONDS,
        quality: QualitySettings {
            lookback_days: args.quality_lookback_days,
            convention: args
                .maturity_days
                .map_or(LabelConvention::Explicit, |maturity_days| LabelConvention::PositiveOnly { maturity_days }),
            max_rows: args.quality_max_rows,
            label_stale_days: DEFAULT_LABEL_STALE_DAYS,
        },
    };
    let now = OffsetDateTime::now_utc();
    let window = match args.date {
        Some(date) => Window::day(date).context("--date: its day ends past year 9999")?,
        None => Window::hours_before(now, args.hours),
    };
    let monitor = Monitor::new(s3.clone(), config, reference, pushgateway);
    let outcome = monitor.run(window, now, |_| {}).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome.report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&RunSummary::from(outcome))?);
    }
    Ok(())
}

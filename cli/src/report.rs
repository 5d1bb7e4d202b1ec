//! `fraudctl report`: a drift-check run's saved report (`drift-reports/dt=…/<run_id>.json` in the log bucket) as the
//! tables `fraudctl drift` and `fraudctl quality` print for the same numbers, so an operator reads a scheduled run the
//! way they read an offline one.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use aws_sdk_s3::error::DisplayErrorContext;
use fraudwatch_monitor::report::{DriftReport, DRIFT_REPORT_PREFIX};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The report's key (`drift-reports/dt=YYYY-MM-DD/<run_id>.json`, as drift-check's result names it); default:
    /// the newest report in the bucket.
    key: Option<String>,
    /// The bucket holding `drift-reports/`.
    #[arg(long, env = "LOG_BUCKET")]
    bucket: String,
}

pub async fn run(s3: &aws_sdk_s3::Client, args: ReportArgs) -> Result<()> {
    let bucket = &args.bucket;
    let key = match args.key {
        Some(key) => key,
        None => newest_report(s3, bucket).await?,
    };
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("reading s3://{bucket}/{key}: {}", DisplayErrorContext(e)))?;
    let bytes = object.body.collect().await.with_context(|| format!("reading s3://{bucket}/{key}"))?.into_bytes();
    let report: DriftReport =
        serde_json::from_slice(&bytes).with_context(|| format!("s3://{bucket}/{key} is not a drift report"))?;
    print!("{}", render(&report));
    Ok(())
}

/// The key of the newest JSON report: keys sort by day, then by run id (a UUIDv7, ordered by its time).
async fn newest_report(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<String> {
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(DRIFT_REPORT_PREFIX).into_paginator().send();
    let mut newest: Option<String> = None;
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| anyhow::anyhow!("listing s3://{bucket}/{DRIFT_REPORT_PREFIX}: {}", DisplayErrorContext(e)))?;
        for key in page.contents().iter().filter_map(|o| o.key()).filter(|k| k.ends_with(".json")) {
            if newest.as_deref().is_none_or(|n| key > n) {
                newest = Some(key.to_string());
            }
        }
    }
    newest.with_context(|| format!("no drift report under s3://{bucket}/{DRIFT_REPORT_PREFIX}"))
}

fn render(r: &DriftReport) -> String {
    let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let mut out = format!(
        "run {} · model {} · window {} .. {} · {} rows · {} corrupt objects{}\n{}\n",
        r.run_id,
        r.model_version,
        at(r.window.start),
        at(r.window.end),
        r.window_rows,
        r.corrupt_objects,
        if r.sampling.sampled { " · sampled" } else { "" },
        r.summary
    );
    if let Some(drift) = &r.drift {
        out += "\n";
        out += &crate::drift::table(r.reference_rows, r.window_rows, r.fraud_rate, drift);
    }
    if let Some(quality) = &r.quality {
        let _ = writeln!(
            out,
            "\nmodel quality (labels joined to the predictions of {} .. {}):",
            at(quality.window.start),
            at(quality.window.end)
        );
        out += &crate::quality::table(quality);
    }
    out
}

//! The quality check's S3 side: the labels under `labels/`, and the prediction logs of the quality window joined to
//! them, read in bounded memory (see [`super`]: every prediction labelled fraud by id in full, a uniform weighted
//! sample of the rest).
//!
//! Cost per run: listing every object of the window (1,000 keys per request, 8 days at a time), GETs of
//! at most `max_rows` sampled objects plus the fraud-labelled ones, 64 in flight, and the label objects that arrived
//! since the window began (`labels/dt=…/` from its first day on, and any object directly under `labels/` or in a
//! folder not named `dt=…`). Memory: the sample's keys and rows, the labels, and the ids labels name.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_s3::primitives::DateTime as S3DateTime;
use futures::{StreamExt, TryStreamExt};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use fraudwatch_core::label::{label_partition_day, LabelSet, LABEL_PREFIX};
use fraudwatch_core::log_record::{partition_prefix, PredictionLogRecord, PREDICTION_LOG_PREFIX};

use super::label_files::parse_label_file;
use super::{
    assess, prediction_ids_in, quality_window, Assessment, LabelSummary, QualityBaseline, QualityReport, QualityRow,
    QualitySampling, QualitySettings,
};
use crate::drift::s3::{get_object, s3_error, BottomK, S3Error, GET_CONCURRENCY, LIST_CONCURRENCY};
use crate::drift::Window;

/// Unmatched label ids quoted in a report.
const UNMATCHED_SHOWN: usize = 10;

/// The quality check of a run whose window ends at `run_end`: the labels, the quality window's predictions joined to
/// them, and CBPE on the drift window's scores (`drift_window_scores`). `None` when the check is off
/// (`lookback_days` 0). `now` bounds label times (no labels from the future).
pub async fn check_quality(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    run_end: OffsetDateTime,
    settings: &QualitySettings,
    baseline: &QualityBaseline,
    drift_window_scores: Option<&[f64]>,
    now: OffsetDateTime,
) -> Result<Option<QualityReport>, S3Error> {
    let Some(window) = quality_window(run_end, settings.lookback_days, settings.convention) else {
        return Ok(None);
    };
    let labels = read_labels(s3, bucket, window.start.date(), now).await?;
    // Seeded by the window, so a retry of the same run reads the same sample.
    let seed = window.start.unix_timestamp() as u64;
    let cohorts = read_cohorts(s3, bucket, &window, &labels.labels, baseline, settings.max_rows, seed).await?;
    let summary = LabelSummary {
        matched: cohorts.matched,
        unmatched_prediction_ids: cohorts.unmatched,
        unmatched_examples: cohorts.unmatched_examples,
        ..labels.summary
    };
    Ok(Some(assess(
        &cohorts.rows,
        Assessment {
            baseline,
            window,
            convention: settings.convention,
            labels: summary,
            sampling: cohorts.sampling,
            drift_window_scores,
            label_stale_after_days: settings.label_stale_days,
        },
    )))
}

/// The labels read, deduplicated, and what reading them found.
#[derive(Debug, Default)]
pub struct LabelsRead {
    pub labels: LabelSet,
    pub summary: LabelSummary,
}

/// Reads every label object that can label a prediction made since `since` (objects under `labels/dt=D/` with D ≥
/// `since`, and every object elsewhere under `labels/`). Bad records are counted and the first ones quoted; an
/// object that cannot be read at all is counted as unreadable; an S3 failure is an error.
pub async fn read_labels(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    since: Date,
    now: OffsetDateTime,
) -> Result<LabelsRead, S3Error> {
    let (top, prefixes) = list(s3, bucket, LABEL_PREFIX, Some("/")).await?;
    let wanted: Vec<String> =
        prefixes.into_iter().filter(|p| label_partition_day(p).is_none_or(|day| day >= since)).collect();
    let mut objects: Vec<(String, Option<S3DateTime>)> = top;
    let listed: Vec<Vec<(String, Option<S3DateTime>)>> = futures::stream::iter(wanted)
        .map(|prefix| async move { list(s3, bucket, &prefix, None).await.map(|(objects, _)| objects) })
        .buffer_unordered(LIST_CONCURRENCY)
        .try_collect()
        .await?;
    objects.extend(listed.into_iter().flatten());
    objects.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let mut read = LabelsRead::default();
    read.summary.last_arrival = objects
        .iter()
        .filter_map(|(_, modified)| modified.and_then(|m| OffsetDateTime::from_unix_timestamp(m.secs()).ok()))
        .max();
    let keys = objects.into_iter().map(|(key, _)| key);
    let mut bodies = futures::stream::iter(keys).map(|key| get_object(s3, bucket, key)).buffered(GET_CONCURRENCY);
    while let Some(body) = bodies.next().await {
        let (key, bytes) = body?;
        match parse_label_file(&key, &bytes, now) {
            Ok(parsed) => read.summary.absorb(&mut read.labels, parsed, &key),
            Err(e) => read.summary.unreadable(&key, &e),
        }
    }
    if read.summary.invalid_records + read.summary.unreadable_objects > 0 {
        tracing::warn!(
            invalid_records = read.summary.invalid_records,
            unreadable_objects = read.summary.unreadable_objects,
            first = read.summary.errors.first().map(String::as_str),
            "bad label records were skipped"
        );
    }
    Ok(read)
}

/// Every object under `prefix` (key and last-modified time), and with a `delimiter` the common prefixes.
async fn list(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<(Vec<(String, Option<S3DateTime>)>, Vec<String>), S3Error> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(String::from))
        .into_paginator()
        .send();
    let (mut objects, mut prefixes) = (Vec::new(), Vec::new());
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_error("ListObjectsV2", bucket, prefix, e))?;
        objects.extend(page.contents().iter().filter_map(|o| Some((o.key()?.to_string(), o.last_modified().copied()))));
        prefixes.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(String::from)));
    }
    Ok((objects, prefixes))
}

/// The model's predictions in a window, joined to their labels.
#[derive(Debug)]
pub struct CohortsRead {
    pub rows: Vec<QualityRow>,
    pub sampling: QualitySampling,
    /// Labels by prediction id whose id's time is in the window but which name no listed prediction.
    pub unmatched: usize,
    pub unmatched_examples: Vec<String>,
    /// Labels attached to a row read.
    pub matched: usize,
}

/// One hourly prefix's listing: keys to read in full, a bottom-k sample of the others, per-day counts of the
/// others, and the labelled ids found.
struct Listing {
    in_full: Vec<String>,
    sample: BottomK,
    others_per_day: BTreeMap<Date, usize>,
    found: HashSet<Uuid>,
}

/// Reads the predictions of `window`: every one labelled fraud by its prediction id, and of the others all of them
/// or, when there are more than `max_rows`, a uniform sample of `max_rows` (seeded by `seed`), weighted per day.
/// Rows of another model version than `baseline`'s are counted and left out; undecodable objects are counted.
pub async fn read_cohorts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    window: &Window,
    labels: &LabelSet,
    baseline: &QualityBaseline,
    max_rows: usize,
    seed: u64,
) -> Result<CohortsRead, S3Error> {
    let labelled = &prediction_ids_in(labels, window);
    // One listing per UTC day (hourly prefixes would be 24 times the requests, most of them for empty hours);
    // keys of the last day's hours past the window's end are left out (keys sort by their partition).
    let (first, end) = (&partition_prefix(window.start), &partition_prefix(window.end));
    let listings: Vec<Listing> = futures::stream::iter(day_prefixes(window))
        .map(|prefix| async move {
            let (objects, _) = list(s3, bucket, &prefix, None).await?;
            let objects =
                objects.into_iter().filter(|(key, _)| first.as_str() <= key.as_str() && key.as_str() < end.as_str());
            let mut listing = Listing {
                in_full: Vec::new(),
                sample: BottomK::new(max_rows, seed),
                others_per_day: BTreeMap::new(),
                found: HashSet::new(),
            };
            let day = prefix_day(&prefix);
            for (key, _) in objects {
                let id = key
                    .rsplit('/')
                    .next()
                    .and_then(|name| name.strip_suffix(".json"))
                    .and_then(|s| Uuid::parse_str(s).ok());
                let label = id.and_then(|id| labelled.get(&id).map(|fraud| (id, *fraud)));
                if let Some((id, fraud)) = label {
                    listing.found.insert(id);
                    if fraud {
                        listing.in_full.push(key);
                        continue;
                    }
                }
                listing.sample.offer(&key);
                if let Some(day) = day {
                    *listing.others_per_day.entry(day).or_default() += 1;
                }
            }
            Ok::<_, S3Error>(listing)
        })
        .buffer_unordered(LIST_CONCURRENCY)
        .try_collect()
        .await?;

    let mut in_full = Vec::new();
    let mut sample = BottomK::new(max_rows, seed);
    let mut others_per_day: BTreeMap<Date, usize> = BTreeMap::new();
    let mut found = HashSet::new();
    for listing in listings {
        in_full.extend(listing.in_full);
        sample = sample.merge(listing.sample);
        for (day, n) in listing.others_per_day {
            *others_per_day.entry(day).or_default() += n;
        }
        found.extend(listing.found);
    }
    let others = sample.offered();
    let sampled_keys = sample.into_sorted_keys();
    let mut kept_per_day: BTreeMap<Date, usize> = BTreeMap::new();
    for key in &sampled_keys {
        if let Some(day) = prefix_day(key) {
            *kept_per_day.entry(day).or_default() += 1;
        }
    }
    let weight_of = |key: &str, full: bool| -> f64 {
        if full {
            return 1.0;
        }
        prefix_day(key)
            .and_then(|day| Some(*others_per_day.get(&day)? as f64 / *kept_per_day.get(&day)? as f64))
            .unwrap_or(1.0)
    };

    let mut unmatched: Vec<Uuid> = labelled.keys().filter(|id| !found.contains(id)).copied().collect();
    unmatched.sort_unstable();
    let mut read = CohortsRead {
        rows: Vec::new(),
        sampling: QualitySampling {
            listed_objects: in_full.len() + others,
            read_in_full: in_full.len(),
            read_objects: 0,
            max_rows,
            sampled: others > max_rows,
            seed,
            corrupt_objects: 0,
            other_model_rows: 0.0,
        },
        unmatched: unmatched.len(),
        unmatched_examples: unmatched.iter().take(UNMATCHED_SHOWN).map(Uuid::to_string).collect(),
        matched: 0,
    };
    in_full.sort_unstable();
    let keys = in_full.into_iter().map(|k| (k, true)).chain(sampled_keys.into_iter().map(|k| (k, false)));
    let mut objects = futures::stream::iter(keys)
        .map(|(key, full)| async move { get_object(s3, bucket, key).await.map(|(key, bytes)| (key, bytes, full)) })
        .buffered(GET_CONCURRENCY);
    while let Some(object) = objects.next().await {
        let (key, bytes, full) = object?;
        read.sampling.read_objects += 1;
        let weight = weight_of(&key, full);
        match PredictionLogRecord::decode(&bytes) {
            Ok(record) if record.model_version != baseline.model_version => read.sampling.other_model_rows += weight,
            Ok(record) => {
                let row = QualityRow::of(&record, labels, weight);
                read.matched += usize::from(row.label.is_some());
                read.rows.push(row);
            }
            Err(e) => {
                read.sampling.corrupt_objects += 1;
                tracing::warn!(bucket, key, error = %e, "quality check: skipping an undecodable prediction log");
            }
        }
    }
    Ok(read)
}

/// `prediction-logs/dt=YYYY-MM-DD/` for every UTC day the window touches.
fn day_prefixes(window: &Window) -> Vec<String> {
    let last = (window.end - time::Duration::NANOSECOND).date();
    std::iter::successors(Some(window.start.date()), |d| d.next_day().filter(|d| *d <= last))
        .map(|d| format!("{PREDICTION_LOG_PREFIX}dt={:04}-{:02}-{:02}/", d.year(), u8::from(d.month()), d.day()))
        .collect()
}

/// The day of a `prediction-logs/dt=YYYY-MM-DD/…` key or prefix.
fn prefix_day(key: &str) -> Option<Date> {
    let rest = key.strip_prefix(PREDICTION_LOG_PREFIX)?.strip_prefix("dt=")?;
    Date::parse(rest.get(..10)?, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

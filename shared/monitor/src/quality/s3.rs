//! The quality check's S3 side: the labels under `labels/`, and the prediction logs of the quality window joined to
//! them, read in bounded memory through [`crate::log_reader`] (both layouts, each prediction once; see [`super`]:
//! every prediction labelled fraud by id in full, a uniform weighted sample of the rest).
//!
//! Cost per run: listing every object of the window (1,000 keys per request, whole days as one prefix, 8 at a
//! time), GETs of the sample (about `max_rows` single objects, or ~`max_rows / 100` batched files) plus the
//! fraud-labelled predictions (one GET of each one's single key, then the batched files whose id range holds it),
//! 64 in flight, and the label objects that arrived
//! since the window began (`labels/dt=…/` from its first day on, and any object directly under `labels/` or in a
//! folder not named `dt=…`). Memory: the sample's keys and rows, the labels, and the ids labels name.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use aws_sdk_s3::primitives::DateTime as S3DateTime;
use futures::{StreamExt, TryStreamExt};
use time::{Date, OffsetDateTime};

use fraudwatch_core::label::{label_partition_day, LabelSet, LABEL_PREFIX};
use fraudwatch_core::log_files::LogObjectName;
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::prediction_id::PredictionId;

use super::label_files::parse_label_file;
use super::{
    join, judge, prediction_ids_in, quality_window, CohortsRead, LabelsRead, PredictionsRead, QualityBaseline,
    QualityReport, QualitySampling, QualitySettings,
};
use crate::log_reader::{find_records, sample_window_observing, LogObject};
use crate::store::{get_if_exists, s3_error, S3Error, GET_CONCURRENCY, GONE_WHEN_READ, LIST_CONCURRENCY};
use crate::window::{partition_day, Window};

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
    let seed = window.seed();
    let cohorts = read_cohorts(s3, bucket, &window, &labels.labels, baseline, settings.max_rows, seed).await?;
    Ok(Some(judge(labels, cohorts, baseline, window, settings, drift_window_scores)))
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
    let mut bodies = futures::stream::iter(keys)
        .map(|key| async move { get_if_exists(s3, bucket, &key).await.map(|body| (key, body)) })
        .buffered(GET_CONCURRENCY);
    while let Some(body) = bodies.next().await {
        match body? {
            (key, Some(bytes)) => match parse_label_file(&key, &bytes, now) {
                Ok(parsed) => read.summary.absorb(&mut read.labels, parsed, &key),
                Err(e) => read.summary.unreadable(&key, &e),
            },
            (key, None) => read.summary.unreadable(&key, &GONE_WHEN_READ),
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

/// What the quality window's listing shows beyond the sample: the records its objects' names count per UTC day, and
/// which labelled ids it names — a single object's id exactly; an id inside a batched file's id range only maybe
/// (a file is read in full only when it is sampled, so such an id counts as found).
#[derive(Default)]
struct Listed {
    records_per_day: BTreeMap<Date, usize>,
    found: HashSet<PredictionId>,
}

impl Listed {
    fn observe(&mut self, object: &LogObject, labelled: &BTreeMap<PredictionId, bool>) {
        let Some(day) = partition_day(&object.key) else { return };
        *self.records_per_day.entry(day).or_default() += object.name.records();
        match object.name {
            LogObjectName::Single(id) if labelled.contains_key(&id) => {
                self.found.insert(id);
            }
            LogObjectName::Batch(name) => self.found.extend(labelled.range(name.first..=name.last).map(|(id, _)| *id)),
            _ => {}
        }
    }
}

/// Reads the predictions of `window` through [`crate::log_reader`] (both layouts, each prediction once): every one
/// labelled fraud by its prediction id, by id ([`find_records`]), and of the others all of them or, when there are
/// more than `max_rows` records, a uniform sample ([`sample_window_observing`], seeded by `seed`), weighted per day
/// by the records the listing counted that day over the sampled ones. Rows of another model version than
/// `baseline`'s are counted and left out; undecodable objects and lines are counted.
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
    let frauds: Vec<PredictionId> = labelled.iter().filter(|(_, fraud)| **fraud).map(|(id, _)| *id).collect();
    let mut in_full: Vec<PredictionLogRecord> = find_records(s3, bucket, &frauds)
        .await?
        .into_values()
        .map(|found| found.record)
        .filter(|r| window.start <= r.timestamp && r.timestamp < window.end)
        .collect();
    in_full.sort_unstable_by_key(|r| r.prediction_id);
    let listed = Mutex::new(Listed::default());
    let observe = |object: &LogObject| listed.lock().expect("no panic while held").observe(object, labelled);
    let sample = sample_window_observing(s3, bucket, (window.start, window.end), max_rows, seed, &observe).await?;
    let Listed { records_per_day, found } = listed.into_inner().expect("no panic while held");

    let full_ids: HashSet<PredictionId> = in_full.iter().map(|r| r.prediction_id).collect();
    let others: Vec<PredictionLogRecord> =
        sample.records.into_iter().filter(|r| !full_ids.contains(&r.prediction_id)).collect();
    let sampled = sample.inclusion_probability < 1.0;
    let read = PredictionsRead {
        sampling: QualitySampling {
            listed_objects: sample.listed_objects,
            read_in_full: in_full.len(),
            read_objects: sample.read_objects + in_full.len(),
            max_rows,
            sampled,
            seed,
            corrupt_objects: sample.corrupt,
            other_model_rows: 0.0,
        },
        in_full,
        others,
        listed_per_day: sampled.then_some(records_per_day),
        found,
    };
    Ok(join(labels, window, baseline, read))
}

//! The drift check's S3 side: reading a window of prediction logs (bounded, uniformly sampled) and saving
//! its reports.
//!
//! Cost stays bounded however large the traffic: the keys are listed (1,000 per request, prefixes in
//! parallel) into a bottom-k sample of at most `max_rows` keys, so memory is O(max_rows), and only those
//! objects are fetched, 64 at a time. Listing itself stays proportional to the window's objects; S3
//! offers no cheaper way to enumerate them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use fraudwatch_core::log_record::PredictionLogRecord;

use super::dataset::RecordColumns;
use super::{html, Dataset, DriftReport, Window};

/// GetObject requests in flight.
pub const GET_CONCURRENCY: usize = 64;
/// Partition prefixes listed at once.
pub(crate) const LIST_CONCURRENCY: usize = 8;
/// Undecodable objects are logged by key up to this many per run, then only counted.
const CORRUPT_KEYS_LOGGED: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} s3://{bucket}/{key}: {reason}")]
pub struct S3Error {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub reason: String,
}

pub(crate) fn s3_error(operation: &'static str, bucket: &str, key: &str, e: impl std::error::Error) -> S3Error {
    S3Error { operation, bucket: bucket.into(), key: key.into(), reason: DisplayErrorContext(e).to_string() }
}

/// The rows read from a window.
#[derive(Debug)]
pub struct WindowLogs {
    pub data: Dataset,
    pub listed_objects: usize,
    pub corrupt_objects: usize,
    /// More objects than `max_rows` were listed, and a uniform sample of `max_rows` was read.
    pub sampled: bool,
    pub model_versions: BTreeMap<String, usize>,
}

/// Reads the prediction logs of `window`: all of them, or a uniform sample of `max_rows` (seeded by `seed`)
/// when there are more. Objects that do not decode as records are skipped and counted; an S3 failure is
/// an error.
pub async fn read_window(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    window: &Window,
    max_rows: usize,
    seed: u64,
) -> Result<WindowLogs, S3Error> {
    let sample = futures::stream::iter(window.partition_prefixes())
        .map(|prefix| list_sample(s3, bucket, prefix, max_rows, seed))
        .buffer_unordered(LIST_CONCURRENCY)
        .try_fold(BottomK::new(max_rows, seed), |all, one| async move { Ok(all.merge(one)) })
        .await?;
    let (listed_objects, sampled) = (sample.offered, sample.offered > max_rows);
    let keys = sample.into_sorted_keys();

    let mut columns = RecordColumns::default();
    let mut corrupt_objects = 0;
    let mut model_versions = BTreeMap::new();
    // `buffered` keeps key order, so the same window gives the same rows in the same order.
    let mut objects = futures::stream::iter(keys).map(|key| get_object(s3, bucket, key)).buffered(GET_CONCURRENCY);
    while let Some(object) = objects.next().await {
        let (key, bytes) = object?;
        match PredictionLogRecord::decode(&bytes) {
            Ok(record) => {
                *model_versions.entry(record.model_version.clone()).or_default() += 1;
                columns.push(&record);
            }
            Err(e) => {
                corrupt_objects += 1;
                if corrupt_objects <= CORRUPT_KEYS_LOGGED {
                    tracing::warn!(bucket, key, error = %e, "skipping an undecodable prediction log");
                }
            }
        }
    }
    if corrupt_objects > 0 {
        tracing::warn!(corrupt_objects, "undecodable prediction logs were skipped");
    }
    Ok(WindowLogs { data: columns.finish(), listed_objects, corrupt_objects, sampled, model_versions })
}

async fn list_sample(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: String,
    k: usize,
    seed: u64,
) -> Result<BottomK, S3Error> {
    let mut sample = BottomK::new(k, seed);
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(&prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_error("ListObjectsV2", bucket, &prefix, e))?;
        for key in page.contents().iter().filter_map(|o| o.key()) {
            sample.offer(key);
        }
    }
    Ok(sample)
}

pub(crate) async fn get_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: String,
) -> Result<(String, Vec<u8>), S3Error> {
    let output =
        s3.get_object().bucket(bucket).key(&key).send().await.map_err(|e| s3_error("GetObject", bucket, &key, e))?;
    let body = output.body.collect().await.map_err(|e| s3_error("GetObject", bucket, &key, e))?;
    Ok((key, body.into_bytes().to_vec()))
}

/// A uniform sample without replacement of at most `k` keys out of any number, in O(k) memory
/// ("bottom-k"): each key's priority is a seeded hash of it, and the k smallest priorities are kept. The
/// sample depends only on the set of keys and the seed, not on the order they are listed in, so prefixes
/// can be listed concurrently and merged.
pub(crate) struct BottomK {
    k: usize,
    seed: [u8; 8],
    /// Max-heap on priority: the root is the first to leave.
    kept: BinaryHeap<(u64, Reverse<String>)>,
    offered: usize,
}

impl BottomK {
    pub(crate) fn new(k: usize, seed: u64) -> Self {
        BottomK { k, seed: seed.to_le_bytes(), kept: BinaryHeap::new(), offered: 0 }
    }

    fn priority(&self, key: &str) -> u64 {
        let digest = Sha256::new().chain_update(self.seed).chain_update(key.as_bytes()).finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("sha256 has 32 bytes"))
    }

    pub(crate) fn offer(&mut self, key: &str) {
        self.offered += 1;
        let priority = self.priority(key);
        self.keep(priority, key.to_string());
    }

    fn keep(&mut self, priority: u64, key: String) {
        if self.kept.len() < self.k {
            self.kept.push((priority, Reverse(key)));
        } else if self.kept.peek().is_some_and(|(top, _)| priority < *top) {
            self.kept.pop();
            self.kept.push((priority, Reverse(key)));
        }
    }

    pub(crate) fn merge(mut self, other: BottomK) -> BottomK {
        self.offered += other.offered;
        for (priority, Reverse(key)) in other.kept {
            self.keep(priority, key);
        }
        self
    }

    /// How many keys were offered.
    pub(crate) fn offered(&self) -> usize {
        self.offered
    }

    pub(crate) fn into_sorted_keys(self) -> Vec<String> {
        let mut keys: Vec<String> = self.kept.into_iter().map(|(_, Reverse(key))| key).collect();
        keys.sort_unstable();
        keys
    }
}

/// Where a run's reports were saved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SavedReport {
    pub json_key: String,
    pub html_key: String,
}

/// Saves the report as JSON and as self-contained HTML under `drift-reports/dt=…/<run_id>.{json,html}`.
pub async fn save_report(s3: &aws_sdk_s3::Client, bucket: &str, report: &DriftReport) -> Result<SavedReport, S3Error> {
    let stem = report.key_stem();
    let saved = SavedReport { json_key: format!("{stem}.json"), html_key: format!("{stem}.html") };
    let json = serde_json::to_vec_pretty(report).expect("a report always serialises");
    put_object(s3, bucket, &saved.json_key, json, "application/json").await?;
    put_object(s3, bucket, &saved.html_key, html::render(report).into_bytes(), "text/html; charset=utf-8").await?;
    Ok(saved)
}

async fn put_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), S3Error> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| s3_error("PutObject", bucket, key, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("prediction-logs/dt=2026-11-20/hour={:02}/{i:06}.json", i % 24)).collect()
    }

    fn sample(keys: &[String], k: usize, seed: u64) -> BottomK {
        let mut s = BottomK::new(k, seed);
        keys.iter().for_each(|key| s.offer(key));
        s
    }

    #[test]
    fn bottom_k_keeps_everything_up_to_k_and_exactly_k_beyond() {
        let all = keys(500);
        let s = sample(&all, 1000, 7);
        assert_eq!((s.offered, s.into_sorted_keys().len()), (500, 500));
        let s = sample(&all, 100, 7);
        assert_eq!((s.offered, s.into_sorted_keys().len()), (500, 100));
    }

    #[test]
    fn bottom_k_ignores_listing_order_and_partitioning_but_not_the_seed() {
        let all = keys(2000);
        let whole = sample(&all, 150, 42).into_sorted_keys();
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(sample(&reversed, 150, 42).into_sorted_keys(), whole);
        let (a, b) = all.split_at(700);
        assert_eq!(sample(a, 150, 42).merge(sample(b, 150, 42)).into_sorted_keys(), whole);
        assert_ne!(sample(&all, 150, 43).into_sorted_keys(), whole);
    }

    #[test]
    fn bottom_k_is_uniform() {
        // 24 hourly partitions of 1,000 keys, sampled 2,400 at a time under 50 seeds: every hour should get
        // ~100 per sample; a biased sampler would starve some hours.
        let all = keys(24_000);
        let mut per_hour = [0usize; 24];
        for seed in 0..50 {
            for key in sample(&all, 2400, seed).into_sorted_keys() {
                let hour: usize = key["prediction-logs/dt=2026-11-20/hour=".len()..][..2].parse().unwrap();
                per_hour[hour] += 1;
            }
        }
        // Expected 5,000 per hour; the binomial sd is ~69, so ±400 is a ~6 sd band.
        assert!(per_hour.iter().all(|&c| (4600..=5400).contains(&c)), "{per_hour:?}");
    }
}

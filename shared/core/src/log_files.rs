//! The prediction-log objects in S3, in both layouts, named so a reader knows what an object holds from its key
//! alone (no GET):
//!
//! - **per prediction** (`PredictionLogDelivery=per-prediction`, and predict's direct S3 fallback in either mode):
//!   `prediction-logs/dt=YYYY-MM-DD/hour=HH/<prediction_id>.json`, one record ([`PredictionLogRecord::s3_key`]);
//! - **batched** (`PredictionLogDelivery=batched`): one gzip'd JSON-lines file per logger batch and UTC hour,
//!   `prediction-logs/dt=YYYY-MM-DD/hour=HH/<first id>_<last id>_<records>_<digest>.jsonl.gz`: the smallest and
//!   largest prediction id in the file (lines are sorted by id), how many records it holds, and 16 hex digits of
//!   SHA-256 over its sorted ids.
//!
//! Both layouts share the partitions, so a window may hold both (across a switch, or the fallback's single objects
//! in batched mode) and one Glue table reads both: Athena's text reader gunzips by the `.gz` extension. Why the
//! batched name carries each part:
//! - the id range lets a lookup by id (`fraudctl logs get`, a label join) read only the files that may hold it;
//! - the record count lets a sampler weigh files without reading them;
//! - the digest names the *set* of records, so two files with different records never share a key (a PUT can
//!   never replace records written by another batch), while a redelivery of exactly the same messages rewrites
//!   the same file (same ids, same bytes: gzip here writes no timestamp).
//!
//! A record may still appear in two files (a batch redelivered after its file was written, merged with other
//! messages): every reader removes duplicates by `prediction_id`, within a partition, since a record's id names
//! its partition.

use std::io::{Read, Write};

use crate::log_record::{partition_prefix, PredictionLogRecord};
use crate::prediction_id::PredictionId;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Extension of a single record's object.
pub const SINGLE_EXTENSION: &str = ".json";
/// Extension of a batched file.
pub const BATCH_EXTENSION: &str = ".jsonl.gz";
/// The largest decompressed batch file a reader accepts (a full batch of 10,000 records of ~1 KB is ~10 MB):
/// a corrupt or hostile object cannot make a reader allocate without bound.
pub const MAX_BATCH_FILE_BYTES: u64 = 64 << 20;
/// Hex digits of the id-set digest in a batched file's name.
const DIGEST_HEX_DIGITS: usize = 16;

/// What an object under `prediction-logs/` holds, from its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogObjectName {
    /// `<prediction_id>.json`: one record.
    Single(PredictionId),
    /// `<first>_<last>_<records>_<digest>.jsonl.gz`.
    Batch(BatchFileName),
    /// Anything else: read as one (probably corrupt) record, so it is counted rather than ignored.
    Other,
}

impl LogObjectName {
    /// Reads the last segment of `key`.
    pub fn parse(key: &str) -> Self {
        let name = key.rsplit('/').next().unwrap_or(key);
        if let Some(stem) = name.strip_suffix(BATCH_EXTENSION) {
            return BatchFileName::parse(stem).map_or(LogObjectName::Other, LogObjectName::Batch);
        }
        match name.strip_suffix(SINGLE_EXTENSION).map(str::parse) {
            Some(Ok(id)) => LogObjectName::Single(id),
            _ => LogObjectName::Other,
        }
    }

    /// The records the key says the object holds.
    pub fn records(&self) -> usize {
        match self {
            LogObjectName::Batch(name) => name.records,
            LogObjectName::Single(_) | LogObjectName::Other => 1,
        }
    }
}

/// A batched file's name, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFileName {
    pub first: PredictionId,
    pub last: PredictionId,
    pub records: usize,
    digest: u64,
}

impl BatchFileName {
    fn parse(stem: &str) -> Option<Self> {
        let mut parts = stem.split('_');
        let first: PredictionId = parts.next()?.parse().ok()?;
        let last: PredictionId = parts.next()?.parse().ok()?;
        let records: usize = parts.next()?.parse().ok()?;
        let digest = parts.next().filter(|d| d.len() == DIGEST_HEX_DIGITS)?;
        let digest = u64::from_str_radix(digest, 16).ok()?;
        (parts.next().is_none() && first <= last && records > 0).then_some(BatchFileName {
            first,
            last,
            records,
            digest,
        })
    }

    /// Whether the file may hold the record with this id (its ids are sorted, so only ids in its range).
    pub fn may_hold(&self, id: PredictionId) -> bool {
        self.first <= id && id <= self.last
    }

    /// Whether the file may hold records made in `[since, until)`, by the times in its first and last ids.
    pub fn may_overlap(&self, since: OffsetDateTime, until: OffsetDateTime) -> bool {
        let first = self.first.time().ok();
        let last = self.last.time().ok();
        first.is_none_or(|t| t < until) && last.is_none_or(|t| t >= since)
    }

    fn file_name(&self) -> String {
        format!("{}_{}_{}_{:016x}{BATCH_EXTENSION}", self.first, self.last, self.records, self.digest)
    }
}

/// A batched file ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFile {
    pub key: String,
    pub body: Vec<u8>,
    /// Distinct records in it.
    pub records: usize,
}

/// Why records could not make one batched file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchFileError {
    #[error("a batched file needs at least one record")]
    Empty,
    #[error("a batched file holds one partition, but records of {0} and {1} were given")]
    MixedPartitions(String, String),
    #[error("not a gzip'd JSON-lines file: {0}")]
    Unreadable(String),
    #[error("decompresses to more than {MAX_BATCH_FILE_BYTES} bytes")]
    TooLarge,
}

impl BatchFile {
    /// One file of `records`, which must all belong to one partition hour: sorted by prediction id, one line each
    /// (the canonical encoding), a record repeated in the batch (SQS may deliver a message twice) written once.
    pub fn encode(records: &[&PredictionLogRecord]) -> Result<Self, BatchFileError> {
        let first = records.first().ok_or(BatchFileError::Empty)?;
        let prefix = partition_prefix(first.timestamp);
        if let Some(other) = records.iter().map(|r| partition_prefix(r.timestamp)).find(|p| *p != prefix) {
            return Err(BatchFileError::MixedPartitions(prefix, other));
        }
        let mut sorted: Vec<&PredictionLogRecord> = records.to_vec();
        sorted.sort_by_key(|r| r.prediction_id);
        sorted.dedup_by_key(|r| r.prediction_id);
        let mut digest = Sha256::new();
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        for record in &sorted {
            digest.update(record.prediction_id.as_uuid().as_bytes());
            let mut line = record.encode();
            line.push(b'\n');
            gzip.write_all(&line).expect("writing to memory cannot fail");
        }
        let digest = digest.finalize();
        let name = BatchFileName {
            first: sorted[0].prediction_id,
            last: sorted[sorted.len() - 1].prediction_id,
            records: sorted.len(),
            digest: u64::from_be_bytes(digest[..8].try_into().expect("sha256 has 32 bytes")),
        };
        Ok(BatchFile {
            key: format!("{prefix}{}", name.file_name()),
            body: gzip.finish().expect("writing to memory cannot fail"),
            records: sorted.len(),
        })
    }
}

/// A batched file's text, decompressed (at most [`MAX_BATCH_FILE_BYTES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchText(Vec<u8>);

impl BatchText {
    pub fn gunzip(body: &[u8]) -> Result<Self, BatchFileError> {
        let mut text = Vec::new();
        GzDecoder::new(body)
            .take(MAX_BATCH_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| BatchFileError::Unreadable(e.to_string()))?;
        if text.len() as u64 > MAX_BATCH_FILE_BYTES {
            return Err(BatchFileError::TooLarge);
        }
        Ok(BatchText(text))
    }

    /// The non-blank lines, with their 1-based line numbers.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &[u8])> + '_ {
        self.0.split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.trim_ascii().is_empty()).map(|(i, l)| (i + 1, l))
    }
}

/// The prediction id of one encoded record, without decoding the rest (a sampler decides by the id which lines it
/// keeps); `None` when the line has no readable id.
pub fn prediction_id_of(line: &[u8]) -> Option<PredictionId> {
    #[derive(Deserialize)]
    struct IdOnly {
        prediction_id: PredictionId,
    }
    serde_json::from_slice::<IdOnly>(line).ok().map(|r| r.prediction_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::LogRecordBuilder;
    use time::macros::datetime;
    use time::Duration;
    use uuid::Uuid;

    fn record(at: OffsetDateTime) -> PredictionLogRecord {
        LogRecordBuilder::at(at).build()
    }

    fn hour_of_records(n: usize) -> Vec<PredictionLogRecord> {
        (0..n).map(|i| record(datetime!(2026-11-22 03:00 UTC) + Duration::seconds(i as i64))).collect()
    }

    fn decoded(file: &BatchFile) -> Vec<PredictionLogRecord> {
        let text = BatchText::gunzip(&file.body).unwrap();
        text.lines().map(|(_, line)| PredictionLogRecord::decode(line).unwrap()).collect()
    }

    #[test]
    fn a_batch_file_is_sorted_deduplicated_and_named_by_its_ids() {
        let records = hour_of_records(5);
        // Out of order, with one record delivered twice.
        let given: Vec<&PredictionLogRecord> =
            vec![&records[3], &records[0], &records[4], &records[1], &records[2], &records[0]];
        let file = BatchFile::encode(&given).unwrap();
        assert_eq!(decoded(&file), records);
        assert_eq!(file.records, 5);
        assert!(file.key.starts_with("prediction-logs/dt=2026-11-22/hour=03/"), "{}", file.key);
        let LogObjectName::Batch(name) = LogObjectName::parse(&file.key) else { panic!("{}", file.key) };
        assert_eq!((name.first, name.last, name.records), (records[0].prediction_id, records[4].prediction_id, 5));
        assert!(name.may_hold(records[2].prediction_id));
        assert!(!name.may_hold(PredictionId::new(datetime!(2026-11-22 03:10 UTC))));
        assert_eq!(LogObjectName::parse(&file.key).records(), 5);
    }

    #[test]
    fn the_same_records_make_the_same_file_and_other_records_another_key() {
        let records = hour_of_records(4);
        let refs: Vec<&PredictionLogRecord> = records.iter().collect();
        let file = BatchFile::encode(&refs).unwrap();
        let reversed: Vec<&PredictionLogRecord> = records.iter().rev().collect();
        assert_eq!(BatchFile::encode(&reversed).unwrap(), file, "a redelivery rewrites the same bytes");
        // Same first and last id, same count, one record swapped: another key, so neither file replaces the other.
        let mut swapped = records.clone();
        swapped[1] = record(datetime!(2026-11-22 03:00:01.5 UTC));
        let other = BatchFile::encode(&swapped.iter().collect::<Vec<_>>()).unwrap();
        assert_ne!(other.key, file.key);
        assert_eq!(other.key.split('_').take(3).collect::<Vec<_>>(), file.key.split('_').take(3).collect::<Vec<_>>());
    }

    #[test]
    fn a_batch_file_holds_one_partition() {
        let a = record(datetime!(2026-11-22 03:59:59.999 UTC));
        let b = record(datetime!(2026-11-22 04:00:00 UTC));
        assert_eq!(BatchFile::encode(&[]), Err(BatchFileError::Empty));
        assert!(matches!(BatchFile::encode(&[&a, &b]), Err(BatchFileError::MixedPartitions(..))));
    }

    #[test]
    fn names_tell_the_layout() {
        let id = PredictionId::new(datetime!(2026-11-22 03:04:05 UTC));
        let p = "prediction-logs/dt=2026-11-22/hour=03/";
        assert_eq!(LogObjectName::parse(&format!("{p}{id}.json")), LogObjectName::Single(id));
        for other in [
            format!("{p}notes.txt"),
            format!("{p}{id}.jsonl.gz"),
            format!("{p}{id}_{id}_0_0123456789abcdef.jsonl.gz"),
            format!("{p}{id}_{id}_3_0123.jsonl.gz"),
            format!("{p}{id}_{id}_3_0123456789abcdef_x.jsonl.gz"),
            format!("{p}{id}_{}_3_0123456789abcdef.jsonl.gz", Uuid::nil()),
        ] {
            assert_eq!(LogObjectName::parse(&other), LogObjectName::Other, "{other}");
            assert_eq!(LogObjectName::parse(&other).records(), 1);
        }
    }

    #[test]
    fn a_corrupt_or_oversized_file_is_an_error_not_an_allocation() {
        assert!(matches!(BatchText::gunzip(b"{\"not\": \"gzip\"}"), Err(BatchFileError::Unreadable(_))));
        let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..=(MAX_BATCH_FILE_BYTES >> 20) {
            gzip.write_all(&zeros).unwrap();
        }
        let bomb = gzip.finish().unwrap();
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        assert_eq!(BatchText::gunzip(&bomb), Err(BatchFileError::TooLarge));
    }

    #[test]
    fn ids_read_without_decoding_the_record() {
        let r = record(datetime!(2026-11-22 03:04:05.678 UTC));
        assert_eq!(prediction_id_of(&r.encode()), Some(r.prediction_id));
        assert_eq!(prediction_id_of(b"{\"prediction_id\": 3}"), None);
    }

    #[test]
    fn a_batch_named_by_ids_without_a_time_may_hold_any_time() {
        let (v4, v7) = (PredictionId::from(Uuid::new_v4()), PredictionId::new(datetime!(2026-11-22 03:00 UTC)));
        let name = BatchFileName { first: v4, last: v4, records: 1, digest: 0 };
        assert!(name.may_overlap(datetime!(2026-11-22 03:30 UTC), datetime!(2026-11-22 04:00 UTC)));
        let both_v7 = BatchFileName { first: v7, last: v7, records: 1, digest: 0 };
        assert!(!both_v7.may_overlap(datetime!(2026-11-22 03:30 UTC), datetime!(2026-11-22 04:00 UTC)));
    }
}

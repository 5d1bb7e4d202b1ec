//! Reading prediction logs from S3, in both layouts (`fraudwatch_core::log_files`: one object per prediction, or
//! batched gzip'd JSON-lines files), for every reader: drift-check, `fraudctl logs`, the quality check. Every
//! function here yields each distinct record once — duplicates (a record redelivered into a second file, or written
//! both by predict's fallback and by the logger) are removed by `prediction_id` — and works from the partition
//! layout, never a scan of the bucket.
//!
//! - [`sample_window`]: a uniform sample of at most `max_rows` distinct records of a window, in bounded memory and
//!   GETs (below); [`sample_window_observing`] also shows the caller every object listed (the quality check);
//! - [`read_partition`]: every distinct record of one hourly partition (duplicates of a record always share its
//!   partition, since its id names it), for readers that need all of them;
//! - [`find_records`]: records by prediction id, reading only the objects that may hold them;
//! - [`list_partition`]: the objects of a partition and what their names say.
//!
//! ## Sampling
//!
//! Keys are listed (1,000 per request, [`LIST_CONCURRENCY`] prefixes at a time, whole days as one prefix:
//! [`window_prefixes`](crate::window::window_prefixes)). With `N` records named by the
//! keys (a batched file carries its record count in its name, so no GET is needed to count them) and
//! `k = max_rows`, every distinct record is to be kept with the same probability, about `π = k / N`. Each record
//! gets a seeded hash of its prediction id, `h` uniform in [0, 1), and a *rank*:
//!
//! - a single object: `h/π` — its id is in its key, so it is ranked before any GET, and only the k smallest `h`
//!   are remembered while listing;
//! - a row of a batched file: the file's `u/p` (`u` a seeded hash of its key), if `h < t`; other rows are never
//!   candidates. `p · t = π`, with `t` aiming at [`ROWS_PER_FILE`] rows per file: reading ~100 rows from each of
//!   many files spreads the sample over the window's time (one file is a few seconds of traffic) for about
//!   `k / ROWS_PER_FILE` file GETs.
//!
//! Every record's rank then has the same distribution (`P(rank < λ) = λπ` for a single and `λp · t = λπ` for a
//! file row), so keeping the k smallest ranks keeps every record with the same chance. Objects are read in rank
//! order and reading stops once k rows are kept (no later object can rank lower): exactly `max_rows` rows, for
//! about as many GETs as that needs. The same `h` decides in every copy of a record, and copies collapse to one
//! row; a record with a copy in a second file is kept up to twice as often (when both files are read) —
//! redeliveries after a write are rare. When `π ≥ 1/2` every file is read and its rows ranked like singles
//! (reading at most twice `max_rows` rows).
//!
//! Memory: the k smallest single-object hashes, the 2k batched files' names of smallest hash (~150 bytes each: 30 MB
//! for k = 100,000; only a prefix of that order is ever read, see `Listing`), a page of keys per listing in flight,
//! one file's text at a time per GET in flight, and the k rows kept.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use fraudwatch_core::log_files::{prediction_id_of, BatchText, LogObjectName};
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::prediction_id::PredictionId;

use crate::store::{get_if_exists, s3_error, S3Error, GET_CONCURRENCY, GONE_WHEN_READ, LIST_CONCURRENCY};
use crate::window::window_prefixes;

/// Rows a sample aims to take from each batched file it reads (see the module docs).
pub const ROWS_PER_FILE: usize = 100;
/// Undecodable objects or lines are logged by location up to this many per read, then only counted.
const CORRUPT_LOGGED: usize = 10;

/// One listed object.
#[derive(Debug, Clone, PartialEq)]
pub struct LogObject {
    pub key: String,
    pub name: LogObjectName,
    pub size: i64,
    pub last_modified: Option<OffsetDateTime>,
}

impl LogObject {
    /// Whether the object may hold records made in `[since, until)`, from its name (objects whose name says
    /// nothing are kept: they need reading to know).
    pub fn may_overlap(&self, since: OffsetDateTime, until: OffsetDateTime) -> bool {
        match self.name {
            LogObjectName::Single(id) => id.time().ok().is_none_or(|t| since <= t && t < until),
            LogObjectName::Batch(name) => name.may_overlap(since, until),
            LogObjectName::Other => true,
        }
    }
}

/// Every object under `prefix`, in key order.
pub async fn list_partition(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<LogObject>, S3Error> {
    let mut objects = Vec::new();
    for_each_listed(s3, bucket, prefix, |o| objects.push(o)).await?;
    Ok(objects)
}

/// Calls `f` with every object under `prefix`, in key order, a page (1,000 keys) at a time: memory stays a page
/// however many objects there are.
async fn for_each_listed(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    mut f: impl FnMut(LogObject),
) -> Result<(), S3Error> {
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_error("ListObjectsV2", bucket, prefix, e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            f(LogObject {
                name: LogObjectName::parse(key),
                size: o.size().unwrap_or_default(),
                last_modified: o.last_modified().and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
                key: key.to_string(),
            });
        }
    }
    Ok(())
}

/// The records of one object, and what could not be read from it.
#[derive(Debug, Default)]
pub struct ObjectRecords {
    pub records: Vec<PredictionLogRecord>,
    /// `key: reason` (`key line N: reason` in a batched file) for each undecodable object or line.
    pub corrupt: Vec<String>,
}

/// Reads one object in the layout its name says, keeping the records `keep` accepts by id (a single object's
/// record is always kept: it was chosen by its id already).
async fn read_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: String,
    keep: impl Fn(PredictionId) -> bool,
) -> Result<ObjectRecords, S3Error> {
    match get_if_exists(s3, bucket, &key).await? {
        Some(body) => Ok(decode_object(&key, &body, keep)),
        None => Ok(ObjectRecords { records: Vec::new(), corrupt: vec![format!("{key}: {GONE_WHEN_READ}")] }),
    }
}

fn decode_object(key: &str, body: &[u8], keep: impl Fn(PredictionId) -> bool) -> ObjectRecords {
    let mut out = ObjectRecords::default();
    if !matches!(LogObjectName::parse(key), LogObjectName::Batch(_)) {
        match PredictionLogRecord::decode(body) {
            Ok(record) => out.records.push(record),
            Err(e) => out.corrupt.push(format!("{key}: {e}")),
        }
        return out;
    }
    let text = match BatchText::gunzip(body) {
        Ok(text) => text,
        Err(e) => {
            out.corrupt.push(format!("{key}: {e}"));
            return out;
        }
    };
    for (line_number, line) in text.lines() {
        match prediction_id_of(line) {
            Some(id) if !keep(id) => {}
            _ => match PredictionLogRecord::decode(line) {
                Ok(record) => out.records.push(record),
                Err(e) => out.corrupt.push(format!("{key} line {line_number}: {e}")),
            },
        }
    }
    out
}

fn log_corrupt(corrupt: &[String], already: usize) {
    for location in corrupt.iter().take(CORRUPT_LOGGED.saturating_sub(already)) {
        tracing::warn!(location, "skipping an undecodable prediction log");
    }
}

/// Every distinct record of a partition.
#[derive(Debug, Default)]
pub struct PartitionRecords {
    /// Sorted by prediction id.
    pub records: Vec<PredictionLogRecord>,
    pub objects: usize,
    /// Copies of a record already read, dropped.
    pub duplicates: usize,
    pub corrupt: Vec<String>,
}

/// Reads every object of the partition `prefix` that may hold records made in `[since, until)` and returns its
/// distinct records made in that span (a partition is an hour; a window may cut the first and last).
pub async fn read_partition(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    (since, until): (OffsetDateTime, OffsetDateTime),
) -> Result<PartitionRecords, S3Error> {
    let objects: Vec<LogObject> =
        list_partition(s3, bucket, prefix).await?.into_iter().filter(|o| o.may_overlap(since, until)).collect();
    let mut read = PartitionRecords { objects: objects.len(), ..PartitionRecords::default() };
    let mut by_id: HashMap<PredictionId, PredictionLogRecord> = HashMap::new();
    let mut bodies = futures::stream::iter(objects)
        .map(|o| read_object(s3, bucket, o.key, |_| true))
        .buffer_unordered(GET_CONCURRENCY);
    while let Some(object) = bodies.next().await {
        let object = object?;
        log_corrupt(&object.corrupt, read.corrupt.len());
        read.corrupt.extend(object.corrupt);
        for record in object.records.into_iter().filter(|r| since <= r.timestamp && r.timestamp < until) {
            if by_id.insert(record.prediction_id, record).is_some() {
                read.duplicates += 1;
            }
        }
    }
    read.records = by_id.into_values().collect();
    read.records.sort_unstable_by_key(|r| r.prediction_id);
    Ok(read)
}

/// A record found by id, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundRecord {
    pub record: PredictionLogRecord,
    pub key: String,
}

/// The records with these prediction ids that are logged, each found once (ids that are not UUIDv7s name no
/// partition and are never found). Per partition: one GET of each id's single-object key, then — for the ids
/// still missing — a listing of the partition and GETs of only the batched files whose id range holds one.
pub async fn find_records(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    ids: &[PredictionId],
) -> Result<HashMap<PredictionId, FoundRecord>, S3Error> {
    let mut by_partition: BTreeMap<String, Vec<(PredictionId, String)>> = BTreeMap::new();
    for &id in ids {
        if let (Ok(key), Ok(partition)) = (id.key(), id.partition()) {
            by_partition.entry(partition).or_default().push((id, key));
        }
    }
    let found: Vec<Vec<FoundRecord>> = futures::stream::iter(by_partition)
        .map(|(prefix, wanted)| find_in_partition(s3, bucket, prefix, wanted))
        .buffer_unordered(LIST_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().map(|f| (f.record.prediction_id, f)).collect())
}

async fn find_in_partition(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: String,
    wanted: Vec<(PredictionId, String)>,
) -> Result<Vec<FoundRecord>, S3Error> {
    let singles: Vec<(PredictionId, Option<FoundRecord>)> = futures::stream::iter(wanted)
        .map(|(id, key)| async move {
            let record = get_if_exists(s3, bucket, &key)
                .await?
                .and_then(|body| PredictionLogRecord::decode(&body).ok())
                .filter(|r| r.prediction_id == id);
            Ok::<_, S3Error>((id, record.map(|record| FoundRecord { record, key })))
        })
        .buffer_unordered(GET_CONCURRENCY)
        .try_collect()
        .await?;
    let mut found: Vec<FoundRecord> = Vec::new();
    let mut missing: HashSet<PredictionId> = HashSet::new();
    for (id, record) in singles {
        match record {
            Some(f) => found.push(f),
            None => {
                missing.insert(id);
            }
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let files: Vec<String> = list_partition(s3, bucket, &prefix)
        .await?
        .into_iter()
        .filter(|o| matches!(o.name, LogObjectName::Batch(name) if missing.iter().any(|&id| name.may_hold(id))))
        .map(|o| o.key)
        .collect();
    let missing = &missing;
    let mut bodies = futures::stream::iter(files)
        .map(|key| async move {
            let object = read_object(s3, bucket, key.clone(), |id| missing.contains(&id)).await?;
            Ok::<_, S3Error>((key, object.records))
        })
        .buffered(GET_CONCURRENCY);
    let mut seen: HashSet<PredictionId> = HashSet::new();
    while let Some(object) = bodies.next().await {
        let (key, records) = object?;
        for record in records {
            if seen.insert(record.prediction_id) {
                found.push(FoundRecord { record, key: key.clone() });
            }
        }
    }
    Ok(found)
}

/// A window's sample.
#[derive(Debug, Default)]
pub struct WindowSample {
    /// The distinct records kept, sorted by prediction id.
    pub records: Vec<PredictionLogRecord>,
    /// Objects listed in the window.
    pub listed_objects: usize,
    /// Records the listed objects' names say they hold (duplicates included).
    pub listed_records: usize,
    /// Objects read (GETs).
    pub read_objects: usize,
    /// Undecodable objects and batched-file lines met (skipped).
    pub corrupt: usize,
    /// Copies of a kept record met again and dropped.
    pub duplicates: usize,
    /// Every distinct record's chance of being kept: 1 when the window held at most `max_rows`, else about
    /// `max_rows / listed_records` (the Horvitz-Thompson weight of a kept row is its inverse).
    pub inclusion_probability: f64,
}

impl WindowSample {
    /// The window held more records than `max_rows`, and a sample was read.
    pub fn sampled(&self) -> bool {
        self.inclusion_probability < 1.0
    }
}

/// A seeded hash, uniform in [0, 1).
#[derive(Debug, Clone, Copy)]
struct SeededHash([u8; 8]);

impl SeededHash {
    fn of(&self, bytes: &[u8]) -> f64 {
        let digest = Sha256::new().chain_update(self.0).chain_update(bytes).finalize();
        let word = u64::from_le_bytes(digest[..8].try_into().expect("sha256 has 32 bytes"));
        (word >> 11) as f64 / (1u64 << 53) as f64
    }

    fn of_id(&self, id: PredictionId) -> f64 {
        self.of(id.as_uuid().as_bytes())
    }
}

/// An `f64` hash in [0, 1), totally ordered.
#[derive(Debug, Clone, Copy)]
struct OrderedHash(f64);
impl PartialEq for OrderedHash {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for OrderedHash {}
impl PartialOrd for OrderedHash {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedHash {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// What listing a window found: the `k` single objects of smallest hash, the `FILES_KEPT_PER_ROW · k` batched files of
/// smallest key hash, the totals. Independent of listing order, so partitions are listed concurrently and merged.
///
/// Files are read in the order of their key hash (`u/p`, one `p` for all), so only a prefix of that order is ever
/// read; the expected number is at most `k` (`p · F` files: `k / ROWS_PER_FILE` when `t` is not clamped, `k / mean`
/// ≤ `k` when `t` = 1, under `k / 100` when `t` = `2π`), and when every file is read (`π` ≥ 1/2) there are at most
/// `2k` records, so at most `2k` files. Keeping `2k` bounds memory (a 90-day quality window at 1,000 predictions/s
/// is ~3.9 M files) without changing the sample.
struct Listing {
    k: usize,
    hash: SeededHash,
    /// Max-heap on hash: the root is the first to leave. `Other` names are hashed by key.
    singles: BinaryHeap<(OrderedHash, Reverse<String>)>,
    single_count: usize,
    /// Max-heap on the key's hash, like `singles`.
    files: BinaryHeap<(OrderedHash, Reverse<String>)>,
    file_count: usize,
    file_records: usize,
}

/// Batched files a listing keeps per row of the sample (see [`Listing`]).
const FILES_KEPT_PER_ROW: usize = 2;

/// Keeps `key` among the `k` of smallest hash in `heap`.
fn keep_smallest(heap: &mut BinaryHeap<(OrderedHash, Reverse<String>)>, k: usize, h: OrderedHash, key: String) {
    if heap.len() < k {
        heap.push((h, Reverse(key)));
    } else if heap.peek().is_some_and(|(top, _)| h < *top) {
        heap.pop();
        heap.push((h, Reverse(key)));
    }
}

impl Listing {
    fn new(k: usize, hash: SeededHash) -> Self {
        Listing {
            k,
            hash,
            singles: BinaryHeap::new(),
            single_count: 0,
            files: BinaryHeap::new(),
            file_count: 0,
            file_records: 0,
        }
    }

    fn offer(&mut self, object: LogObject) {
        match object.name {
            LogObjectName::Batch(name) => {
                self.file_records += name.records;
                self.offer_file(OrderedHash(self.hash.of(object.key.as_bytes())), object.key);
            }
            LogObjectName::Single(id) => self.offer_single(OrderedHash(self.hash.of_id(id)), object.key),
            LogObjectName::Other => self.offer_single(OrderedHash(self.hash.of(object.key.as_bytes())), object.key),
        }
    }

    fn offer_single(&mut self, h: OrderedHash, key: String) {
        self.single_count += 1;
        keep_smallest(&mut self.singles, self.k, h, key);
    }

    fn offer_file(&mut self, u: OrderedHash, key: String) {
        self.file_count += 1;
        keep_smallest(&mut self.files, FILES_KEPT_PER_ROW * self.k, u, key);
    }

    fn merge(mut self, other: Listing) -> Listing {
        self.file_records += other.file_records;
        self.single_count += other.single_count - other.singles.len();
        self.file_count += other.file_count - other.files.len();
        for (h, Reverse(key)) in other.singles {
            self.offer_single(h, key);
        }
        for (u, Reverse(key)) in other.files {
            self.offer_file(u, key);
        }
        self
    }

    /// Decides what to read, in which order, and how rows are ranked.
    fn plan(self) -> Plan {
        let listed_records = self.single_count + self.file_records;
        let listed_objects = self.single_count + self.file_count;
        let pi = if listed_records <= self.k { 1.0 } else { self.k as f64 / listed_records as f64 };
        let hash = self.hash;
        let mut units: Vec<Unit> =
            self.singles.into_iter().map(|(h, Reverse(key))| Unit { rank: h.0 / pi, key, single: true }).collect();
        // Few records more than max_rows (or none, or no files): read every file, rank its rows like singles.
        let sequential = pi < SEQUENTIAL_BELOW && self.file_count > 0;
        let (file_p, within_t) = if sequential {
            let mean_records = self.file_records as f64 / self.file_count as f64;
            let t = (ROWS_PER_FILE as f64 / mean_records).clamp(pi / SEQUENTIAL_BELOW, 1.0);
            (pi / t, t)
        } else {
            (1.0, 1.0)
        };
        units.extend(self.files.into_iter().map(|(u, Reverse(key))| Unit {
            rank: if sequential { u.0 / file_p } else { 0.0 },
            key,
            single: false,
        }));
        units.sort_unstable_by(|a, b| a.rank.total_cmp(&b.rank).then_with(|| a.key.cmp(&b.key)));
        Plan { hash, pi, within_t, sequential, units, listed_objects, listed_records }
    }
}

/// Below this `π`, batched files are sampled (read in rank order until the sample is full); at or above it, every
/// file is read, which costs at most twice `max_rows` rows.
const SEQUENTIAL_BELOW: f64 = 0.5;

/// One object to read, and its rank: a single's `h(id) / π`; a file's `u / p` (`u` a seeded hash of its key) when
/// files are sampled, else 0 (every file is read).
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    rank: f64,
    key: String,
    single: bool,
}

/// What [`sample_window`] reads, in which order, and how it ranks rows. Every record's rank is uniform on
/// `[0, 1/π)` scaled alike — a single's `h/π`; a file row's `u/p` when `h < t` (`P = λp · t = λπ` below any cut
/// `λ ≤ 1/p`), or its own `h/π` when every file is read — so keeping the `max_rows` smallest ranks keeps every
/// record with the same chance. Units are read in rank order, and reading stops once `max_rows` rows are kept:
/// no later unit can rank below them.
struct Plan {
    hash: SeededHash,
    pi: f64,
    /// `t`: a row of a sampled file is a candidate when `h(id) < t`.
    within_t: f64,
    /// Files are sampled (read in rank order, stopping when full); else every file is read.
    sequential: bool,
    units: Vec<Unit>,
    listed_objects: usize,
    listed_records: usize,
}

impl Plan {
    /// Whether a row of a batched file is a candidate (decided from its id before decoding the rest).
    fn keeps_in_file(&self, id: PredictionId) -> bool {
        self.hash.of_id(id) < self.within_t
    }

    /// A candidate row's sort key: its unit's rank, then (within a file) its own hash.
    fn row_key(&self, unit: &Unit, id: PredictionId) -> (OrderedHash, OrderedHash) {
        let h = self.hash.of_id(id);
        match (unit.single, self.sequential) {
            (true, _) => (OrderedHash(unit.rank), OrderedHash(0.0)),
            (false, true) => (OrderedHash(unit.rank), OrderedHash(h / self.within_t)),
            (false, false) => (OrderedHash(h / self.pi), OrderedHash(0.0)),
        }
    }
}

/// The `max_rows` candidates of smallest key, at most one per id.
struct Kept {
    k: usize,
    heap: BinaryHeap<((OrderedHash, OrderedHash), PredictionId)>,
    records: HashMap<PredictionId, PredictionLogRecord>,
    duplicates: usize,
}

impl Kept {
    fn new(k: usize) -> Self {
        Kept { k, heap: BinaryHeap::new(), records: HashMap::new(), duplicates: 0 }
    }

    fn offer(&mut self, key: (OrderedHash, OrderedHash), record: PredictionLogRecord) {
        let id = record.prediction_id;
        if self.records.contains_key(&id) {
            self.duplicates += 1;
            return;
        }
        if self.heap.len() == self.k {
            match self.heap.peek() {
                Some((top, _)) if key < *top => {
                    let (_, evicted) = self.heap.pop().expect("the heap is full");
                    self.records.remove(&evicted);
                }
                _ => return,
            }
        }
        self.heap.push((key, id));
        self.records.insert(id, record);
    }

    /// Takes the candidate rows of one unit read; `false` once no later unit can change the sample.
    fn take(&mut self, plan: &Plan, unit: &Unit, records: Vec<PredictionLogRecord>) -> bool {
        for record in records {
            self.offer(plan.row_key(unit, record.prediction_id), record);
        }
        !(plan.sequential && self.heap.len() == self.k)
    }

    /// The kept records, sorted by prediction id.
    fn into_records(self) -> Vec<PredictionLogRecord> {
        let mut records: Vec<PredictionLogRecord> = self.records.into_values().collect();
        records.sort_unstable_by_key(|r| r.prediction_id);
        records
    }
}

/// A uniform sample of at most `max_rows` distinct records made in `[start, end)`, seeded by `seed` (the same
/// window and seed read the same sample); see the module docs. An S3 failure is an error; undecodable objects
/// and lines are skipped and counted.
pub async fn sample_window(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    window: (OffsetDateTime, OffsetDateTime),
    max_rows: usize,
    seed: u64,
) -> Result<WindowSample, S3Error> {
    sample_window_observing(s3, bucket, window, max_rows, seed, &|_| {}).await
}

/// [`sample_window`], showing `observe` every object listed that may hold records of the window (once each, in no
/// particular order), for a reader that needs more from the listing than the sample: the quality check counts the
/// records per day and looks for the ids its labels name.
pub async fn sample_window_observing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    (start, end): (OffsetDateTime, OffsetDateTime),
    max_rows: usize,
    seed: u64,
    observe: &(dyn Fn(&LogObject) + Sync),
) -> Result<WindowSample, S3Error> {
    let hash = SeededHash(seed.to_le_bytes());
    let plan = futures::stream::iter(window_prefixes(start, end))
        .map(|prefix| async move {
            let mut listing = Listing::new(max_rows, hash);
            for_each_listed(s3, bucket, &prefix, |object| {
                if object.may_overlap(start, end) {
                    observe(&object);
                    listing.offer(object);
                }
            })
            .await?;
            Ok::<_, S3Error>(listing)
        })
        .buffer_unordered(LIST_CONCURRENCY)
        .try_fold(Listing::new(max_rows, hash), |all, one| async move { Ok(all.merge(one)) })
        .await?
        .plan();

    let mut sample = WindowSample {
        listed_objects: plan.listed_objects,
        listed_records: plan.listed_records,
        inclusion_probability: plan.pi,
        ..WindowSample::default()
    };
    let mut kept = Kept::new(max_rows);
    let plan = &plan;
    // `buffered` keeps rank order, so where reading stops (and so the sample) does not depend on timing.
    let mut objects = futures::stream::iter(&plan.units)
        .map(|unit| async move {
            let object = read_object(s3, bucket, unit.key.clone(), |id| plan.keeps_in_file(id)).await?;
            Ok::<_, S3Error>((unit, object))
        })
        .buffered(GET_CONCURRENCY);
    while let Some(object) = objects.next().await {
        let (unit, object) = object?;
        sample.read_objects += 1;
        log_corrupt(&object.corrupt, sample.corrupt);
        sample.corrupt += object.corrupt.len();
        let in_window = object.records.into_iter().filter(|r| start <= r.timestamp && r.timestamp < end).collect();
        if !kept.take(plan, unit, in_window) {
            break;
        }
    }
    if sample.corrupt > 0 {
        tracing::warn!(corrupt = sample.corrupt, "undecodable prediction logs were skipped");
    }
    sample.duplicates = kept.duplicates;
    sample.records = kept.into_records();
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraudwatch_core::log_files::BatchFile;
    use fraudwatch_core::test_util::LogRecordBuilder;
    use time::macros::datetime;
    use time::Duration;

    fn record(at: OffsetDateTime) -> PredictionLogRecord {
        LogRecordBuilder::at(at).build()
    }

    /// A window's objects in memory: their listing entries and the records each holds.
    struct Bucket {
        objects: Vec<LogObject>,
        contents: HashMap<String, Vec<PredictionLogRecord>>,
    }

    impl Bucket {
        fn put(&mut self, key: String, records: Vec<PredictionLogRecord>) {
            self.objects.push(LogObject {
                name: LogObjectName::parse(&key),
                size: 0,
                last_modified: None,
                key: key.clone(),
            });
            self.contents.insert(key, records);
        }

        /// 24 hours of `per_hour` records each: even hours one object per record, odd hours batched files of
        /// `file_size`; plus, in hour 1, a second file repeating (up to) 100 records of its first ones (a redelivery).
        fn mixed(per_hour: usize, file_size: usize) -> Self {
            let mut bucket = Bucket { objects: Vec::new(), contents: HashMap::new() };
            let start = datetime!(2026-11-20 00:00 UTC);
            for hour in 0..24 {
                let spacing = Duration::seconds(3600) / per_hour as u32;
                let records: Vec<PredictionLogRecord> =
                    (0..per_hour).map(|i| record(start + Duration::hours(hour) + spacing * i as u32)).collect();
                if hour % 2 == 0 {
                    records.into_iter().for_each(|r| bucket.put(r.s3_key(), vec![r]));
                    continue;
                }
                for chunk in records.chunks(file_size) {
                    let file = BatchFile::encode(&chunk.iter().collect::<Vec<_>>()).unwrap();
                    bucket.put(file.key, chunk.to_vec());
                }
                if hour == 1 {
                    let again: Vec<PredictionLogRecord> = records[..per_hour.min(100)]
                        .iter()
                        .cloned()
                        .chain([record(start + Duration::minutes(90))])
                        .collect();
                    let file = BatchFile::encode(&again.iter().collect::<Vec<_>>()).unwrap();
                    bucket.put(file.key, again);
                }
            }
            bucket
        }

        fn listing(&self, objects: &[LogObject], k: usize, seed: u64) -> Listing {
            let mut listing = Listing::new(k, SeededHash(seed.to_le_bytes()));
            objects.iter().cloned().for_each(|o| listing.offer(o));
            listing
        }

        /// What `sample_window` keeps, with the bucket in memory instead of S3; and the objects it read.
        fn sample(&self, k: usize, seed: u64) -> (Vec<PredictionLogRecord>, usize, usize) {
            let plan = self.listing(&self.objects, k, seed).plan();
            let mut kept = Kept::new(k);
            let mut read = 0;
            for unit in &plan.units {
                read += 1;
                let rows = self.contents[&unit.key]
                    .iter()
                    .filter(|r| unit.single || plan.keeps_in_file(r.prediction_id))
                    .cloned()
                    .collect();
                if !kept.take(&plan, unit, rows) {
                    break;
                }
            }
            let duplicates = kept.duplicates;
            (kept.into_records(), duplicates, read)
        }
    }

    #[test]
    fn a_small_window_is_read_whole_and_each_record_once() {
        let bucket = Bucket::mixed(40, 10);
        let distinct = 24 * 40 + 1;
        let (rows, duplicates, read) = bucket.sample(10_000, 7);
        assert_eq!((rows.len(), duplicates, read), (distinct, 40, bucket.objects.len()));
        let plan = bucket.listing(&bucket.objects, 10_000, 7).plan();
        assert_eq!((plan.pi, plan.sequential, plan.listed_objects), (1.0, false, bucket.objects.len()));
    }

    #[test]
    fn a_large_window_gives_exactly_max_rows_distinct_records() {
        let bucket = Bucket::mixed(1000, 500);
        let plan = bucket.listing(&bucket.objects, 2400, 1).plan();
        for seed in 0..5 {
            let (rows, _, read) = bucket.sample(2400, seed);
            assert_eq!(rows.len(), 2400);
            let ids: HashSet<PredictionId> = rows.iter().map(|r| r.prediction_id).collect();
            assert_eq!(ids.len(), 2400, "no record twice");
            // The listing kept 2,400 singles and 25 files; reading stops once the sample is full (about half of it
            // from singles, one GET per row, the rest ~100 rows per file read).
            assert!(read < plan.units.len() * 3 / 4, "{read} of {} objects read", plan.units.len());
        }
        // 12 batched hours of 2 files of 500 (+1 of 101): t = 100/mean size, p = π/t; ~1/4 of the files read.
        assert!((plan.pi - 2400.0 / 24_101.0).abs() < 1e-12);
        assert!((plan.within_t - 100.0 / (12_101.0 / 25.0)).abs() < 1e-12, "{}", plan.within_t);
    }

    #[test]
    fn the_sample_ignores_listing_order_and_partitioning_but_not_the_seed() {
        let bucket = Bucket::mixed(300, 100);
        let whole = bucket.listing(&bucket.objects, 1000, 42).plan().units;
        let mut reversed = bucket.objects.clone();
        reversed.reverse();
        assert_eq!(bucket.listing(&reversed, 1000, 42).plan().units, whole);
        let (a, b) = bucket.objects.split_at(2000);
        let merged = bucket.listing(a, 1000, 42).merge(bucket.listing(b, 1000, 42));
        assert_eq!(merged.plan().units, whole);
        assert_ne!(bucket.listing(&bucket.objects, 1000, 43).plan().units, whole);
    }

    #[test]
    fn a_window_of_many_small_files_keeps_only_twice_max_rows_files_and_samples_alike() {
        // 12 batched hours of 150 files of 2 records (1,801 files with the redelivered one) against max_rows 200: the
        // listing keeps 400 files; ~50 are read (p = π, t = 1). Over 200 seeds each hour gets ~1,644 rows
        // (200 · 300 · π, π = 200 / 7,301 listed), sd ≈ 57 for a batched hour (rows come in pairs): ±300 is > 5 sd.
        let bucket = Bucket::mixed(300, 2);
        let listing = bucket.listing(&bucket.objects, 200, 9);
        assert_eq!((listing.files.len(), listing.file_count), (400, 1801));
        let plan = listing.plan();
        assert_eq!((plan.listed_objects, plan.listed_records), (bucket.objects.len(), 24 * 300 + 101));
        let seeds = 200;
        let mut per_hour = [0usize; 24];
        for seed in 0..seeds {
            let (rows, _, read) = bucket.sample(200, seed);
            assert_eq!(rows.len(), 200);
            assert!(read < 400, "{read} objects read");
            rows.iter().for_each(|r| per_hour[usize::from(r.timestamp.hour())] += 1);
        }
        let expected = seeds as f64 * 300.0 * 200.0 / 7301.0;
        for (hour, &n) in per_hour.iter().enumerate().filter(|(hour, _)| *hour != 1) {
            assert!((n as f64 - expected).abs() < 300.0, "hour {hour}: {n} vs {expected:.0}: {per_hour:?}");
        }
    }

    #[test]
    fn every_record_has_the_same_chance_in_either_layout() {
        // 12 hours of single objects and 12 of batched files (2 of 500 each), sampled 2,400 at a time under 200
        // seeds: π = 2,400 / 24,101 listed records. Expected per hour: 200 · 1,000 · π ≈ 19,916. A batched hour's
        // count moves with how many of its two files are read (p ≈ 0.48, ~103 rows each): sd ≈ 1,030 over 200
        // seeds; a singles hour's sd ≈ 134. ±4,500 is > 4 sd for either layout.
        let bucket = Bucket::mixed(1000, 500);
        let seeds = 200;
        let mut per_hour = [0usize; 24];
        let mut per_record: HashMap<PredictionId, usize> = HashMap::new();
        for seed in 0..seeds {
            for r in bucket.sample(2400, seed).0 {
                per_hour[usize::from(r.timestamp.hour())] += 1;
                *per_record.entry(r.prediction_id).or_default() += 1;
            }
        }
        let pi = 2400.0 / 24_101.0;
        let expected = seeds as f64 * 1000.0 * pi;
        for (hour, &n) in per_hour.iter().enumerate().filter(|(hour, _)| *hour != 1) {
            assert!((n as f64 - expected).abs() < 4500.0, "hour {hour}: {n} vs {expected:.0}: {per_hour:?}");
        }
        // Hour 1's first 100 records are also in a second file: kept more often than a record in one file (two
        // files may be read), but at most about twice as often: 1 - (1 - π)² ≈ 1.9 π.
        let hour_1 = datetime!(2026-11-20 01:00 UTC);
        let repeated: Vec<PredictionId> = bucket
            .contents
            .values()
            .flatten()
            .filter(|r| r.timestamp >= hour_1 && r.timestamp < hour_1 + Duration::seconds(360))
            .map(|r| r.prediction_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(repeated.len(), 100);
        let mean = repeated.iter().map(|id| per_record.get(id).copied().unwrap_or(0)).sum::<usize>() as f64 / 100.0;
        let once = seeds as f64 * pi;
        assert!(mean > 1.2 * once && mean < 2.2 * once, "{mean} vs {once} for a record in one file");
    }
}

//! Ground-truth fraud labels: the record, its two file formats (JSON lines and CSV), its S3 key layout and the
//! rule that turns many label records into one truth per prediction. One definition for predict (`POST /labels`),
//! `fraudctl labels push`, drift-check's quality check and `fraudctl quality`.
//!
//! A label record names the prediction it labels by `prediction_id` (the id predict answered with) or by the
//! caller's `transaction_id` (exactly one of the two), says `label` 1 = fraud / 0 = legitimate, when the decision
//! was made (`labelled_at`, RFC 3339) and optionally who made it (`source`, e.g. `chargeback`, `analyst`):
//!
//! ```text
//! {"prediction_id": "0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b", "label": 1, "labelled_at": "2026-11-23T10:00:00Z", "source": "chargeback"}
//! ```
//!
//! Objects live at `labels/dt=YYYY-MM-DD/<batch id>.jsonl` (the UTC day the batch arrived; the batch id is a
//! UUIDv7, so names sort by arrival). What predict and fraudctl write is JSON lines, the format the Glue table
//! reads; the quality check also reads `.csv` objects and objects directly under `labels/`.
//!
//! Many records, one truth ([`LabelSet`]): the same label twice counts once; a later `labelled_at` replaces an
//! earlier one (a chargeback reverses an analyst's "legitimate"); at equal `labelled_at` with different labels,
//! fraud wins (the reading that cannot hide a missed fraud).

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::body::BodyError;
use crate::prediction_id::PredictionId;
use crate::schema::{json_type_name, MAX_TRANSACTION_ID_BYTES};

/// Root of the labels in the bucket.
pub const LABEL_PREFIX: &str = "labels/";
/// Most labels in one `POST /labels` body.
pub const MAX_LABELS_PER_REQUEST: usize = 1000;
/// Longest accepted `source`, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64;
/// How far in the future a `labelled_at` (or a prediction id's time) may be: clocks differ.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// The fields a label record may have.
pub const LABEL_FIELDS: [&str; 5] = ["prediction_id", "transaction_id", "label", "labelled_at", "source"];

/// What a label is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelTarget {
    /// The id predict answered with.
    Prediction(PredictionId),
    /// The caller's own id, as sent with the transaction (and logged).
    Transaction(String),
}

/// One label: the truth about one prediction (or transaction), as someone decided it at `labelled_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRecord {
    pub target: LabelTarget,
    /// `label` 1.
    pub is_fraud: bool,
    pub labelled_at: OffsetDateTime,
    pub source: Option<String>,
}

/// The record as written: `{"prediction_id"|"transaction_id": …, "label": 0|1, "labelled_at": …, "source"?: …}`.
#[derive(Serialize, Deserialize)]
struct LabelJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    prediction_id: Option<PredictionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<&'a str>,
    label: u8,
    #[serde(with = "time::serde::rfc3339")]
    labelled_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

impl Serialize for LabelRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (prediction_id, transaction_id) = match &self.target {
            LabelTarget::Prediction(id) => (Some(*id), None),
            LabelTarget::Transaction(id) => (None, Some(id.as_str())),
        };
        LabelJson {
            prediction_id,
            transaction_id,
            label: u8::from(self.is_fraud),
            labelled_at: self.labelled_at.to_offset(UtcOffset::UTC),
            source: self.source.as_deref(),
        }
        .serialize(serializer)
    }
}

/// What is wrong with one field of one record. `record` is the 0-based index in a `POST /labels` body, or the
/// 1-based line of a file (the header of a CSV is line 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelError {
    pub record: usize,
    pub field: String,
    pub problem: String,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}: {}: {}", self.record, self.field, self.problem)
    }
}

/// The records of a body or file that are valid, each with its index (or line), and the problems of the others.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedLabels {
    pub records: Vec<(usize, LabelRecord)>,
    pub errors: Vec<LabelError>,
}

impl ParsedLabels {
    /// Indices (or lines) of the records that had at least one problem.
    pub fn rejected_records(&self) -> usize {
        let mut records: Vec<usize> = self.errors.iter().map(|e| e.record).collect();
        records.dedup();
        records.len()
    }

    pub fn push(&mut self, record: usize, result: Result<LabelRecord, FieldProblems>) {
        match result {
            Ok(r) => self.records.push((record, r)),
            Err(problems) => {
                self.errors.extend(problems.into_iter().map(|(field, problem)| LabelError { record, field, problem }))
            }
        }
    }
}

/// A record's fields as text (CSV cells, or JSON strings and numbers), before they are checked.
#[derive(Debug, Default, Clone)]
pub struct LabelFields {
    pub prediction_id: Option<String>,
    pub transaction_id: Option<String>,
    /// `"1"` or `"0"`.
    pub label: Option<String>,
    pub labelled_at: Option<String>,
    pub source: Option<String>,
}

/// `(field, problem)` pairs of one record.
pub type FieldProblems = Vec<(String, String)>;

impl LabelFields {
    /// The label these fields make, or every problem, naming its field; `problems` are those already found (a
    /// field reported there is not reported again as missing). `now` bounds `labelled_at`: no labels from the
    /// future beyond [`CLOCK_SKEW`].
    pub fn into_record(self, now: OffsetDateTime, mut problems: FieldProblems) -> Result<LabelRecord, FieldProblems> {
        let reported: Vec<String> = problems.iter().map(|(f, _)| f.clone()).collect();
        let mut problem = |field: &str, text: String| {
            if !(text.starts_with("is required") && reported.iter().any(|r| r == field)) {
                problems.push((field.to_string(), text));
            }
        };
        let target = match (self.prediction_id, self.transaction_id) {
            (Some(_), Some(_)) => {
                problem("transaction_id", "give prediction_id or transaction_id, not both".into());
                None
            }
            (None, None) => {
                problem("prediction_id", "prediction_id or transaction_id is required".into());
                None
            }
            (Some(id), None) => match id.parse() {
                Ok(prediction_id) => Some(LabelTarget::Prediction(prediction_id)),
                Err(e) => {
                    problem("prediction_id", format!("{:?} is not a UUID ({e})", shown(&id)));
                    None
                }
            },
            (None, Some(id)) if id.len() > MAX_TRANSACTION_ID_BYTES => {
                problem("transaction_id", format!("is {} bytes; at most {MAX_TRANSACTION_ID_BYTES}", id.len()));
                None
            }
            (None, Some(id)) => Some(LabelTarget::Transaction(id)),
        };
        let is_fraud = match self.label.as_deref() {
            None => {
                problem("label", "is required (1 = fraud, 0 = legitimate)".into());
                None
            }
            Some("1") => Some(true),
            Some("0") => Some(false),
            Some(other) => {
                problem("label", format!("{:?} is not 1 (fraud) or 0 (legitimate)", shown(other)));
                None
            }
        };
        let labelled_at = match self.labelled_at.as_deref() {
            None => {
                problem("labelled_at", "is required (RFC 3339, e.g. 2026-11-23T10:00:00Z)".into());
                None
            }
            Some(text) => match OffsetDateTime::parse(text, &Rfc3339) {
                Err(e) => {
                    problem("labelled_at", format!("{:?} is not an RFC 3339 time ({e})", shown(text)));
                    None
                }
                Ok(t) if t.checked_to_offset(UtcOffset::UTC).is_none() => {
                    problem("labelled_at", format!("{text:?} is out of range in UTC"));
                    None
                }
                Ok(t) if t > now + CLOCK_SKEW => {
                    problem("labelled_at", format!("{text:?} is in the future"));
                    None
                }
                Ok(t) => Some(t.to_offset(UtcOffset::UTC)),
            },
        };
        if let Some(source) = &self.source {
            if source.len() > MAX_SOURCE_BYTES {
                problem("source", format!("is {} bytes; at most {MAX_SOURCE_BYTES}", source.len()));
            }
        }
        match (target, is_fraud, labelled_at) {
            (Some(target), Some(is_fraud), Some(labelled_at)) if problems.is_empty() => {
                Ok(LabelRecord { target, is_fraud, labelled_at, source: self.source })
            }
            _ => Err(problems),
        }
    }
}

/// A bad value as quoted back in an error: cut to 64 characters.
pub fn shown(text: &str) -> String {
    crate::schema::shown_name(text)
}

/// Unknown fields of one record listed at most this many times (the rest are counted).
const MAX_UNKNOWN_FIELDS_LISTED: usize = 5;

/// One JSON object as a label record.
fn record_from_json(object: &Map<String, Value>, now: OffsetDateTime) -> Result<LabelRecord, FieldProblems> {
    let mut fields = LabelFields::default();
    let mut problems = Vec::new();
    let mut unknown = 0;
    for (key, value) in object {
        let slot = match key.as_str() {
            "prediction_id" => &mut fields.prediction_id,
            "transaction_id" => &mut fields.transaction_id,
            "label" => &mut fields.label,
            "labelled_at" => &mut fields.labelled_at,
            "source" => &mut fields.source,
            other => {
                unknown += 1;
                if unknown <= MAX_UNKNOWN_FIELDS_LISTED {
                    problems.push((shown(other), format!("unknown field (a label has {})", LABEL_FIELDS.join(", "))));
                }
                continue;
            }
        };
        *slot = match (key.as_str(), value) {
            (_, Value::Null) => None,
            // 1 and 0 as JSON numbers; `true`, "1" or 1.0 are refused rather than guessed at.
            ("label", Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
            ("label", other) => {
                problems.push(("label".into(), format!("{other} is not the number 1 (fraud) or 0 (legitimate)")));
                continue;
            }
            (_, Value::String(s)) => Some(s.clone()),
            (field, other) => {
                problems.push((field.to_string(), format!("must be a string, got {}", json_type_name(other))));
                continue;
            }
        };
    }
    if unknown > MAX_UNKNOWN_FIELDS_LISTED {
        problems.push(("…".into(), format!("and {} more unknown field(s)", unknown - MAX_UNKNOWN_FIELDS_LISTED)));
    }
    fields.into_record(now, problems)
}

/// A `POST /labels` body: `{"labels": [ {record}, … ]}` with 1 to [`MAX_LABELS_PER_REQUEST`] records. Bad records
/// are reported by index; only a body that is not that shape at all is an error.
pub fn parse_request(body: &[u8], now: OffsetDateTime) -> Result<ParsedLabels, BodyError> {
    let value: Value = serde_json::from_slice(body).map_err(BodyError::from)?;
    let Value::Object(mut top) = value else {
        return Err(BodyError::WrongShape(format!("expected {{\"labels\": [...]}}, got {}", json_type_name(&value))));
    };
    let labels = top.remove("labels").ok_or_else(|| BodyError::WrongShape("no \"labels\" array".into()))?;
    if let Some(extra) = top.keys().next() {
        return Err(BodyError::WrongShape(format!(
            "unknown field {:?} (the body is {{\"labels\": [...]}})",
            shown(extra)
        )));
    }
    let Value::Array(items) = labels else {
        return Err(BodyError::WrongShape(format!("\"labels\" must be an array, got {}", json_type_name(&labels))));
    };
    if items.is_empty() || items.len() > MAX_LABELS_PER_REQUEST {
        return Err(BodyError::BatchSize { items: "labels", got: items.len(), max: MAX_LABELS_PER_REQUEST });
    }
    let mut parsed = ParsedLabels::default();
    for (i, item) in items.iter().enumerate() {
        let result = match item {
            Value::Object(object) => record_from_json(object, now),
            other => Err(vec![("labels".into(), format!("item must be an object, got {}", json_type_name(other)))]),
        };
        parsed.push(i, result);
    }
    Ok(parsed)
}

/// JSON lines: one record per non-blank line (1-based line numbers in errors).
pub fn parse_json_lines(bytes: &[u8], now: OffsetDateTime) -> ParsedLabels {
    let mut parsed = ParsedLabels::default();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let result = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(object)) => record_from_json(&object, now),
            Ok(other) => Err(vec![("line".into(), format!("must be a JSON object, got {}", json_type_name(&other)))]),
            Err(e) => Err(vec![("line".into(), format!("not valid JSON: {e}"))]),
        };
        parsed.push(i + 1, result);
    }
    parsed
}

/// The records as JSON lines, the stored form.
pub fn encode_json_lines<'a>(records: impl IntoIterator<Item = &'a LabelRecord>) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        serde_json::to_writer(&mut out, record).expect("a label always serialises");
        out.push(b'\n');
    }
    out
}

/// `labels/dt=YYYY-MM-DD/<batch_id>.jsonl`: the UTC day the batch arrived, and its id.
pub fn label_object_key(received_at: OffsetDateTime, batch_id: Uuid) -> String {
    format!("{}{batch_id}.jsonl", label_partition_prefix(received_at.to_offset(UtcOffset::UTC).date()))
}

/// `labels/dt=YYYY-MM-DD/`.
pub fn label_partition_prefix(day: Date) -> String {
    format!("{LABEL_PREFIX}dt={:04}-{:02}-{:02}/", day.year(), u8::from(day.month()), day.day())
}

/// The arrival day of an object under `labels/dt=YYYY-MM-DD/`, or `None` for any other key.
pub fn label_partition_day(key: &str) -> Option<Date> {
    let rest = key.strip_prefix(LABEL_PREFIX)?.strip_prefix("dt=")?;
    let day = rest.get(..10)?;
    rest[10..].starts_with('/').then_some(())?;
    Date::parse(day, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Whether `id` can name a prediction of this service: predict makes UUIDv7 ids from the prediction's own time, so
/// an id of another version, or one whose time is in the future, names nothing it scored. The cheap check at
/// ingestion (no I/O); whether the prediction exists is settled when the quality check joins labels to the logs.
pub fn could_name_a_prediction(id: PredictionId, now: OffsetDateTime) -> bool {
    id.time().is_ok_and(|t| t <= now + CLOCK_SKEW)
}

/// What [`LabelSet::insert`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// The first label for its target.
    New,
    /// The same label (and time) as the one held: counted once.
    Duplicate,
    /// Later than (or, at the same time, fraud over legitimate) the one held: replaces it.
    Replaced,
    /// Earlier than the one held: ignored.
    Superseded,
}

/// One truth per target, whatever order the records come in (see the module docs for the rule). Labels by
/// prediction id and by transaction id are kept apart, so the quality check's per-row lookup by the logged
/// transaction id is a `&str` lookup, with nothing allocated per row.
#[derive(Debug, Default, Clone)]
pub struct LabelSet {
    by_prediction: HashMap<PredictionId, LabelRecord>,
    by_transaction: HashMap<String, LabelRecord>,
}

impl LabelSet {
    pub fn insert(&mut self, record: LabelRecord) -> Insert {
        match &record.target {
            LabelTarget::Prediction(id) => keep_latest(&mut self.by_prediction, *id, record),
            LabelTarget::Transaction(t) => keep_latest(&mut self.by_transaction, t.clone(), record),
        }
    }

    /// The truth about a prediction: the later of its label by id and its label by transaction id.
    pub fn truth(&self, prediction_id: PredictionId, transaction_id: Option<&str>) -> Option<&LabelRecord> {
        let by_id = self.by_prediction.get(&prediction_id);
        let by_transaction = transaction_id.and_then(|t| self.by_transaction.get(t));
        match (by_id, by_transaction) {
            (Some(a), Some(b)) => Some(if (b.labelled_at, b.is_fraud) > (a.labelled_at, a.is_fraud) { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    pub fn len(&self) -> usize {
        self.by_prediction.len() + self.by_transaction.len()
    }

    /// Distinct labels by transaction id.
    pub fn transaction_labels(&self) -> usize {
        self.by_transaction.len()
    }

    /// How many distinct labels by transaction id name one of `transaction_ids` (the rows a quality check read);
    /// nothing is looked up in the usual case of no such labels.
    pub fn transaction_labels_among<'a>(&self, transaction_ids: impl IntoIterator<Item = &'a str>) -> usize {
        let mut unmatched: std::collections::HashSet<&str> = self.by_transaction.keys().map(String::as_str).collect();
        for t in transaction_ids {
            if unmatched.is_empty() {
                break;
            }
            unmatched.remove(t);
        }
        self.by_transaction.len() - unmatched.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_prediction.is_empty() && self.by_transaction.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &LabelRecord> {
        self.by_prediction.values().chain(self.by_transaction.values())
    }
}

/// Inserts `record` under `key` unless the label held there is later (the rule in the module docs).
fn keep_latest<K: std::hash::Hash + Eq>(labels: &mut HashMap<K, LabelRecord>, key: K, record: LabelRecord) -> Insert {
    use std::collections::hash_map::Entry;
    match labels.entry(key) {
        Entry::Vacant(v) => {
            v.insert(record);
            Insert::New
        }
        Entry::Occupied(mut o) => {
            let order = |r: &LabelRecord| (r.labelled_at, r.is_fraud);
            if order(&record) == order(o.get()) {
                Insert::Duplicate
            } else if order(&record) > order(o.get()) {
                o.insert(record);
                Insert::Replaced
            } else {
                Insert::Superseded
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
    const ID: &str = "0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b";

    fn parse(body: Value) -> ParsedLabels {
        parse_request(&serde_json::to_vec(&body).unwrap(), NOW).unwrap()
    }

    #[test]
    fn a_record_round_trips_through_json_lines() {
        let parsed = parse(json!({"labels": [
            {"prediction_id": ID, "label": 1, "labelled_at": "2026-11-23T10:00:00+02:00", "source": "chargeback"},
            {"transaction_id": "order-77", "label": 0, "labelled_at": "2026-11-22T09:00:00Z"},
        ]}));
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let records: Vec<LabelRecord> = parsed.records.iter().map(|(_, r)| r.clone()).collect();
        let bytes = encode_json_lines(&records);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            format!(
                r#"{{"prediction_id":"{ID}","label":1,"labelled_at":"2026-11-23T08:00:00Z","source":"chargeback"}}"#
            )
        );
        let again = parse_json_lines(&bytes, NOW);
        assert_eq!(again.records.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), records);
        assert_eq!(again.records.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn every_bad_field_is_named_with_its_record() {
        let parsed = parse(json!({"labels": [
            {"prediction_id": ID, "label": 1, "labelled_at": "2026-11-23T10:00:00Z"},
            {"prediction_id": "not-a-uuid", "label": 2, "labelled_at": "yesterday", "colour": "red"},
            {"label": true, "labelled_at": "2026-11-24T10:00:00Z"},
            {"prediction_id": ID, "transaction_id": "t", "label": "1", "labelled_at": "2026-11-23T10:00:00Z"},
            {"prediction_id": ID, "label": 1, "labelled_at": "2026-11-23T10:00:00Z", "source": "x".repeat(65)},
            "a string",
        ]}));
        assert_eq!(parsed.records.len(), 1);
        let problems: Vec<(usize, &str)> = parsed.errors.iter().map(|e| (e.record, e.field.as_str())).collect();
        assert_eq!(
            problems,
            [
                (1, "colour"),
                (1, "prediction_id"),
                (1, "label"),
                (1, "labelled_at"),
                (2, "label"),
                (2, "prediction_id"),
                (2, "labelled_at"),
                (3, "label"),
                (3, "transaction_id"),
                (4, "source"),
                (5, "labels"),
            ]
        );
        assert_eq!(parsed.rejected_records(), 5);
        let future = parsed.errors.iter().find(|e| e.record == 2 && e.field == "labelled_at").unwrap();
        assert!(future.problem.contains("in the future"), "{future}");
        let not_required = parsed.errors.iter().find(|e| e.record == 2 && e.field == "label").unwrap();
        assert!(not_required.problem.contains("not the number"), "{not_required}");
    }

    #[test]
    fn bodies_of_the_wrong_shape_are_refused_whole() {
        let refuse = |body: &[u8]| parse_request(body, NOW).unwrap_err();
        assert!(matches!(refuse(b"{"), BodyError::MalformedJson(_)));
        assert!(matches!(refuse(b"[]"), BodyError::WrongShape(_)));
        assert!(matches!(refuse(br#"{"labels": {}}"#), BodyError::WrongShape(_)));
        assert!(matches!(refuse(br#"{"labels": [], "x": 1}"#), BodyError::WrongShape(_)));
        assert_eq!(
            refuse(br#"{"labels": []}"#),
            BodyError::BatchSize { items: "labels", got: 0, max: MAX_LABELS_PER_REQUEST }
        );
    }

    #[test]
    fn later_labels_replace_earlier_ones_and_repeats_count_once() {
        let label = |is_fraud, at| LabelRecord {
            target: LabelTarget::Prediction(ID.parse().unwrap()),
            is_fraud,
            labelled_at: at,
            source: None,
        };
        let mut set = LabelSet::default();
        assert_eq!(set.insert(label(false, datetime!(2026-11-20 00:00 UTC))), Insert::New);
        assert_eq!(set.insert(label(false, datetime!(2026-11-20 00:00 UTC))), Insert::Duplicate);
        assert_eq!(set.insert(label(true, datetime!(2026-12-20 00:00 UTC))), Insert::Replaced);
        assert_eq!(set.insert(label(false, datetime!(2026-11-21 00:00 UTC))), Insert::Superseded);
        assert_eq!(set.insert(label(false, datetime!(2026-12-20 00:00 UTC))), Insert::Superseded, "fraud wins a tie");
        assert_eq!(set.len(), 1);
        let id: PredictionId = ID.parse().unwrap();
        assert!(set.truth(id, None).unwrap().is_fraud);
        // A later label by transaction id outranks the one by prediction id.
        set.insert(LabelRecord {
            target: LabelTarget::Transaction("t-1".into()),
            is_fraud: false,
            labelled_at: datetime!(2027-01-01 00:00 UTC),
            source: None,
        });
        assert!(!set.truth(id, Some("t-1")).unwrap().is_fraud);
        assert!(set.truth(Uuid::nil().into(), Some("t-2")).is_none());
        // Repeats of a transaction id among the rows count once; ids without a label, and labels by prediction id,
        // not at all.
        assert_eq!((set.len(), set.transaction_labels()), (2, 1));
        assert_eq!(set.transaction_labels_among(["t-2", "t-1", "t-1"]), 1);
        assert_eq!(set.transaction_labels_among(["t-2"]), 0);
    }

    #[test]
    fn keys_are_partitioned_by_arrival_day() {
        let batch = Uuid::parse_str(ID).unwrap();
        let key = label_object_key(datetime!(2026-11-23 01:30 +03:00), batch);
        assert_eq!(key, format!("labels/dt=2026-11-22/{ID}.jsonl"));
        assert_eq!(label_partition_day(&key), Some(time::macros::date!(2026 - 11 - 22)));
        assert_eq!(label_partition_day("labels/chargebacks.csv"), None);
        assert_eq!(label_partition_day("labels/dt=2026-11-2/x"), None);
    }

    #[test]
    fn only_time_ordered_ids_from_the_past_can_name_a_prediction() {
        let now = NOW;
        assert!(could_name_a_prediction(PredictionId::new(now - Duration::DAY), now));
        assert!(could_name_a_prediction(PredictionId::new(now + CLOCK_SKEW), now));
        assert!(!could_name_a_prediction(Uuid::new_v4().into(), now));
        assert!(!could_name_a_prediction(PredictionId::new(now + Duration::HOUR), now));
    }
}

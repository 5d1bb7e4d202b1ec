//! The id predict answers each prediction with, and the one place that reads a time out of it.
//!
//! predict makes a UUIDv7 from the prediction's own time (to the millisecond), so the id alone says when the
//! prediction was made, and so which hourly partition (and object key) holds its log record: a lookup by id, a
//! label join or a window filter needs no GET to know where to look. The rule every reader applies: **only a
//! version-7 id carries a time.** Other UUIDs are still ids (an old client, a label naming something predict never
//! answered) and read, compare and print like any other; asking one for its time is a [`PredictionIdError`].
//!
//! On the wire it is the plain hyphenated UUID string, as a bare `uuid::Uuid` was: records, API bodies and label
//! files are byte for byte what they were.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::log_files::SINGLE_EXTENSION;
use crate::log_record::partition_prefix;

/// A prediction id: any UUID, and the time of a UUIDv7 (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PredictionId(Uuid);

/// Why an id carries no prediction time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PredictionIdError {
    #[error("{id} is not a UUIDv7 (it is a version {version} UUID): it carries no prediction time, so it names no partition")]
    NotVersion7 { id: Uuid, version: usize },
    /// A 48-bit millisecond count reaches the year 10889; times are kept to the year 9999.
    #[error("{0} carries a time after the year 9999")]
    TimeOutOfRange(Uuid),
}

impl PredictionId {
    /// The id of a prediction made at `at`: a UUIDv7 whose time is `at` (to the millisecond; a time before 1970
    /// reads as 1970, which no prediction of this service has).
    pub fn new(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        let seconds = u64::try_from(at.unix_timestamp()).unwrap_or(0);
        PredictionId(Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.nanosecond())))
    }

    /// When the prediction was made, to the millisecond; an error for an id that is not a UUIDv7.
    pub fn time(&self) -> Result<OffsetDateTime, PredictionIdError> {
        let version = self.0.get_version_num();
        let timestamp = self.0.get_timestamp().filter(|_| version == 7);
        let (seconds, nanos) = timestamp.ok_or(PredictionIdError::NotVersion7 { id: self.0, version })?.to_unix();
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
            .map_err(|_| PredictionIdError::TimeOutOfRange(self.0))
    }

    /// The partition holding its log record: `prediction-logs/dt=YYYY-MM-DD/hour=HH/` (a millisecond-truncated
    /// time never leaves the hour of the record's timestamp).
    pub fn partition(&self) -> Result<String, PredictionIdError> {
        self.time().map(partition_prefix)
    }

    /// The key of its log record in the per-prediction layout: `<partition><id>.json`.
    pub fn key(&self) -> Result<String, PredictionIdError> {
        Ok(format!("{}{self}{SINGLE_EXTENSION}", self.partition()?))
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for PredictionId {
    fn from(id: Uuid) -> Self {
        PredictionId(id)
    }
}

impl FromStr for PredictionId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(PredictionId)
    }
}

impl fmt::Display for PredictionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_id_made_at_a_time_gives_back_that_time_its_partition_and_key() {
        let id = PredictionId::new(datetime!(2026-11-22 05:04:05.678_9 +02:00));
        assert_eq!(id.time(), Ok(datetime!(2026-11-22 03:04:05.678 UTC)));
        assert_eq!(id.partition().unwrap(), "prediction-logs/dt=2026-11-22/hour=03/");
        assert_eq!(id.key().unwrap(), format!("prediction-logs/dt=2026-11-22/hour=03/{id}.json"));
        // The last instant of an hour stays in it.
        let last = PredictionId::new(datetime!(2026-11-22 03:59:59.999_999_999 UTC));
        assert_eq!(last.partition().unwrap(), "prediction-logs/dt=2026-11-22/hour=03/");
    }

    #[test]
    fn only_a_uuidv7_carries_a_time() {
        // v4 (random), v1 and v6 (Gregorian-time UUIDs, which `Uuid::get_timestamp` does read) are all refused alike.
        let v1 = Uuid::parse_str("c232ab00-9414-11ec-b3c8-9f6bdeced846").unwrap();
        let v6 = Uuid::parse_str("1ec9414c-232a-6b00-b3c8-9f6bdeced846").unwrap();
        for (uuid, version) in [(Uuid::new_v4(), 4), (v1, 1), (v6, 6), (Uuid::nil(), 0)] {
            let id = PredictionId::from(uuid);
            let refused = PredictionIdError::NotVersion7 { id: uuid, version };
            assert_eq!(id.time(), Err(refused));
            assert_eq!(id.partition(), Err(refused));
            assert_eq!(id.key(), Err(refused));
            assert!(refused
                .to_string()
                .starts_with(&format!("{uuid} is not a UUIDv7 (it is a version {version} UUID)")));
        }
        let beyond_9999 = PredictionId::from(Uuid::parse_str("ffffffff-ffff-7fff-bfff-ffffffffffff").unwrap());
        assert!(matches!(beyond_9999.time(), Err(PredictionIdError::TimeOutOfRange(_))));
    }

    #[test]
    fn it_reads_and_writes_as_the_plain_uuid_string() {
        let text = "0193a5b2-7c4e-7d8f-9a0b-1c2d3e4f5a6b";
        let id: PredictionId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PredictionId>(&format!("\"{text}\"")).unwrap(), id);
        assert_eq!(*id.as_uuid(), Uuid::parse_str(text).unwrap());
        assert!("not-a-uuid".parse::<PredictionId>().is_err());
        // Ids sort by time, as the UUIDs do.
        let earlier = PredictionId::new(datetime!(2026-11-22 03:00 UTC));
        assert!(earlier < PredictionId::new(datetime!(2026-11-22 03:00:00.001 UTC)));
    }
}

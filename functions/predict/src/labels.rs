//! `POST /labels`: ground-truth fraud labels in real time (an analyst's decision, a chargeback feed). The body is
//! parsed by `fraudwatch_core::label`; the valid records are written as one JSON-lines object with one PutObject
//! (`labels/dt=YYYY-MM-DD/<batch id>.jsonl`), so a batch is stored whole or not at all, and a retry after a failure
//! stores nothing twice that counts twice (the same label twice counts once).

use std::sync::Arc;

use fraudwatch_core::label::{encode_json_lines, label_object_key, LabelRecord};
use fraudwatch_core::store::{ObjectStore, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where labels are written: the data bucket (`LOG_BUCKET`), with predict's S3 client (its `PREDICT_S3_FALLBACK`
/// budget: 3 s in all, inside predict's 10 s timeout).
pub struct LabelStore {
    pub bucket: Arc<dyn ObjectStore>,
}

impl LabelStore {
    /// Writes `records` as one object named by the batch's arrival `at`; returns its key.
    pub async fn store<'a>(
        &self,
        records: impl IntoIterator<Item = &'a LabelRecord>,
        at: OffsetDateTime,
    ) -> Result<String, StoreError> {
        // A UUIDv7 batch id: object names sort by arrival.
        let key = label_object_key(at, Uuid::now_v7());
        self.bucket.put(&key, encode_json_lines(records), "application/x-ndjson").await?;
        Ok(key)
    }
}

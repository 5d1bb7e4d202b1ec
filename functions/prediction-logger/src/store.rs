//! Where records are written. A trait so tests can wrap the real S3 store (to kill the server at an
//! exact point mid-batch); production has one implementation, [`S3Store`].

use std::future::Future;

use aws_sdk_s3::error::DisplayErrorContext;
use fraudwatch_core::log_files::BATCH_EXTENSION;

/// An object store holding one object per key.
pub trait LogStore: Send + Sync {
    /// Writes (or overwrites) the object at `key`: a record's JSON, or a batched file.
    fn put(&self, key: &str, body: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("writing {key}: {detail}")]
pub struct StoreError {
    pub key: String,
    pub detail: String,
}

/// The bucket, through the real S3 client (whose retries handle throttling and brief outages).
pub struct S3Store {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl LogStore for S3Store {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type(key))
            .body(body.into())
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError { key: key.to_string(), detail: DisplayErrorContext(&e).to_string() })
    }
}

/// What the object at `key` holds. A batched file is a gzip file, not gzip-encoded JSON: no `Content-Encoding`,
/// so no HTTP client decompresses it on the way and every reader sees the bytes Athena reads.
fn content_type(key: &str) -> &'static str {
    if key.ends_with(BATCH_EXTENSION) {
        "application/gzip"
    } else {
        "application/json"
    }
}

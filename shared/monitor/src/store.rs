//! The S3 requests every reader and writer of the monitoring run is built on: a GET that tells a missing key
//! from a failure, a PUT, the concurrency limits, and the error that names operation, bucket and key.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;

/// GetObject requests in flight.
pub const GET_CONCURRENCY: usize = 64;
/// Partition prefixes listed at once.
pub(crate) const LIST_CONCURRENCY: usize = 8;

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

/// The object's bytes, `None` when there is no such key: a listed object can be gone by the time it is read
/// (a lifecycle expiration at the edge of the retention, a deletion), which is a fact to report, not a failed run.
pub(crate) async fn get_if_exists(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, S3Error> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => {
            let body = output.body.collect().await.map_err(|e| s3_error("GetObject", bucket, key, e))?;
            Ok(Some(body.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key() || s.code() == Some("NoSuchKey")) => Ok(None),
        Err(e) => Err(s3_error("GetObject", bucket, key, e)),
    }
}

/// What a reader reports for a listed object that was gone when read.
pub(crate) const GONE_WHEN_READ: &str = "deleted after it was listed (expired or removed)";

pub(crate) async fn put_object(
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

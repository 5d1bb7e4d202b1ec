//! The one seam between fraudwatch and its object store: every S3 call goes through [`ObjectStore`], so there is
//! one error type ([`StoreError`], naming operation, bucket and key), one rule for "no such key"
//! ([`ObjectStore::get_if_exists`] answers `None`) and one listing loop (every page).
//!
//! Two implementations: [`S3Store`] (feature `aws`), the real S3 through a client that carries its call's time
//! budget ([`crate::aws`]), and [`MemoryStore`], a bucket in memory with the same semantics for unit tests.
//! `tests/tests/store.rs` runs one test body against both (S3 being the real SDK against a real local server), so
//! they cannot drift apart.

use std::collections::BTreeMap;
use std::sync::Mutex;

use time::OffsetDateTime;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    /// When the object was last written (S3 lists it to the second); `None` if the store did not say.
    pub last_modified: Option<OffsetDateTime>,
}

/// One level of the tree under a prefix, `/` being the separator: what `ls` shows of a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folder {
    /// Objects whose key has no `/` after the prefix, in key order.
    pub objects: Vec<ListedObject>,
    /// The distinct `<prefix><name>/` of every deeper key, in order.
    pub subfolders: Vec<String>,
}

/// An object's bytes and the ETag a conditional write ([`ObjectStore::put_if_match`]) names it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedObject {
    pub body: Vec<u8>,
    /// `None` if the store's answer carried none (S3 always sends one).
    pub etag: Option<String>,
}

/// What [`ObjectStore::put_if_absent`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// An object was already at the key (or being written by a concurrent conditional write); it is unchanged.
    AlreadyExists,
}

/// What [`ObjectStore::put_if_match`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceOutcome {
    Replaced,
    /// The object is no longer the one the ETag named (or is gone, or is being written concurrently); unchanged.
    Changed,
}

/// A store call that failed: which call, on which object, and why (the SDK's whole error chain).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("S3 {operation} s3://{bucket}/{key}: {reason}")]
pub struct StoreError {
    /// The S3 operation, e.g. `GetObject`.
    pub operation: &'static str,
    pub bucket: String,
    /// The object's key, or the listed prefix.
    pub key: String,
    pub reason: String,
}

/// A bucket. Keys are S3 keys; listings are in key order (UTF-8 byte order, as S3 lists).
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The bucket's name, for messages.
    fn bucket(&self) -> &str;

    /// `s3://<bucket>/<key>`, as messages name an object.
    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket())
    }

    /// Calls `visit` with every object under `prefix`, in key order, a page at a time: memory stays one page
    /// however many objects there are.
    async fn for_each_object(
        &self,
        prefix: &str,
        visit: &mut (dyn FnMut(ListedObject) + Send),
    ) -> Result<(), StoreError>;

    /// Every object under `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let mut objects = Vec::new();
        self.for_each_object(prefix, &mut |o| objects.push(o)).await?;
        Ok(objects)
    }

    /// The objects directly under `prefix` and its subfolders (a listing with delimiter `/`).
    async fn list_folder(&self, prefix: &str) -> Result<Folder, StoreError>;

    /// The object's bytes and ETag, `None` when there is no such key.
    async fn get_versioned(&self, key: &str) -> Result<Option<VersionedObject>, StoreError>;

    /// The object's bytes, `None` when there is no such key.
    async fn get_if_exists(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_versioned(key).await?.map(|o| o.body))
    }

    /// Writes (or overwrites) the object at `key`.
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError>;

    /// Writes the object only if `key` holds none (`If-None-Match: *`).
    async fn put_if_absent(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<PutOutcome, StoreError>;

    /// Replaces the object only if it is still the one `etag` names (`If-Match`).
    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        etag: &str,
    ) -> Result<ReplaceOutcome, StoreError>;
}

/// A bucket in memory, with [`S3Store`]'s semantics: for unit tests of code that reads and writes objects.
#[derive(Debug)]
pub struct MemoryStore {
    bucket: String,
    objects: Mutex<BTreeMap<String, MemoryObject>>,
}

#[derive(Debug)]
struct MemoryObject {
    body: Vec<u8>,
    etag: String,
    last_modified: OffsetDateTime,
}

impl MemoryStore {
    /// An empty bucket named `bucket` (the name only appears in messages).
    pub fn new(bucket: impl Into<String>) -> Self {
        MemoryStore { bucket: bucket.into(), objects: Mutex::default() }
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, MemoryObject>> {
        // A panic while holding the lock cannot leave the map half-changed (every change is one insert).
        self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(objects: &mut BTreeMap<String, MemoryObject>, key: &str, body: Vec<u8>) {
        // Distinct per write, as S3's ETags are for distinct bytes; a quoted string, as S3 sends it.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let object = MemoryObject { body, etag: format!("\"{write}\""), last_modified: OffsetDateTime::now_utc() };
        objects.insert(key.to_string(), object);
    }

    fn listed(key: &str, object: &MemoryObject) -> ListedObject {
        ListedObject { key: key.to_string(), size: object.body.len() as u64, last_modified: Some(object.last_modified) }
    }
}

#[async_trait::async_trait]
impl ObjectStore for MemoryStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn for_each_object(
        &self,
        prefix: &str,
        visit: &mut (dyn FnMut(ListedObject) + Send),
    ) -> Result<(), StoreError> {
        let listed: Vec<ListedObject> = self
            .objects()
            .range(prefix.to_string()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, object)| Self::listed(key, object))
            .collect();
        listed.into_iter().for_each(visit);
        Ok(())
    }

    async fn list_folder(&self, prefix: &str) -> Result<Folder, StoreError> {
        let mut folder = Folder::default();
        let objects = self.objects();
        for (key, object) in objects.range(prefix.to_string()..).take_while(|(key, _)| key.starts_with(prefix)) {
            match key[prefix.len()..].find('/') {
                None => folder.objects.push(Self::listed(key, object)),
                Some(slash) => {
                    let subfolder = &key[..prefix.len() + slash + 1];
                    if folder.subfolders.last().is_none_or(|last| last != subfolder) {
                        folder.subfolders.push(subfolder.to_string());
                    }
                }
            }
        }
        Ok(folder)
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<VersionedObject>, StoreError> {
        Ok(self.objects().get(key).map(|o| VersionedObject { body: o.body.clone(), etag: Some(o.etag.clone()) }))
    }

    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        Self::insert(&mut self.objects(), key, body);
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<PutOutcome, StoreError> {
        let mut objects = self.objects();
        if objects.contains_key(key) {
            return Ok(PutOutcome::AlreadyExists);
        }
        Self::insert(&mut objects, key, body);
        Ok(PutOutcome::Created)
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        etag: &str,
    ) -> Result<ReplaceOutcome, StoreError> {
        let mut objects = self.objects();
        if objects.get(key).is_none_or(|o| o.etag != etag) {
            return Ok(ReplaceOutcome::Changed);
        }
        Self::insert(&mut objects, key, body);
        Ok(ReplaceOutcome::Replaced)
    }
}

#[cfg(feature = "aws")]
pub use s3::S3Store;

#[cfg(feature = "aws")]
mod s3 {
    use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::primitives::ByteStream;
    use time::OffsetDateTime;

    use super::{Folder, ListedObject, ObjectStore, PutOutcome, ReplaceOutcome, StoreError, VersionedObject};

    /// A bucket through the real S3 client, whose retries handle throttling and brief outages and whose time
    /// budget ([`crate::aws::CallBudget`]) bounds every call.
    #[derive(Debug, Clone)]
    pub struct S3Store {
        client: aws_sdk_s3::Client,
        bucket: String,
    }

    /// A conditional write's condition.
    enum Condition<'a> {
        None,
        IfAbsent,
        IfMatch(&'a str),
    }

    impl S3Store {
        pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
            S3Store { client, bucket: bucket.into() }
        }

        fn error(&self, operation: &'static str, key: &str, e: impl std::error::Error) -> StoreError {
            StoreError {
                operation,
                bucket: self.bucket.clone(),
                key: key.to_string(),
                reason: DisplayErrorContext(e).to_string(),
            }
        }

        /// A PutObject under `condition`; `false` when the condition failed.
        async fn put_under(
            &self,
            key: &str,
            body: Vec<u8>,
            content_type: &str,
            condition: Condition<'_>,
        ) -> Result<bool, StoreError> {
            let request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .body(ByteStream::from(body));
            // 412: the condition failed; 409: S3 saw a concurrent conditional write to the same key; 404 to an
            // If-Match: the object it named is gone.
            let (request, failed_condition): (_, &[&str]) = match condition {
                Condition::None => (request, &[]),
                Condition::IfAbsent => {
                    (request.if_none_match("*"), &["PreconditionFailed", "ConditionalRequestConflict"])
                }
                Condition::IfMatch(etag) => {
                    (request.if_match(etag), &["PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"])
                }
            };
            match request.send().await {
                Ok(_) => Ok(true),
                Err(e) if e.code().is_some_and(|code| failed_condition.contains(&code)) => Ok(false),
                Err(e) => Err(self.error("PutObject", key, e)),
            }
        }

        /// The listing pages of `prefix`, each handed to `page`.
        async fn for_each_page(
            &self,
            prefix: &str,
            delimiter: Option<&str>,
            mut page: impl FnMut(aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output) + Send,
        ) -> Result<(), StoreError> {
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(String::from))
                .into_paginator()
                .send();
            while let Some(output) = pages.next().await {
                page(output.map_err(|e| self.error("ListObjectsV2", prefix, e))?);
            }
            Ok(())
        }
    }

    /// The one rule for "there is no such object".
    fn is_no_such_key(e: &SdkError<GetObjectError, impl std::fmt::Debug>) -> bool {
        e.as_service_error().is_some_and(|s| s.is_no_such_key() || s.code() == Some("NoSuchKey"))
    }

    fn listed(object: &aws_sdk_s3::types::Object) -> Option<ListedObject> {
        Some(ListedObject {
            key: object.key()?.to_string(),
            size: object.size().and_then(|s| u64::try_from(s).ok()).unwrap_or_default(),
            last_modified: object.last_modified().and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
        })
    }

    #[async_trait::async_trait]
    impl ObjectStore for S3Store {
        fn bucket(&self) -> &str {
            &self.bucket
        }

        async fn for_each_object(
            &self,
            prefix: &str,
            visit: &mut (dyn FnMut(ListedObject) + Send),
        ) -> Result<(), StoreError> {
            self.for_each_page(prefix, None, |page| page.contents().iter().filter_map(listed).for_each(&mut *visit))
                .await
        }

        async fn list_folder(&self, prefix: &str) -> Result<Folder, StoreError> {
            let mut folder = Folder::default();
            self.for_each_page(prefix, Some("/"), |page| {
                folder.objects.extend(page.contents().iter().filter_map(listed));
                folder.subfolders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(String::from)));
            })
            .await?;
            Ok(folder)
        }

        async fn get_versioned(&self, key: &str) -> Result<Option<VersionedObject>, StoreError> {
            let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
                Ok(output) => output,
                Err(e) if is_no_such_key(&e) => return Ok(None),
                Err(e) => return Err(self.error("GetObject", key, e)),
            };
            let etag = output.e_tag.clone();
            let body = output.body.collect().await.map_err(|e| self.error("GetObject", key, e))?;
            Ok(Some(VersionedObject { body: body.into_bytes().to_vec(), etag }))
        }

        async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
            self.put_under(key, body, content_type, Condition::None).await.map(drop)
        }

        async fn put_if_absent(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<PutOutcome, StoreError> {
            Ok(match self.put_under(key, body, content_type, Condition::IfAbsent).await? {
                true => PutOutcome::Created,
                false => PutOutcome::AlreadyExists,
            })
        }

        async fn put_if_match(
            &self,
            key: &str,
            body: Vec<u8>,
            content_type: &str,
            etag: &str,
        ) -> Result<ReplaceOutcome, StoreError> {
            Ok(match self.put_under(key, body, content_type, Condition::IfMatch(etag)).await? {
                true => ReplaceOutcome::Replaced,
                false => ReplaceOutcome::Changed,
            })
        }
    }
}

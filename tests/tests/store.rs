//! The object-store seam: one test body run against the real S3 client on a real local server (s3s-fs) and against
//! the in-memory store the unit tests use, so the two cannot mean different things.

use std::sync::Arc;

use fraudwatch_core::store::{
    Folder, ListedObject, MemoryStore, ObjectStore, PutOutcome, ReplaceOutcome, S3Store, StoreError,
};
use fraudwatch_tests::S3Server;
use futures::stream::{self, StreamExt, TryStreamExt};

const BUCKET: &str = "fraudwatch-store";
/// More keys than one ListObjectsV2 page holds (1,000), so listing must follow the continuation.
const MANY: usize = 1_050;

/// Everything a caller may rely on, in one body.
async fn behaves_as_a_bucket(store: Arc<dyn ObjectStore>) {
    assert_eq!(store.bucket(), BUCKET);
    assert_eq!(store.location("a/b.json"), format!("s3://{BUCKET}/a/b.json"));

    // Not found is an answer, not an error.
    assert_eq!(store.get_if_exists("nothing/here.json").await.unwrap(), None);
    assert_eq!(store.get_versioned("nothing/here.json").await.unwrap(), None);

    // put writes and overwrites.
    store.put("plain.json", b"one".to_vec(), "application/json").await.unwrap();
    store.put("plain.json", b"two".to_vec(), "application/json").await.unwrap();
    assert_eq!(store.get_if_exists("plain.json").await.unwrap().as_deref(), Some(&b"two"[..]));

    // put_if_absent writes once; the second write changes nothing.
    assert_eq!(
        store.put_if_absent("once.json", b"first".to_vec(), "application/json").await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store.put_if_absent("once.json", b"second".to_vec(), "application/json").await.unwrap(),
        PutOutcome::AlreadyExists
    );
    assert_eq!(store.get_if_exists("once.json").await.unwrap().as_deref(), Some(&b"first"[..]));

    // put_if_match replaces only the version it read.
    let read = store.get_versioned("once.json").await.unwrap().unwrap();
    assert_eq!(read.body, b"first");
    let etag = read.etag.expect("an ETag");
    assert_eq!(
        store.put_if_match("once.json", b"third".to_vec(), "application/json", &etag).await.unwrap(),
        ReplaceOutcome::Replaced
    );
    assert_eq!(
        store.put_if_match("once.json", b"fourth".to_vec(), "application/json", &etag).await.unwrap(),
        ReplaceOutcome::Changed,
        "the ETag read before the replacement no longer names the object"
    );
    assert_eq!(store.get_if_exists("once.json").await.unwrap().as_deref(), Some(&b"third"[..]));

    // Listing: every page, key order, only the prefix, sizes.
    let keys: Vec<String> = (0..MANY).map(|i| format!("many/{:02}/{i:05}.json", i % 7)).collect();
    // An object's size is its index mod 5: sizes that differ from one key to the next.
    let size_of = |key: &str| key["many/00/".len().."many/00/00000".len()].parse::<usize>().unwrap() % 5;
    stream::iter(keys.iter().cloned())
        .map(|key| {
            let store = &store;
            async move { store.put(&key, vec![b'x'; size_of(&key)], "application/json").await }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    store.put("manyx.json", b"beside the prefix".to_vec(), "application/json").await.unwrap();
    store.put("many/top.json", b"top".to_vec(), "application/json").await.unwrap();
    let listed = store.list("many/").await.unwrap();
    let mut expected: Vec<String> = keys.clone();
    expected.push("many/top.json".into());
    expected.sort();
    assert_eq!(listed.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), expected);
    for ListedObject { key, size, last_modified } in &listed {
        let len = if key == "many/top.json" { 3 } else { size_of(key) };
        assert_eq!(*size, len as u64, "{key}");
        assert!(last_modified.is_some(), "{key}");
    }
    assert!(store.list("nothing/").await.unwrap().is_empty());

    // One level: the objects directly under the prefix, and the subfolders once each, in order.
    let Folder { objects, subfolders } = store.list_folder("many/").await.unwrap();
    assert_eq!(objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["many/top.json"]);
    assert_eq!(subfolders, (0..7).map(|d| format!("many/{d:02}/")).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_memory_store_behaves_as_a_bucket() {
    behaves_as_a_bucket(Arc::new(MemoryStore::new(BUCKET))).await;
}

#[tokio::test]
async fn the_s3_store_behaves_as_a_bucket() {
    let server = S3Server::start().await.unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    behaves_as_a_bucket(Arc::new(S3Store::new(server.client(), BUCKET))).await;
}

#[tokio::test]
async fn an_s3_failure_names_the_operation_bucket_and_key() {
    let mut server = S3Server::start().await.unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let store = S3Store::new(server.client(), BUCKET);
    server.stop();
    let err = store.get_if_exists("dt=2026-12-08/a.json").await.unwrap_err();
    assert_eq!((err.operation, err.bucket.as_str(), err.key.as_str()), ("GetObject", BUCKET, "dt=2026-12-08/a.json"));
    assert!(err.reason.contains("Connection refused"), "the SDK's error chain is kept: {err}");
    assert!(err.to_string().starts_with(&format!("S3 GetObject s3://{BUCKET}/dt=2026-12-08/a.json: ")), "{err}");
    let StoreError { operation, key, .. } = store.list("labels/").await.unwrap_err();
    assert_eq!((operation, key.as_str()), ("ListObjectsV2", "labels/"));
    let err = store.put("x.json", Vec::new(), "application/json").await.unwrap_err();
    assert_eq!((err.operation, err.key.as_str()), ("PutObject", "x.json"));
}

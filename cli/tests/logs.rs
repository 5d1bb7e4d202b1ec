//! `fraudctl logs` run as a process against a real S3 server (s3s-fs), configured only through the
//! environment an operator would set (AWS_ENDPOINT_URL, S3_FORCE_PATH_STYLE, credentials).

use std::process::Output;

use std::io::Write as _;

use fraudwatch_core::log_files::BatchFile;
use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_core::prediction_id::PredictionId;
use fraudwatch_tests::{fraudctl_against, prediction_records, S3Server};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const BUCKET: &str = "fraudwatch-data";

/// `fraudctl` with the environment pointing at `s3` and nothing read from the user's AWS files.
fn fraudctl(s3: &S3Server, args: &[&str]) -> Output {
    fraudctl_against(env!("CARGO_BIN_EXE_fraudctl"), s3).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "fraudctl failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A bucket holding 36 records, one every 5 minutes from 01:30 to 04:25 on 2025-06-01, plus one corrupt
/// object (named like a record of 02:40).
struct Fixture {
    s3: S3Server,
    records: Vec<PredictionLogRecord>,
    corrupt_key: String,
}

async fn fixture() -> Fixture {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let records = prediction_records(36, datetime!(2025-06-01 01:30 UTC), Duration::minutes(5)).unwrap();
    let client = s3.client();
    for r in &records {
        client.put_object().bucket(BUCKET).key(r.s3_key()).body(r.encode().into()).send().await.unwrap();
    }
    let at = datetime!(2025-06-01 02:40:30 UTC);
    let corrupt_key = PredictionId::new(at).key().unwrap();
    client.put_object().bucket(BUCKET).key(&corrupt_key).body(b"{\"truncated".to_vec().into()).send().await.unwrap();
    Fixture { s3, records, corrupt_key }
}

impl Fixture {
    fn in_window(&self, since: OffsetDateTime, until: OffsetDateTime) -> Vec<&PredictionLogRecord> {
        self.records.iter().filter(|r| since <= r.timestamp && r.timestamp < until).collect()
    }
}

const SINCE: &str = "2025-06-01T02:30:00Z";
const UNTIL: &str = "2025-06-01T04:00:00Z";

#[tokio::test]
async fn list_shows_the_objects_of_the_window_oldest_first() {
    let f = fixture().await;
    let out = stdout(&fraudctl(&f.s3, &["logs", "list", "--bucket", BUCKET, "--since", SINCE, "--until", UNTIL]));
    let listed: Vec<&str> = out.lines().map(|l| l.rsplit(' ').next().unwrap()).collect();
    // 02:30 cuts the 02:00 partition in half: the ids' times decide.
    let mut expected: Vec<String> = f
        .in_window(datetime!(2025-06-01 02:30 UTC), datetime!(2025-06-01 04:00 UTC))
        .iter()
        .map(|r| r.s3_key())
        .collect();
    assert_eq!(expected.len(), 18);
    expected.push(f.corrupt_key.clone());
    expected.sort();
    assert_eq!(listed, expected);
    assert!(out.lines().all(|l| l.split_whitespace().count() == 3), "last-modified size key:\n{out}");
}

#[tokio::test]
async fn get_finds_a_record_from_its_id_alone() {
    let f = fixture().await;
    let record = &f.records[7];
    let out = stdout(&fraudctl(&f.s3, &["logs", "get", "--bucket", BUCKET, &record.prediction_id.to_string()]));
    assert_eq!(PredictionLogRecord::decode(out.trim_end().as_bytes()).unwrap(), *record);

    // A prediction in the last microsecond of an hour: predict derives the id from the record's own timestamp,
    // so the id names the timestamp's hour (one GET, no probing of neighbouring hours).
    let mut straddling = f.records[0].clone();
    straddling.timestamp = datetime!(2025-06-01 05:59:59.999_999 UTC);
    straddling.prediction_id = PredictionId::new(straddling.timestamp);
    let client = f.s3.client();
    client.put_object().bucket(BUCKET).key(straddling.s3_key()).body(straddling.encode().into()).send().await.unwrap();
    let out = stdout(&fraudctl(&f.s3, &["logs", "get", "--bucket", BUCKET, &straddling.prediction_id.to_string()]));
    assert_eq!(PredictionLogRecord::decode(out.trim_end().as_bytes()).unwrap(), straddling);

    let missing = fraudctl(&f.s3, &["logs", "get", "--bucket", BUCKET, &Uuid::now_v7().to_string()]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not logged"));
    let v4 = fraudctl(&f.s3, &["logs", "get", "--bucket", BUCKET, &Uuid::new_v4().to_string()]);
    assert!(String::from_utf8_lossy(&v4.stderr).contains("is not a UUIDv7"));
}

#[tokio::test]
async fn summary_counts_the_window_and_skips_corrupt_objects() {
    let f = fixture().await;
    let window = f.in_window(datetime!(2025-06-01 02:30 UTC), datetime!(2025-06-01 04:00 UTC));
    let fraud = window.iter().filter(|r| r.is_fraud).count() as u64;

    let args = ["logs", "summary", "--bucket", BUCKET, "--since", SINCE, "--until", UNTIL];
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&fraudctl(&f.s3, &[&args[..], &["--json"]].concat()))).unwrap();
    assert_eq!(json["records"], 18);
    assert_eq!(json["fraud"], fraud);
    assert_eq!(json["fraud_rate"], fraud as f64 / 18.0);
    assert_eq!(json["corrupt_objects"], 1);
    assert_eq!(json["model_versions"], serde_json::json!({"v1": 18}));
    let histogram: Vec<u64> = serde_json::from_value(json["probability_histogram"].clone()).unwrap();
    assert_eq!(histogram.len(), 10);
    assert_eq!(histogram.iter().sum::<u64>(), 18);

    let table = stdout(&fraudctl(&f.s3, &args));
    assert!(table.contains("records         18\n"), "{table}");
    assert!(table.contains("corrupt         1 skipped\n"), "{table}");
    assert!(table.contains("[0.9, 1.0]"), "{table}");

    // --hours counts back from now: nothing was logged in the last hour (an empty window has no fraud rate)...
    let recent = || -> serde_json::Value {
        let args = ["logs", "summary", "--bucket", BUCKET, "--hours", "1", "--json"];
        serde_json::from_str(&stdout(&fraudctl(&f.s3, &args))).unwrap()
    };
    let empty = recent();
    assert_eq!((empty["records"].as_u64(), empty["fraud_rate"].is_null()), (Some(0), true));
    // ...until a prediction is logged now: it is in the last hour's window, and the 2025 records are not.
    let now = prediction_records(1, OffsetDateTime::now_utc(), Duration::ZERO).unwrap().remove(0);
    f.s3.client().put_object().bucket(BUCKET).key(now.s3_key()).body(now.encode().into()).send().await.unwrap();
    let one = recent();
    assert_eq!((one["records"].as_u64(), one["model_versions"].clone()), (Some(1), serde_json::json!({"v1": 1})));
}

/// Both layouts in one bucket: the same 36 records, 01:xx and 02:xx as single objects (with the corrupt one),
/// 03:xx and 04:xx as batched files — 03:xx in two files plus a third repeating two of its records (a
/// redelivery) and a file whose second line is corrupt.
struct MixedFixture {
    s3: S3Server,
    records: Vec<PredictionLogRecord>,
    file_keys: Vec<String>,
}

async fn mixed_fixture() -> MixedFixture {
    let s3 = S3Server::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let records = prediction_records(36, datetime!(2025-06-01 01:30 UTC), Duration::minutes(5)).unwrap();
    let client = s3.client();
    let put = |key: String, body: Vec<u8>| {
        let client = client.clone();
        async move { client.put_object().bucket(BUCKET).key(key).body(body.into()).send().await.unwrap() }
    };
    let at = |hour: u8| move |r: &&PredictionLogRecord| r.timestamp.hour() == hour;
    for r in records.iter().filter(|r| r.timestamp.hour() < 3) {
        put(r.s3_key(), r.encode()).await;
    }
    let at_3: Vec<&PredictionLogRecord> = records.iter().filter(at(3)).collect();
    let at_4: Vec<&PredictionLogRecord> = records.iter().filter(at(4)).collect();
    let mut file_keys = Vec::new();
    for chunk in [&at_3[..6], &at_3[6..], &[at_3[2], at_3[9]][..], &at_4[..]] {
        let file = BatchFile::encode(chunk).unwrap();
        put(file.key.clone(), file.body).await;
        file_keys.push(file.key);
    }
    let corrupt_at = datetime!(2025-06-01 02:40:30 UTC);
    put(PredictionId::new(corrupt_at).key().unwrap(), b"{\"truncated".to_vec()).await;
    // A file named for one record of 03:xx whose text has a second, corrupt line.
    let mut extra = records[0].clone();
    extra.timestamp = datetime!(2025-06-01 03:31:00 UTC);
    extra.prediction_id = PredictionId::new(extra.timestamp);
    let key = BatchFile::encode(&[&extra]).unwrap().key;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&extra.encode()).unwrap();
    gzip.write_all(b"\n{\"schema_version\": 1, \"prediction_id\": \"not-a-uuid\"}\n").unwrap();
    put(key.clone(), gzip.finish().unwrap()).await;
    file_keys.push(key);
    let mut records = records;
    records.push(extra);
    MixedFixture { s3, records, file_keys }
}

#[tokio::test]
async fn summary_over_both_layouts_counts_each_record_once() {
    let f = mixed_fixture().await;
    let args = ["logs", "summary", "--bucket", BUCKET, "--since", SINCE, "--until", UNTIL, "--json"];
    let json: serde_json::Value = serde_json::from_str(&stdout(&fraudctl(&f.s3, &args))).unwrap();
    // 02:30..03:55 every 5 minutes (18) and the extra record of 03:31; the two repeated records once.
    let window: Vec<&PredictionLogRecord> = f
        .records
        .iter()
        .filter(|r| datetime!(2025-06-01 02:30 UTC) <= r.timestamp && r.timestamp < datetime!(2025-06-01 04:00 UTC))
        .collect();
    assert_eq!(window.len(), 19);
    assert_eq!(json["records"], 19);
    assert_eq!(json["duplicates"], 2);
    assert_eq!(json["corrupt_objects"], 2, "the corrupt object and the corrupt line");
    assert_eq!(json["fraud"], window.iter().filter(|r| r.is_fraud).count());
}

#[tokio::test]
async fn get_finds_a_record_inside_a_batched_file() {
    let f = mixed_fixture().await;
    let record = f.records.iter().find(|r| r.timestamp == datetime!(2025-06-01 03:50 UTC)).unwrap();
    let out = fraudctl(&f.s3, &["logs", "get", "--bucket", BUCKET, &record.prediction_id.to_string()]);
    assert_eq!(PredictionLogRecord::decode(stdout(&out).trim_end().as_bytes()).unwrap(), *record);
    let source = String::from_utf8_lossy(&out.stderr);
    assert!(source.contains(&f.file_keys[1]), "{source}");
    // An id of that hour that no file holds.
    let absent = PredictionId::new(datetime!(2025-06-01 03:52 UTC));
    let missing = fraudctl(&f.s3, &["logs", "get", "--bucket", BUCKET, &absent.to_string()]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not logged"));
}

#[tokio::test]
async fn list_shows_single_objects_and_batched_files() {
    let f = mixed_fixture().await;
    let out = fraudctl(&f.s3, &["logs", "list", "--bucket", BUCKET, "--since", SINCE, "--until", UNTIL]);
    let listed: Vec<String> = stdout(&out).lines().map(|l| l.rsplit(' ').next().unwrap().to_string()).collect();
    let singles = listed.iter().filter(|k| k.ends_with(".json")).count();
    let files: Vec<&String> = listed.iter().filter(|k| k.ends_with(".jsonl.gz")).collect();
    assert_eq!(singles, 7, "02:30..02:55 and the corrupt object");
    assert_eq!(files.len(), 4, "the 03:xx files; the 04:xx file starts after the window");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("11 objects (22 records by their names)"));
}

#[tokio::test]
async fn recover_writes_only_what_is_not_logged_in_either_layout_and_is_idempotent() {
    let f = mixed_fixture().await;
    let fallback = |r: &PredictionLogRecord| {
        serde_json::json!({"level": "ERROR", "message": "prediction_log_fallback", "s3_key": r.s3_key(), "record": r})
            .to_string()
    };
    let lost = prediction_records(2, datetime!(2025-06-01 05:10 UTC), Duration::minutes(1)).unwrap();
    let in_single = &f.records[1];
    let in_file = f.records.iter().find(|r| r.timestamp.hour() == 3).unwrap();
    // `--output text` puts a page's messages on one line, tab-separated.
    let export = format!(
        "{}\t{}\n{}\nnot json at all\n{}\n",
        fallback(&lost[0]),
        fallback(in_single),
        fallback(in_file),
        fallback(&lost[1])
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fallback.jsonl");
    std::fs::write(&file, export).unwrap();
    let args = ["logs", "recover", "--bucket", BUCKET, "--file", file.to_str().unwrap()];

    let out = fraudctl(&f.s3, &args);
    let printed = stdout(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 written, 2 already logged, 1 malformed"), "{out:?}");
    for r in &lost {
        assert!(printed.contains(&format!("written         s3://{BUCKET}/{}", r.s3_key())), "{printed}");
        let body = f.s3.client().get_object().bucket(BUCKET).key(r.s3_key()).send().await.unwrap();
        assert_eq!(PredictionLogRecord::decode(&body.body.collect().await.unwrap().into_bytes()).unwrap(), *r);
    }
    assert!(printed.contains(&f.file_keys[0]), "the record found in its batched file: {printed}");

    let again = fraudctl(&f.s3, &args);
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 written, 4 already logged, 1 malformed"), "{again:?}");
}

/// Without a region the SDK would fail only at the first request, unhelpfully: fraudctl says what to set, and where
/// scripts/up wrote the local stack's settings (its FRAUDWATCH_STACK_DIR, as scripts/up resolves it).
#[test]
fn without_a_region_fraudctl_names_the_variable_and_the_local_stack_s_settings() {
    let hint = |stack_dir: &str, tmpdir: &str| -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_fraudctl"))
            .args(["logs", "summary", "--bucket", BUCKET, "--hours", "1"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("FRAUDWATCH_STACK_DIR", stack_dir)
            .env("TMPDIR", tmpdir)
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(stderr.contains("no AWS region: set AWS_REGION"), "{stderr}");
        stderr
    };
    let hint_names = |stderr: &str, dir: &str| stderr.contains(&format!("`set -a; . {dir}/fraudctl.env; set +a`"));
    let stderr = hint("/srv/stack-of-this-test", "/var/tmp");
    assert!(hint_names(&stderr, "/srv/stack-of-this-test"), "{stderr}");
    // Blank counts as unset, as in scripts/up's ${FRAUDWATCH_STACK_DIR:-${TMPDIR:-/tmp}/fraudwatch-stack}.
    let stderr = hint("", "/var/tmp");
    assert!(hint_names(&stderr, "/var/tmp/fraudwatch-stack"), "{stderr}");
    let stderr = hint("", "");
    assert!(hint_names(&stderr, "/tmp/fraudwatch-stack"), "{stderr}");
}

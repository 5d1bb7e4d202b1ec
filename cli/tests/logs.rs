//! `fraudctl logs` run as a process against a real S3 server (s3s-fs), configured only through the
//! environment an operator would set (AWS_ENDPOINT_URL, S3_FORCE_PATH_STYLE, credentials).

use std::process::Output;

use fraudwatch_core::log_record::{new_prediction_id, partition_prefix, PredictionLogRecord};
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
    let corrupt_key = format!("{}{}.json", partition_prefix(at), new_prediction_id(at));
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
    straddling.prediction_id = new_prediction_id(straddling.timestamp);
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

    // --hours counts back from now: nothing was logged in the last hour.
    let recent: serde_json::Value = serde_json::from_str(&stdout(&fraudctl(
        &f.s3,
        &["logs", "summary", "--bucket", BUCKET, "--hours", "1", "--json"],
    )))
    .unwrap();
    assert_eq!((recent["records"].as_u64(), recent["fraud_rate"].is_null()), (Some(0), true));
}

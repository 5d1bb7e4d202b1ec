//! `fraudctl traffic`: replays real transactions against a predict endpoint — normal traffic, or one of
//! the incidents the alerts must catch (defined in `fraudwatch_traffic`) — and reports what came
//! back.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use fraudwatch_core::label::{encode_json_lines, LabelRecord, LabelTarget};
use fraudwatch_core::log_record::FeatureMap;
use fraudwatch_traffic::{build_traffic, read_labelled_csv, Incident, LabelledTransaction, DEFAULT_SPIKE_SHARE};
use futures::{stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::api_auth::{ApiAuth, ApiAuthArgs};

#[derive(Args)]
pub struct TrafficArgs {
    /// The predict API's base URL, e.g. http://127.0.0.1:9000/lambda-url/predict or the ApiUrl output (requests
    /// to an API Gateway URL are signed with SigV4: see --auth).
    #[arg(long, required_unless_present = "write_bodies")]
    endpoint: Option<String>,
    /// Write the request bodies to this file, one JSON object per line, instead of sending them: the same
    /// traffic for another load generator (wrk, oha, k6).
    #[arg(long, conflicts_with = "endpoint")]
    write_bodies: Option<PathBuf>,
    /// Real transactions: a gzip or plain CSV with columns V1..V28, Amount, Class.
    #[arg(long, default_value = "data/creditcard-sample-39960.csv.gz")]
    data: PathBuf,
    /// normal | fraud-spike | distribution-shift | concept-drift
    #[arg(long, default_value = "normal")]
    incident: Incident,
    /// How many transactions to send.
    #[arg(long, default_value_t = 1000)]
    rows: usize,
    /// Share of frauds in a `fraud-spike`, and of new-pattern frauds in a `concept-drift`.
    #[arg(long, default_value_t = DEFAULT_SPIKE_SHARE)]
    fraud_share: f64,
    /// Write the true label of every transaction that was scored (200) to this file, by the prediction id predict
    /// answered: JSON lines, or CSV when the name ends in .csv (`fraudctl labels push` uploads either).
    #[arg(long, conflicts_with = "write_bodies")]
    labels_out: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    auth: ApiAuthArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Default)]
struct Summary {
    incident: Option<Incident>,
    sent: usize,
    ok: usize,
    client_errors: usize,
    server_errors: usize,
    transport_errors: usize,
    true_frauds_sent: usize,
    flagged_as_fraud: usize,
    latency_ms_p50: f64,
    latency_ms_p99: f64,
    requests_per_second: f64,
    sample_predictions: Vec<serde_json::Value>,
    first_error: Option<String>,
    /// Labels written to `--labels-out`.
    labels_written: Option<usize>,
}

pub async fn run(args: TrafficArgs) -> Result<()> {
    let rows = read_labelled_csv(&args.data)?;
    let traffic = build_traffic(&rows, args.incident, args.rows, args.fraud_share, args.seed)?;
    let endpoint = match (&args.endpoint, &args.write_bodies) {
        (_, Some(path)) => {
            write_bodies(path, &traffic)?;
            eprintln!("wrote {} request bodies to {}", traffic.len(), path.display());
            return Ok(());
        }
        (Some(endpoint), None) => endpoint,
        (None, None) => bail!("--endpoint or --write-bodies is required"),
    };
    let (mut summary, labels) = send(&args, endpoint, traffic).await?;
    if let Some(path) = &args.labels_out {
        write_labels(path, &labels)?;
        summary.labels_written = Some(labels.len());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    if summary.server_errors + summary.transport_errors > 0 {
        bail!("{} request(s) failed", summary.server_errors + summary.transport_errors);
    }
    Ok(())
}

/// One request's outcome: status and body (or the transport error), latency, and whether it was a real fraud.
type Outcome = (Result<(u16, serde_json::Value), String>, Duration, bool);

fn write_bodies(path: &Path, traffic: &[LabelledTransaction]) -> Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for t in traffic {
        serde_json::to_writer(&mut out, &FeatureMap(t.features))?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("cannot write {}", path.display()))
}

/// The true labels of the scored transactions, as JSON lines or (`.csv`) CSV.
fn write_labels(path: &Path, labels: &[LabelRecord]) -> Result<()> {
    let bytes = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        let mut csv = String::from("prediction_id,label,labelled_at,source\n");
        for l in labels {
            let LabelTarget::Prediction(id) = &l.target else { continue };
            let at = l.labelled_at.format(&time::format_description::well_known::Rfc3339)?;
            let _ = writeln!(csv, "{id},{},{at},{}", u8::from(l.is_fraud), l.source.as_deref().unwrap_or(""));
        }
        csv.into_bytes()
    } else {
        encode_json_lines(labels)
    };
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

async fn send(
    args: &TrafficArgs,
    endpoint: &str,
    traffic: Vec<LabelledTransaction>,
) -> Result<(Summary, Vec<LabelRecord>)> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let auth = Arc::new(ApiAuth::for_endpoint(&args.auth, endpoint).await?);
    let url = format!("{}/predict", endpoint.trim_end_matches('/'));
    let progress = ProgressBar::new(traffic.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} transactions ({per_sec}, eta {eta})")
            .expect("a valid template"),
    );
    let started = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let results: Vec<Outcome> = stream::iter(traffic)
        .map(|LabelledTransaction { features, is_fraud }| {
            let http = http.clone();
            let url = url.clone();
            let auth = auth.clone();
            let progress = progress.clone();
            let sent = sent.clone();
            async move {
                let request = predict_request(&http, &url, features)
                    .and_then(|mut request| auth.authorize(&mut request).map(|()| request));
                let t = Instant::now();
                let result = match request {
                    Ok(request) => answer(&http, request).await,
                    Err(e) => Err(format!("{e:#}")),
                };
                sent.fetch_add(1, Ordering::Relaxed);
                progress.inc(1);
                (result, t.elapsed(), is_fraud)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    let mut summary =
        Summary { incident: Some(args.incident), sent: sent.load(Ordering::Relaxed), ..Summary::default() };
    // The truth, known because the traffic was built from labelled rows, stamped when the run ends.
    let labelled_at = time::OffsetDateTime::now_utc();
    let source = format!("fraudctl-traffic:{}", args.incident.name());
    let mut labels = Vec::new();
    let mut latencies: Vec<f64> = Vec::with_capacity(results.len());
    for (result, latency, is_fraud) in results {
        latencies.push(latency.as_secs_f64() * 1e3);
        summary.true_frauds_sent += usize::from(is_fraud);
        match result {
            Ok((200, body)) => {
                summary.ok += 1;
                if let Some(id) = body["prediction_id"].as_str().and_then(|id| id.parse().ok()) {
                    labels.push(LabelRecord {
                        target: LabelTarget::Prediction(id),
                        is_fraud,
                        labelled_at,
                        source: Some(source.clone()),
                    });
                }
                summary.flagged_as_fraud += usize::from(body["is_fraud"].as_bool() == Some(true));
                if summary.sample_predictions.len() < 5 {
                    summary.sample_predictions.push(body);
                }
            }
            Ok((status, body)) => {
                if status >= 500 {
                    summary.server_errors += 1;
                } else {
                    summary.client_errors += 1;
                }
                summary.first_error.get_or_insert_with(|| format!("{status}: {body}"));
            }
            Err(e) => {
                summary.transport_errors += 1;
                summary.first_error.get_or_insert(e);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let quantile =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    summary.latency_ms_p50 = quantile(0.5);
    summary.latency_ms_p99 = quantile(0.99);
    summary.requests_per_second = summary.sent as f64 / elapsed.as_secs_f64().max(1e-9);
    Ok((summary, labels))
}

/// `POST <url>` of one transaction: the 29 features by name, as the log record holds them.
pub(crate) fn predict_request(
    http: &reqwest::Client,
    url: &str,
    features: fraudwatch_core::schema::Features,
) -> Result<reqwest::Request> {
    Ok(http.post(url).json(&FeatureMap(features)).build()?)
}

/// The status and JSON body `request` is answered with, or why there is none.
async fn answer(http: &reqwest::Client, request: reqwest::Request) -> Result<(u16, serde_json::Value), String> {
    let response = http.execute(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.json().await.map(|body| (status, body)).map_err(|e| e.to_string())
}

fn print_summary(s: &Summary) {
    println!(
        "sent {} transactions: {} ok, {} client errors, {} server errors, {} transport errors",
        s.sent, s.ok, s.client_errors, s.server_errors, s.transport_errors
    );
    println!("true frauds sent: {}; flagged as fraud by the model: {}", s.true_frauds_sent, s.flagged_as_fraud);
    println!(
        "latency p50 {:.1} ms, p99 {:.1} ms; {:.0} requests/s",
        s.latency_ms_p50, s.latency_ms_p99, s.requests_per_second
    );
    for p in &s.sample_predictions {
        println!("  {p}");
    }
    if let Some(e) = &s.first_error {
        println!("first error: {e}");
    }
    if let Some(n) = s.labels_written {
        println!("true labels of {n} scored transactions written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraudwatch_core::schema::parse_transaction;

    #[test]
    fn labels_out_writes_json_lines_or_csv_that_read_back_as_the_same_labels() {
        let labels: Vec<LabelRecord> = (0..3)
            .map(|i| LabelRecord {
                target: LabelTarget::Prediction(fraudwatch_core::prediction_id::PredictionId::new(
                    time::OffsetDateTime::now_utc(),
                )),
                is_fraud: i == 1,
                labelled_at: time::macros::datetime!(2026-11-22 10:00:00 UTC),
                source: Some("fraudctl-traffic:concept-drift".into()),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for name in ["labels.jsonl", "labels.csv"] {
            let path = dir.path().join(name);
            write_labels(&path, &labels).unwrap();
            let now = time::OffsetDateTime::now_utc();
            let parsed =
                fraudwatch_monitor::quality::label_files::parse_label_file(name, &std::fs::read(&path).unwrap(), now)
                    .unwrap();
            assert!(parsed.errors.is_empty(), "{name}: {:?}", parsed.errors);
            assert_eq!(parsed.records.into_iter().map(|(_, r)| r).collect::<Vec<_>>(), labels, "{name}");
        }
    }

    #[test]
    fn written_bodies_are_the_transactions_predict_accepts() {
        let traffic: Vec<LabelledTransaction> = (0..3)
            .map(|i| LabelledTransaction {
                features: std::array::from_fn(|j| i as f32 * 100.0 + j as f32 + 0.25),
                is_fraud: i == 1,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bodies.jsonl");
        write_bodies(&path, &traffic).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), traffic.len());
        for (line, sent) in lines.iter().zip(&traffic) {
            let parsed = parse_transaction(line.as_bytes()).unwrap();
            assert_eq!(parsed.features, sent.features);
            assert_eq!(parsed.transaction_id, None);
        }
    }
}

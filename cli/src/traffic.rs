//! `fraudctl traffic`: replays real transactions against a predict endpoint — normal traffic, or one of
//! the incidents the alerts must catch (defined in `fraudwatch_shared::incident`) — and reports what came
//! back.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use fraudwatch_shared::incident::{
    build_traffic, read_labelled_csv, Incident, LabelledTransaction, DEFAULT_SPIKE_SHARE,
};
use fraudwatch_shared::schema::FEATURE_NAMES;
use futures::{stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

#[derive(Args)]
pub struct TrafficArgs {
    /// The predict API's base URL, e.g. http://127.0.0.1:9000/lambda-url/predict or the ApiUrl output.
    #[arg(long)]
    endpoint: String,
    /// Real transactions: a gzip or plain CSV with columns V1..V28, Amount, Class.
    #[arg(long, default_value = "../shared/data/creditcard-sample-39960.csv.gz")]
    data: PathBuf,
    /// normal | fraud-spike | distribution-shift
    #[arg(long, default_value = "normal")]
    incident: Incident,
    /// How many transactions to send.
    #[arg(long, default_value_t = 1000)]
    rows: usize,
    /// Share of frauds in a `fraud-spike`.
    #[arg(long, default_value_t = DEFAULT_SPIKE_SHARE)]
    fraud_share: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// `Authorization: Bearer <token>` for an API with the JWT authorizer.
    #[arg(long, env = "FRAUDWATCH_BEARER_TOKEN")]
    bearer_token: Option<String>,
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
}

pub async fn run(args: TrafficArgs) -> Result<()> {
    let rows = read_labelled_csv(&args.data)?;
    let traffic = build_traffic(&rows, args.incident, args.rows, args.fraud_share, args.seed)?;
    let summary = send(&args, traffic).await?;
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

async fn send(args: &TrafficArgs, traffic: Vec<LabelledTransaction>) -> Result<Summary> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let url = format!("{}/predict", args.endpoint.trim_end_matches('/'));
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
            let bearer = args.bearer_token.clone();
            let progress = progress.clone();
            let sent = sent.clone();
            async move {
                let body: serde_json::Map<String, serde_json::Value> =
                    FEATURE_NAMES.iter().zip(features).map(|(n, v)| (n.to_string(), serde_json::json!(v))).collect();
                let mut request = http.post(&url).json(&body);
                if let Some(token) = bearer {
                    request = request.bearer_auth(token);
                }
                let t = Instant::now();
                let result = match request.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        r.json::<serde_json::Value>().await.map(|v| (status, v)).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
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
    let mut latencies: Vec<f64> = Vec::with_capacity(results.len());
    for (result, latency, is_fraud) in results {
        latencies.push(latency.as_secs_f64() * 1e3);
        summary.true_frauds_sent += usize::from(is_fraud);
        match result {
            Ok((200, body)) => {
                summary.ok += 1;
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
    Ok(summary)
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
}

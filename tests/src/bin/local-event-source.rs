//! Lambda's SQS event source mapping, for the local stack: long-polls a queue and hands each batch to a
//! function under `cargo lambda watch` ([`EventSourceMapping`], the one emulation the tests use too). Failed
//! messages become visible again after the queue's visibility timeout and are retried, then redriven to the
//! DLQ, as on AWS.
//!
//! `local-event-source --queue-url URL --function prediction-logger --lambda-api http://127.0.0.1:9000`

use std::time::Duration;

use anyhow::{Context, Result};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use clap::Parser;
use fraudwatch_tests::event_source::EventSourceMapping;
use fraudwatch_tests::lambda_emulator;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    queue_url: String,
    /// The function's name under `cargo lambda watch` (its binary name).
    #[arg(long)]
    function: String,
    /// Where `cargo lambda watch` serves the Lambda invoke API.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    lambda_api: String,
    /// Messages per invocation (Lambda's BatchSize).
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let esm = EventSourceMapping {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        queue_url: args.queue_url.clone(),
        batch_size: args.batch_size.max(1),
        wait_seconds: 1,
        retry_at_once: false,
    };
    let http = reqwest::Client::new();
    eprintln!("local-event-source: {} -> {} at {}", args.queue_url, args.function, args.lambda_api);
    loop {
        match esm.deliver_once(|event| invoke(&http, &args.lambda_api, &args.function, event)).await {
            Ok(None) => {}
            Ok(Some((batch, Ok(response)))) => {
                let failed = response.batch_item_failures.len();
                eprintln!("batch of {}: {} done, {failed} to retry", batch.len(), batch.len() - failed);
            }
            Ok(Some((batch, Err(e)))) => {
                eprintln!("invocation failed, {} message(s) will be retried: {e:#}", batch.len());
            }
            Err(e) => {
                eprintln!("SQS failed (messages will be redelivered): {e:#}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Invokes the function; returns its response, with the ids it reported as failed.
async fn invoke(http: &reqwest::Client, lambda_api: &str, function: &str, event: SqsEvent) -> Result<SqsBatchResponse> {
    let body = lambda_emulator::invoke(http, lambda_api, function, &event, Duration::from_secs(120)).await?;
    serde_json::from_str(&body).with_context(|| format!("not an SqsBatchResponse: {body}"))
}

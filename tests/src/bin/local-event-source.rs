//! Lambda's SQS event source mapping, for the local stack: long-polls a queue, hands each batch to a
//! function under `cargo lambda watch` as a real `SqsEvent`, and deletes only the messages the function
//! did not list in `batchItemFailures` (ReportBatchItemFailures). Failed messages become visible again
//! after the queue's visibility timeout and are retried, then redriven to the DLQ, as on AWS.
//!
//! `local-event-source --queue-url URL --function prediction-logger --lambda-api http://127.0.0.1:9000`

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use clap::Parser;

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
    /// Messages per invocation (Lambda's BatchSize; SQS returns at most 10 per receive).
    #[arg(long, default_value_t = 10)]
    batch_size: i32,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let sdk = fraudwatch_shared::aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let http = reqwest::Client::new();
    let invoke_url = format!("{}/2015-03-31/functions/{}/invocations", args.lambda_api, args.function);
    let queue_arn = format!("arn:aws:sqs:{}:000000000000:local", sdk.region().map(|r| r.as_ref()).unwrap_or("local"));
    eprintln!("local-event-source: {} -> {}", args.queue_url, invoke_url);
    loop {
        let received = match sqs
            .receive_message()
            .queue_url(&args.queue_url)
            .max_number_of_messages(args.batch_size.clamp(1, 10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("receive failed: {}", aws_sdk_sqs::error::DisplayErrorContext(&e));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let messages = received.messages();
        if messages.is_empty() {
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id().map(String::from);
                record.receipt_handle = m.receipt_handle().map(String::from);
                record.body = m.body().map(String::from);
                record.md5_of_body = m.md5_of_body().map(String::from);
                record.attributes =
                    m.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
                record.event_source = Some("aws:sqs".into());
                record.event_source_arn = Some(queue_arn.clone());
                record
            })
            .collect();
        let failed = match invoke(&http, &invoke_url, &event).await {
            Ok(failed) => failed,
            Err(e) => {
                // A function error fails the whole batch: nothing is deleted, everything is retried.
                eprintln!("invocation failed, {} message(s) will be retried: {e:#}", messages.len());
                continue;
            }
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.message_id().is_some_and(|id| failed.contains(id)))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(String::from))
                    .build()
                    .ok()
            })
            .collect();
        eprintln!("batch of {}: {} done, {} to retry", messages.len(), done.len(), failed.len());
        if !done.is_empty() {
            if let Err(e) = sqs.delete_message_batch().queue_url(&args.queue_url).set_entries(Some(done)).send().await {
                eprintln!(
                    "delete failed (messages will be redelivered): {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                );
            }
        }
    }
}

/// Invokes the function; returns the ids it reported as failed.
async fn invoke(http: &reqwest::Client, url: &str, event: &SqsEvent) -> Result<HashSet<String>> {
    let response = http.post(url).json(event).timeout(Duration::from_secs(120)).send().await.context("invoke")?;
    let status = response.status();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let body = response.text().await.context("reading the invoke response")?;
    // A handler error arrives as 200 + X-Amz-Function-Error on AWS; an error body must never be read as
    // "no failures", which would delete the whole batch.
    if !status.is_success() || function_error || body.contains("\"errorType\"") {
        anyhow::bail!("{status}: {body}");
    }
    let parsed: SqsBatchResponse =
        serde_json::from_str(&body).with_context(|| format!("not an SqsBatchResponse: {body}"))?;
    Ok(parsed.batch_item_failures.into_iter().map(|f| f.item_identifier).collect())
}

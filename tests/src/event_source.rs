//! Lambda's SQS event source mapping, against a real queue: receive a batch, invoke the function with the
//! `SqsEvent` Lambda would build, delete the messages it did not report in `batchItemFailures`
//! (ReportBatchItemFailures). A failed invocation deletes nothing: the whole batch is redelivered. The one
//! emulation used by the tests (which invoke the handler in-process) and by `local-event-source` (which
//! invokes it under `cargo lambda watch`).

use std::collections::BTreeSet;
use std::future::Future;

use anyhow::Result;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};

/// SQS hands out at most this many messages per ReceiveMessage and takes at most this many per batch call.
const SQS_MAX_PER_CALL: usize = 10;

pub struct EventSourceMapping {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// Lambda's `BatchSize`: messages gathered into one invocation.
    pub batch_size: usize,
    /// Seconds a receive waits for messages (long polling); 0 returns at once when the queue is empty.
    pub wait_seconds: i32,
    /// Make failed messages visible again at once (tests), instead of after the queue's visibility timeout
    /// (as Lambda does, and the local stack).
    pub retry_at_once: bool,
}

impl EventSourceMapping {
    /// The mapping the tests use: batches of `batch_size`, no long polling, failed messages retried at once.
    pub fn for_tests(sqs: aws_sdk_sqs::Client, queue_url: &str, batch_size: usize) -> Self {
        EventSourceMapping { sqs, queue_url: queue_url.into(), batch_size, wait_seconds: 0, retry_at_once: true }
    }

    /// Up to `batch_size` messages, as Lambda gathers a batch.
    pub async fn receive(&self) -> Result<Vec<Message>> {
        let mut batch = Vec::new();
        while batch.len() < self.batch_size {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(SQS_MAX_PER_CALL.min(self.batch_size - batch.len()) as i32)
                .wait_time_seconds(if batch.is_empty() { self.wait_seconds } else { 0 })
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("ReceiveMessage: {}", DisplayErrorContext(e)))?;
            if out.messages().is_empty() {
                break;
            }
            batch.extend_from_slice(out.messages());
        }
        Ok(batch)
    }

    /// The event Lambda builds from a received batch.
    pub fn event(&self, messages: &[Message]) -> SqsEvent {
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
                record.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{}", self.queue_name()));
                record
            })
            .collect();
        event
    }

    fn queue_name(&self) -> &str {
        self.queue_url.rsplit('/').next().unwrap_or_default()
    }

    /// Deletes the messages the function handled; the failed ones are retried (at once, or after the
    /// visibility timeout).
    pub async fn settle(&self, messages: &[Message], response: &SqsBatchResponse) -> Result<()> {
        let failed: BTreeSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        let (retry, done): (Vec<&Message>, Vec<&Message>) =
            messages.iter().partition(|m| m.message_id().is_some_and(|id| failed.contains(id)));
        for chunk in done.chunks(SQS_MAX_PER_CALL) {
            let entries = chunk.iter().enumerate().map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(String::from))
                    .build()
                    .expect("id and receipt handle are set")
            });
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("DeleteMessageBatch: {}", DisplayErrorContext(e)))?;
            anyhow::ensure!(out.failed().is_empty(), "DeleteMessageBatch refused {:?}", out.failed());
        }
        if self.retry_at_once {
            self.make_visible(&retry).await?;
        }
        Ok(())
    }

    /// Makes received messages visible again at once.
    pub async fn make_visible(&self, messages: &[&Message]) -> Result<()> {
        for chunk in messages.chunks(SQS_MAX_PER_CALL) {
            let entries = chunk.iter().enumerate().map(|(i, m)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle().map(String::from))
                    .visibility_timeout(0)
                    .build()
                    .expect("id and receipt handle are set")
            });
            self.sqs
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("ChangeMessageVisibilityBatch: {}", DisplayErrorContext(e)))?;
        }
        Ok(())
    }

    /// One poll: receive a batch, invoke, settle. `None` when the queue had nothing to deliver. An invocation
    /// error settles nothing, so the whole batch is retried.
    pub async fn deliver_once<F, Fut>(&self, invoke: F) -> Result<Option<(Vec<Message>, Result<SqsBatchResponse>)>>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse>>,
    {
        let batch = self.receive().await?;
        if batch.is_empty() {
            return Ok(None);
        }
        let response = invoke(self.event(&batch)).await;
        match &response {
            Ok(r) => self.settle(&batch, r).await?,
            Err(_) if self.retry_at_once => self.make_visible(&batch.iter().collect::<Vec<_>>()).await?,
            Err(_) => {}
        }
        Ok(Some((batch, response)))
    }

    /// Messages still in the queue, visible or in flight.
    pub async fn remaining(&self) -> Result<usize> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("GetQueueAttributes: {}", DisplayErrorContext(e)))?;
        Ok(out.attributes().into_iter().flatten().filter_map(|(_, v)| v.parse::<usize>().ok()).sum())
    }
}

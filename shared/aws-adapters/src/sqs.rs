//! SQS: the job queues ([`SqsJobQueue`]), worker-mode polling ([`SqsMessageSource`]), a busy job's
//! delayed redelivery ([`delay_redelivery`]) and DLQ redrive ([`redrive`]).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
    QueueAttributeName,
};
use pipeline::batch::Delivery;
use pipeline::messages::JobMessage;
use pipeline::ports::{JobQueue, JobQueueName, MessageSource, ReceivedMessage};
use pipeline::{PortError, PortErrorKind};

use crate::classify::port_error;

/// The job queues, by name.
#[derive(Debug, Clone)]
pub struct SqsJobQueue {
    client: Client,
    urls: HashMap<JobQueueName, String>,
}

impl SqsJobQueue {
    /// Job queues at `urls`; sending to a queue without a URL fails (a configuration error).
    pub fn new(client: Client, urls: HashMap<JobQueueName, String>) -> SqsJobQueue {
        SqsJobQueue { client, urls }
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn send(&self, queue: JobQueueName, message: &JobMessage) -> Result<(), PortError> {
        let url = self.urls.get(&queue).ok_or_else(|| {
            PortError::new(
                "sqs:SendMessage",
                PortErrorKind::Rejected,
                format!("no queue URL configured for {queue:?}"),
            )
        })?;
        let body = serde_json::to_string(message)
            .map_err(|error| PortError::new("sqs:SendMessage", PortErrorKind::Rejected, error.to_string()))?;
        let mut send = self.client.send_message().queue_url(url).message_body(body);
        // Lambda sets the invocation's X-Ray trace header in the environment; passing it on links
        // the job's invocation to this one's trace.
        if let Some(trace) = std::env::var("_X_AMZN_TRACE_ID").ok().filter(|trace| !trace.is_empty()) {
            let attribute = MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(trace)
                .build()
                .map_err(|error| {
                    PortError::new("sqs:SendMessage", PortErrorKind::Rejected, error.to_string())
                })?;
            send =
                send.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, attribute);
        }
        send.send().await.map_err(|e| port_error("sqs:SendMessage", e))?;
        Ok(())
    }
}

/// One queue polled in worker mode.
#[derive(Debug, Clone)]
pub struct SqsMessageSource {
    client: Client,
    url: String,
}

impl SqsMessageSource {
    /// Polls the queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> SqsMessageSource {
        SqsMessageSource { client, url: url.into() }
    }
}

#[async_trait]
impl MessageSource for SqsMessageSource {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, PortError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
            .send()
            .await
            .map_err(|e| port_error("sqs:ReceiveMessage", e))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|message| {
                let attributes = message.attributes.unwrap_or_default();
                let delivery = Delivery::from_sqs(message.body.unwrap_or_default(), |name| {
                    attributes.get(&MessageSystemAttributeName::from(name)).map(String::as_str)
                });
                Some(ReceivedMessage { id: message.message_id?, receipt: message.receipt_handle?, delivery })
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| port_error("sqs:DeleteMessage", e))?;
        Ok(())
    }

    async fn extend_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), PortError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(timeout.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(|e| port_error("sqs:ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn visibility_timeout(&self) -> Result<Duration, PortError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .map_err(|e| port_error("sqs:GetQueueAttributes", e))?;
        let seconds = output
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::VisibilityTimeout))
            .and_then(|value| value.parse().ok())
            .unwrap_or(30);
        Ok(Duration::from_secs(seconds))
    }
}

/// Keeps a message that Lambda received from the queue `queue_arn` hidden for `delay` from now:
/// a busy job's message waits for the lease to end instead of using up a receive on each early
/// redelivery (Lambda reports it as a batch item failure, which leaves its visibility as it is).
pub async fn delay_redelivery(
    client: &Client,
    queue_arn: &str,
    receipt: &str,
    delay: Duration,
) -> Result<(), PortError> {
    // arn:<partition>:sqs:<region>:<account>:<name>
    let parts: Vec<&str> = queue_arn.split(':').collect();
    let [_, _, _, _, account, name] = parts[..] else {
        let message = format!("not an SQS queue ARN: {queue_arn:?}");
        return Err(PortError::new("sqs:GetQueueUrl", PortErrorKind::Rejected, message));
    };
    let url = client
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
        .map_err(|e| port_error("sqs:GetQueueUrl", e))?
        .queue_url
        .unwrap_or_default();
    SqsMessageSource::new(client.clone(), url).extend_visibility(receipt, delay).await
}

/// Moves every message of the dead-letter queue at `dlq_url` back to `target_url` (after a fix)
/// with SQS's own message move task (`StartMessageMoveTask`), which keeps each message's
/// attributes, and waits until the task ends. Returns how many moved.
pub async fn redrive(client: &Client, dlq_url: &str, target_url: &str) -> Result<usize, PortError> {
    let source = queue_arn(client, dlq_url).await?;
    let destination = queue_arn(client, target_url).await?;
    client
        .start_message_move_task()
        .source_arn(&source)
        .destination_arn(&destination)
        .send()
        .await
        .map_err(|e| port_error("sqs:StartMessageMoveTask", e))?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let tasks = client
            .list_message_move_tasks()
            .source_arn(&source)
            .max_results(1)
            .send()
            .await
            .map_err(|e| port_error("sqs:ListMessageMoveTasks", e))?;
        // The newest task of the queue is this one (SQS allows one running task per queue).
        let Some(task) = tasks.results().first() else { continue };
        let moved = usize::try_from(task.approximate_number_of_messages_moved()).unwrap_or(0);
        match task.status() {
            Some("COMPLETED") => return Ok(moved),
            Some(status @ ("FAILED" | "CANCELLED")) => {
                let reason = task.failure_reason().unwrap_or("no reason given");
                let message = format!("the move task ended {status} after {moved} message(s): {reason}");
                return Err(PortError::new("sqs:StartMessageMoveTask", PortErrorKind::Unavailable, message));
            }
            _ => {}
        }
    }
}

/// The ARN of the queue at `url`.
async fn queue_arn(client: &Client, url: &str) -> Result<String, PortError> {
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| port_error("sqs:GetQueueAttributes", e))?;
    output
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| {
            PortError::new("sqs:GetQueueAttributes", PortErrorKind::NotFound, format!("no ARN for {url}"))
        })
}

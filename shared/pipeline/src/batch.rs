//! A batch of queue messages handled concurrently, each on its own: a poison message never blocks
//! the rest, and only retryable failures are reported back (Lambda's partial batch response),
//! with the time before which retrying is pointless when there is one (a busy job's lease end).

use std::future::Future;

use tracing::{Instrument, error, info_span};

use crate::error::JobError;
use crate::time::Timestamp;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    /// SQS message id.
    pub id: String,
    /// Body.
    pub body: String,
    /// Receipt handle: changes this delivery's visibility.
    pub receipt: String,
    /// ARN of the queue it came from (`eventSourceARN`).
    pub queue_arn: String,
}

/// A message of the batch that SQS must deliver again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The message.
    pub message: BatchMessage,
    /// Redelivering it before this time is pointless (the job is busy until then): the caller hides
    /// the message until then rather than let each early delivery use up a receive.
    pub not_before: Option<Timestamp>,
}

/// Runs `handler` on every message concurrently and returns the messages to deliver again (those
/// that failed with a retryable error). Permanent failures were recorded by the handler and count
/// as handled.
pub async fn handle_batch<F, Fut>(messages: Vec<BatchMessage>, handler: F) -> Vec<Retry>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    let runs = messages.into_iter().map(|message| {
        let span = info_span!("message", message_id = %message.id);
        let run = handler(message.body.clone());
        async move {
            match run.await {
                Ok(()) => None,
                Err(failure) if failure.is_retryable() => {
                    error!(error = %failure, code = failure.code(), "message failed; SQS will deliver it again");
                    Some(Retry { message, not_before: failure.busy_until() })
                }
                Err(failure) => {
                    error!(error = %failure, code = failure.code(), "message failed permanently");
                    None
                }
            }
        }
        .instrument(span)
    });
    futures::future::join_all(runs).await.into_iter().flatten().collect()
}

#[cfg(feature = "lambda-events")]
mod lambda {
    use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

    use super::{BatchMessage, Retry};

    /// The messages of a Lambda SQS event (records without an id or body are skipped: SQS always
    /// sends both).
    pub fn batch_messages(event: SqsEvent) -> Vec<BatchMessage> {
        event
            .records
            .into_iter()
            .filter_map(|record| {
                Some(BatchMessage {
                    id: record.message_id?,
                    body: record.body?,
                    receipt: record.receipt_handle.unwrap_or_default(),
                    queue_arn: record.event_source_arn.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The partial batch response naming the messages to deliver again.
    pub fn batch_response(retries: &[Retry]) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = retries
            .iter()
            .map(|retry| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = retry.message.id.clone();
                failure
            })
            .collect();
        response
    }
}

#[cfg(feature = "lambda-events")]
pub use lambda::{batch_messages, batch_response};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{PortError, PortErrorKind};
    use crate::model::Failure;

    #[tokio::test]
    async fn only_retryable_failures_are_reported_with_when_to_retry_and_none_blocks_the_others() {
        let messages = ["ok", "poison", "throttled", "busy", "ok2"]
            .into_iter()
            .map(|body| BatchMessage {
                id: format!("id-{body}"),
                body: body.to_owned(),
                receipt: format!("r-{body}"),
                queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            })
            .collect();
        let lease_end = Timestamp::from_millis(1_700_000_060_000);
        let failed = handle_batch(messages, |body| async move {
            match body.as_str() {
                "poison" => Err(JobError::Permanent(Failure::new("corrupt-input", "bad bytes"))),
                "throttled" => Err(PortError::new("s3:GetObject", PortErrorKind::Unavailable, "503").into()),
                "busy" => Err(JobError::Busy { job: "a/thumbnail".into(), until: lease_end }),
                _ => Ok(()),
            }
        })
        .await;
        let retried: Vec<_> = failed.iter().map(|r| (r.message.receipt.as_str(), r.not_before)).collect();
        assert_eq!(retried, vec![("r-throttled", None), ("r-busy", Some(lease_end))]);
    }
}

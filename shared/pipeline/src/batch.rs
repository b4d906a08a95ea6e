//! A batch of queue messages handled concurrently, each on its own: a poison message never blocks
//! the rest, and only retryable failures are reported back (Lambda's partial batch response).

use std::future::Future;

use tracing::{Instrument, error, info_span};

use crate::error::JobError;

/// One message of a batch: its id and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    /// SQS message id.
    pub id: String,
    /// Body.
    pub body: String,
}

/// Runs `handler` on every message concurrently and returns the ids of the messages to deliver
/// again (those that failed with a retryable error). Permanent failures were recorded by the
/// handler and count as handled.
pub async fn handle_batch<F, Fut>(messages: Vec<BatchMessage>, handler: F) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    let runs = messages.into_iter().map(|message| {
        let span = info_span!("message", message_id = %message.id);
        let run = handler(message.body);
        async move {
            match run.await {
                Ok(()) => None,
                Err(failure) if failure.is_retryable() => {
                    error!(error = %failure, code = failure.code(), "message failed; SQS will deliver it again");
                    Some(message.id)
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

    use super::BatchMessage;

    /// The messages of a Lambda SQS event (records without an id or body are skipped: SQS always
    /// sends both).
    pub fn batch_messages(event: SqsEvent) -> Vec<BatchMessage> {
        event
            .records
            .into_iter()
            .filter_map(|record| Some(BatchMessage { id: record.message_id?, body: record.body? }))
            .collect()
    }

    /// The partial batch response naming the messages to deliver again.
    pub fn batch_response(failed_ids: Vec<String>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failed_ids
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
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
    async fn only_retryable_failures_are_reported_and_none_blocks_the_others() {
        let messages = ["ok", "poison", "throttled", "ok2"]
            .into_iter()
            .map(|body| BatchMessage { id: format!("id-{body}"), body: body.to_owned() })
            .collect();
        let failed = handle_batch(messages, |body| async move {
            match body.as_str() {
                "poison" => Err(JobError::Permanent(Failure::new("corrupt-input", "bad bytes"))),
                "throttled" => Err(PortError::new("s3:GetObject", PortErrorKind::Unavailable, "503").into()),
                _ => Ok(()),
            }
        })
        .await;
        assert_eq!(failed, vec!["id-throttled".to_owned()]);
    }
}

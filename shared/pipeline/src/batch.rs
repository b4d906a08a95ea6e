//! A batch of queue messages handled concurrently, each on its own: a poison message never blocks
//! the rest, and only retryable failures are reported back (Lambda's partial batch response),
//! with the time before which retrying is pointless when there is one (a busy job's lease end).

use std::future::Future;

use tracing::{Instrument, error, info_span};

use crate::error::JobError;
use crate::time::Timestamp;

/// A message as its handler gets it: the body, and what the queue says about it (for the
/// attempt's record: its queue wait, its number, its trace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The body.
    pub body: String,
    /// When the queue received the message (SQS `SentTimestamp`).
    pub sent_at: Option<Timestamp>,
    /// How many times it was received, this time included (SQS `ApproximateReceiveCount`).
    pub receive_count: u32,
    /// The X-Ray trace header it carries (SQS `AWSTraceHeader`).
    pub trace_header: Option<String>,
}

impl Delivery {
    /// A first delivery of `body` with nothing else known (tests, tools).
    pub fn of(body: impl Into<String>) -> Delivery {
        Delivery { body: body.into(), receive_count: 1, ..Delivery::default() }
    }

    /// The delivery of `body` with SQS's system attributes (`SentTimestamp` in epoch
    /// milliseconds, `ApproximateReceiveCount`, `AWSTraceHeader`) as `attribute` finds them.
    pub fn from_sqs<'a>(body: String, attribute: impl Fn(&str) -> Option<&'a str>) -> Delivery {
        Delivery {
            body,
            sent_at: attribute("SentTimestamp").and_then(|ms| ms.parse().ok()).map(Timestamp::from_millis),
            receive_count: attribute("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1),
            trace_header: attribute("AWSTraceHeader").map(str::to_owned),
        }
    }
}

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    /// SQS message id.
    pub id: String,
    /// Body and attributes.
    pub delivery: Delivery,
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
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    let runs = messages.into_iter().map(|message| {
        let span = info_span!("message", message_id = %message.id);
        let run = handler(message.delivery.clone());
        async move {
            match run.await {
                Ok(()) => None,
                Err(failure) if failure.is_retryable() => {
                    error!(error = %failure, code = %failure.code(), "message failed; SQS will deliver it again");
                    Some(Retry { message, not_before: failure.retry_at() })
                }
                Err(failure) => {
                    error!(error = %failure, code = %failure.code(), "message failed permanently");
                    None
                }
            }
        }
        .instrument(span)
    });
    futures::future::join_all(runs).await.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{PortError, PortErrorKind};
    use crate::model::Failure;
    use media_core::ErrorCode;

    #[tokio::test]
    async fn only_retryable_failures_are_reported_with_when_to_retry_and_none_blocks_the_others() {
        let messages = ["ok", "poison", "throttled", "busy", "ok2"]
            .into_iter()
            .map(|body| BatchMessage {
                id: format!("id-{body}"),
                delivery: Delivery::of(body),
                receipt: format!("r-{body}"),
                queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            })
            .collect();
        let lease_end = Timestamp::from_millis(1_700_000_060_000);
        let failed = handle_batch(messages, |delivery| async move {
            match delivery.body.as_str() {
                "poison" => Err(JobError::Permanent(Failure::new(ErrorCode::CORRUPT_INPUT, "bad bytes"))),
                "throttled" => Err(PortError::new("s3:GetObject", PortErrorKind::Unavailable, "503").into()),
                "busy" => Err(JobError::Busy { job: "a/thumbnail".into(), until: lease_end }),
                _ => Ok(()),
            }
        })
        .await;
        let retried: Vec<_> = failed.iter().map(|r| (r.message.receipt.as_str(), r.not_before)).collect();
        assert_eq!(retried, vec![("r-throttled", None), ("r-busy", Some(lease_end))]);
    }

    #[test]
    fn a_delivery_carries_sqs_attributes_when_they_parse() {
        let attributes = [
            ("SentTimestamp", "1700000000123"),
            ("ApproximateReceiveCount", "3"),
            ("AWSTraceHeader", "Root=1-65a-b;Sampled=1"),
        ];
        let find = |name: &str| attributes.iter().find(|(key, _)| *key == name).map(|(_, value)| *value);
        let delivery = Delivery::from_sqs("{}".into(), find);
        assert_eq!(delivery.sent_at, Some(Timestamp::from_millis(1_700_000_000_123)));
        assert_eq!(
            (delivery.receive_count, delivery.trace_header.as_deref()),
            (3, Some("Root=1-65a-b;Sampled=1"))
        );
        let bare = Delivery::from_sqs("{}".into(), |name| (name == "SentTimestamp").then_some("soon"));
        assert_eq!((bare.sent_at, bare.receive_count, bare.trace_header), (None, 1, None));
    }
}

//! Lambda's SQS event in, its partial batch response out: the batch as `pipeline::batch` handles it.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use pipeline::batch::{BatchMessage, Delivery, Retry};

/// The messages of a Lambda SQS event (records without an id or body are skipped: SQS always
/// sends both).
pub(crate) fn batch_messages(event: SqsEvent) -> Vec<BatchMessage> {
    event
        .records
        .into_iter()
        .filter_map(|record| {
            let attributes = &record.attributes;
            let delivery = Delivery::from_sqs(record.body?, |name| attributes.get(name).map(String::as_str));
            Some(BatchMessage {
                id: record.message_id?,
                delivery,
                receipt: record.receipt_handle.unwrap_or_default(),
                queue_arn: record.event_source_arn.unwrap_or_default(),
            })
        })
        .collect()
}

/// The partial batch response naming the messages to deliver again.
pub(crate) fn batch_response(retries: &[Retry]) -> SqsBatchResponse {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_sqs_events_become_messages_and_failures_a_partial_batch_response() {
        let event: SqsEvent = serde_json::from_str(&crate::ingest_events::tests::fixture("sqs-event.json"))
            .expect("an SQS event");
        let messages = batch_messages(event);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].id, "059f36b4-87a3-44ab-83d2-661975830a7d");
        assert!(messages[1].delivery.body.contains("\"job\":\"thumbnail\""));
        assert_eq!(messages[1].queue_arn, "arn:aws:sqs:us-east-1:111122223333:thumbnail");
        assert!(!messages[1].receipt.is_empty(), "the receipt handle delays a busy job's message");
        let retry = Retry { message: messages[1].clone(), not_before: None };
        let response = serde_json::to_value(batch_response(&[retry])).expect("json");
        assert_eq!(
            response,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
        );
    }
}

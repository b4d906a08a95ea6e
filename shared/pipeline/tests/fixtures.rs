//! The handlers' parsing on real event JSON: S3 notifications as AWS and LocalStack send them, the
//! `s3:TestEvent`, a removal, and Lambda's SQS event with the partial batch response.

use aws_lambda_events::event::sqs::SqsEvent;
use pipeline::batch::{Retry, batch_messages, batch_response};
use pipeline::s3_event::{IngestMessage, ObjectChange, parse_ingest_message};
use pipeline::time::Timestamp;
use pipeline::{AssetId, Sequencer};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn objects(name: &str) -> Vec<pipeline::s3_event::ObjectEvent> {
    match parse_ingest_message(&fixture(name)) {
        Ok(IngestMessage::Objects(events)) => events,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn aws_events_decode_plus_percent_and_unicode_keys_under_deep_prefixes() {
    let events = objects("aws-put-encoded-key.json");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.change, ObjectChange::Created);
    assert_eq!(event.key, "albums/2024/summer/deep/prefix/my holiday +1 café 写真.jpg");
    assert_eq!(event.version_id.as_deref(), Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"));
    assert_eq!(event.size, Some(1024));
    let time = Timestamp::parse_rfc3339("2024-05-01T12:00:00.123Z");
    assert_eq!(event.sequencer, Sequencer::from_event(Some("0055AED6DCD90281E5"), time));

    let removed = objects("removed.json");
    assert_eq!(removed[0].change, ObjectChange::Removed);
    assert_eq!(removed[0].key, event.key, "the same key, encoded the same way");
    assert!(removed[0].sequencer > event.sequencer, "the removal comes after the upload");
    assert_eq!(
        AssetId::for_object(&removed[0].bucket, &removed[0].key),
        AssetId::for_object(&event.bucket, &event.key)
    );
}

#[test]
fn localstack_events_encode_spaces_as_percent_20() {
    let events = objects("localstack-put.json");
    assert_eq!(events[0].key, "demo/my photo +1.jpg");
    assert_eq!(events[0].etag.as_deref(), Some("0d3ae15313a4d948ef28b98af0adb64c"));
}

#[test]
fn test_events_are_recognised() {
    assert_eq!(parse_ingest_message(&fixture("test-event.json")).ok(), Some(IngestMessage::TestEvent));
}

#[test]
fn lambda_sqs_events_become_messages_and_failures_a_partial_batch_response() {
    let event: SqsEvent = serde_json::from_str(&fixture("sqs-event.json")).expect("an SQS event");
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

//! The bodies of ingest-queue messages: S3 event notifications (`aws_lambda_events`' `S3Event`),
//! S3's `s3:TestEvent`, and either one inside an SNS envelope, turned into `pipeline`'s plain
//! [`IngestMessage`] with keys decoded. Records other than `ObjectCreated:*` and `ObjectRemoved:*`
//! (restores, tagging, ...) are skipped.
//!
//! A body that is none of these is refused with an error; the caller acknowledges it (retrying
//! cannot fix it), and an upload whose notification was lost that way is ingested by the
//! reconciler, which lists the uploads bucket.

use aws_lambda_events::event::s3::S3Event;
use pipeline::Sequencer;
use pipeline::s3_event::{IngestMessage, ObjectChange, ObjectEvent, decode_key};
use pipeline::time::Timestamp;
use serde::Deserialize;

/// Why a message body is not an S3 event.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestEventError {
    /// Not JSON, or not the shape of an S3 event.
    #[error("not an S3 event notification: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A record whose key is not valid percent-encoded UTF-8.
    #[error("object key {0:?} is not valid percent-encoded UTF-8")]
    BadKey(String),
}

/// What can arrive on the ingest queue around the S3 event itself.
#[derive(Deserialize)]
#[serde(untagged)]
enum Envelope {
    Records(S3Event),
    Test {
        #[serde(rename = "Event")]
        event: String,
    },
    /// An S3 event delivered through SNS (raw message delivery off).
    Sns {
        #[serde(rename = "Message")]
        message: String,
    },
}

/// Parses the body of an ingest-queue message.
pub(crate) fn parse(body: &str) -> Result<IngestMessage, IngestEventError> {
    match serde_json::from_str::<Envelope>(body)? {
        Envelope::Test { event } if event == "s3:TestEvent" => Ok(IngestMessage::TestEvent),
        Envelope::Test { .. } => Ok(IngestMessage::Objects(Vec::new())),
        Envelope::Sns { message } => parse(&message),
        Envelope::Records(event) => {
            let mut objects = Vec::with_capacity(event.records.len());
            for record in event.records {
                let name = record.event_name.as_deref().unwrap_or_default();
                let change = if name.starts_with("ObjectCreated:") {
                    ObjectChange::Created
                } else if name.starts_with("ObjectRemoved:") {
                    ObjectChange::Removed
                } else {
                    continue;
                };
                let object = record.s3.object;
                let encoded = object.key.unwrap_or_default();
                let event_time =
                    u64::try_from(record.event_time.timestamp_millis()).ok().map(Timestamp::from_millis);
                objects.push(ObjectEvent {
                    change,
                    key: decode_key(&encoded).ok_or(IngestEventError::BadKey(encoded))?,
                    bucket: record.s3.bucket.name.unwrap_or_default(),
                    size: object.size.and_then(|size| u64::try_from(size).ok()),
                    etag: object.e_tag.filter(|etag| !etag.is_empty()),
                    version_id: object.version_id.filter(|version| !version.is_empty() && version != "null"),
                    sequencer: Sequencer::from_event(object.sequencer.as_deref(), event_time),
                    event_time,
                });
            }
            Ok(IngestMessage::Objects(objects))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use pipeline::AssetId;

    use super::*;

    /// A real event as S3 or LocalStack sent it (`tests/fixtures/`).
    pub(crate) fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    fn objects(body: &str) -> Vec<ObjectEvent> {
        match parse(body) {
            Ok(IngestMessage::Objects(events)) => events,
            other => panic!("{other:?}"),
        }
    }

    /// A minimal but complete notification record, as S3 sends it.
    fn record(event_name: &str, key: &str, sequencer: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2024-05-01T12:00:00.000Z",
            "eventName":"{event_name}","userIdentity":{{"principalId":"AWS:X"}},
            "requestParameters":{{"sourceIPAddress":"10.0.0.1"}},"responseElements":{{}},
            "s3":{{"bucket":{{"name":"uploads"}},
            "object":{{"key":"{key}","size":1234,"eTag":"abc","sequencer":"{sequencer}"}}}}}}]}}"#
        )
    }

    #[test]
    fn aws_events_decode_plus_percent_and_unicode_keys_under_deep_prefixes() {
        let events = objects(&fixture("aws-put-encoded-key.json"));
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.change, ObjectChange::Created);
        assert_eq!(event.key, "albums/2024/summer/deep/prefix/my holiday +1 café 写真.jpg");
        assert_eq!(event.version_id.as_deref(), Some("096fKKXTRTtl3on89fVO.nfljtsv6qko"));
        assert_eq!(event.size, Some(1024));
        let time = Timestamp::parse_rfc3339("2024-05-01T12:00:00.123Z");
        assert_eq!(event.sequencer, Sequencer::from_event(Some("0055AED6DCD90281E5"), time));

        let removed = objects(&fixture("removed.json"));
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
        let events = objects(&fixture("localstack-put.json"));
        assert_eq!(events[0].key, "demo/my photo +1.jpg");
        assert_eq!(events[0].etag.as_deref(), Some("0d3ae15313a4d948ef28b98af0adb64c"));
    }

    #[test]
    fn parses_created_and_removed_records_and_skips_others() {
        let events = objects(&record("ObjectCreated:Put", "dir/a+b.jpg", "0055AED6DCD90281E5"));
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.change, ObjectChange::Created);
        assert_eq!((event.bucket.as_str(), event.key.as_str()), ("uploads", "dir/a b.jpg"));
        assert_eq!(event.size, Some(1234));
        let time = Timestamp::parse_rfc3339("2024-05-01T12:00:00.000Z");
        assert_eq!(event.sequencer, Sequencer::from_event(Some("0055AED6DCD90281E5"), time));
        assert_eq!(objects(&record("ObjectRemoved:Delete", "x", "01"))[0].change, ObjectChange::Removed);
        assert!(objects(&record("ObjectTagging:Put", "x", "01")).is_empty());
        assert!(matches!(
            parse(&record("ObjectCreated:Put", "bad%FF", "01")),
            Err(IngestEventError::BadKey(_))
        ));
    }

    #[test]
    fn recognises_test_events_sns_envelopes_and_garbage() {
        assert!(matches!(parse(&fixture("test-event.json")), Ok(IngestMessage::TestEvent)));
        let sns =
            serde_json::json!({"Type": "Notification", "Message": record("ObjectCreated:Put", "k", "02")});
        assert_eq!(objects(&sns.to_string()).len(), 1);
        assert!(matches!(parse("not json"), Err(IngestEventError::Malformed(_))));
        assert!(matches!(parse("{}"), Err(IngestEventError::Malformed(_))));
    }
}

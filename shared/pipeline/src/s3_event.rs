//! S3 event notifications as they arrive in the ingest queue: parsing, key decoding, test events.

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::sequencer::Sequencer;
use crate::time::Timestamp;

/// What one S3 event record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectChange {
    /// `ObjectCreated:*` (put, post, copy, multipart upload).
    Created,
    /// `ObjectRemoved:*` (delete, delete marker).
    Removed,
}

/// One record of an S3 event notification, with the key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    /// Created or removed.
    pub change: ObjectChange,
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded form-style.
    pub key: String,
    /// Size from the event (absent on removals).
    pub size: Option<u64>,
    /// ETag from the event.
    pub etag: Option<String>,
    /// Version id, when the bucket is versioned.
    pub version_id: Option<String>,
    /// Event order on this key.
    pub sequencer: Sequencer,
    /// When S3 finished the request.
    pub event_time: Option<Timestamp>,
}

/// What a message body from the ingest queue holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestMessage {
    /// The `s3:TestEvent` S3 sends when a notification is configured: acknowledge and ignore.
    TestEvent,
    /// Object events (usually one), in the order they appear.
    Objects(Vec<ObjectEvent>),
}

/// Why a message body is not an S3 event. Permanent: the message is acknowledged, not retried.
#[derive(Debug, thiserror::Error)]
pub enum S3EventError {
    /// Not JSON, or not the shape of an S3 event.
    #[error("not an S3 event notification: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A record whose key is not valid percent-encoded UTF-8.
    #[error("object key {0:?} is not valid percent-encoded UTF-8")]
    BadKey(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Body {
    Records {
        #[serde(rename = "Records")]
        records: Vec<Record>,
    },
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_name: String,
    #[serde(default)]
    event_time: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    e_tag: Option<String>,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

/// Parses the body of an ingest-queue message. Records other than `ObjectCreated:*` and
/// `ObjectRemoved:*` (restores, tagging, ...) are skipped.
pub fn parse_ingest_message(body: &str) -> Result<IngestMessage, S3EventError> {
    match serde_json::from_str::<Body>(body)? {
        Body::Test { event } if event == "s3:TestEvent" => Ok(IngestMessage::TestEvent),
        Body::Test { .. } => Ok(IngestMessage::Objects(Vec::new())),
        Body::Sns { message } => parse_ingest_message(&message),
        Body::Records { records } => {
            let mut events = Vec::with_capacity(records.len());
            for record in records {
                let change = if record.event_name.starts_with("ObjectCreated:") {
                    ObjectChange::Created
                } else if record.event_name.starts_with("ObjectRemoved:") {
                    ObjectChange::Removed
                } else {
                    continue;
                };
                let event_time = record.event_time.as_deref().and_then(Timestamp::parse_rfc3339);
                let sequencer = Sequencer::from_event(record.s3.object.sequencer.as_deref(), event_time);
                events.push(ObjectEvent {
                    change,
                    key: decode_key(&record.s3.object.key)?,
                    bucket: record.s3.bucket.name,
                    size: record.s3.object.size,
                    etag: record.s3.object.e_tag.filter(|etag| !etag.is_empty()),
                    version_id: record.s3.object.version_id.filter(|v| !v.is_empty() && v != "null"),
                    sequencer,
                    event_time,
                });
            }
            Ok(IngestMessage::Objects(events))
        }
    }
}

/// Decodes an object key from an S3 event form-style: `+` means a space, then percent-decoding.
/// AWS encodes a space as `+`, LocalStack as `%20`, others encode `/` too; this handles all of them
/// (a literal `+` arrives as `%2B`).
pub fn decode_key(encoded: &str) -> Result<String, S3EventError> {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| S3EventError::BadKey(encoded.to_owned()))
}

/// Encodes an object key the way AWS does in S3 events (`+` for a space, percent-encoding for
/// everything but unreserved characters and `/`): what [`decode_key`] undoes. For the tests that
/// play S3's part.
pub fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|byte| match byte {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event_name: &str, key: &str, sequencer: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2024-05-01T12:00:00.000Z",
            "eventName":"{event_name}","s3":{{"bucket":{{"name":"uploads"}},
            "object":{{"key":"{key}","size":1234,"eTag":"abc","sequencer":"{sequencer}"}}}}}}]}}"#
        )
    }

    #[test]
    fn decodes_keys_the_way_aws_localstack_and_moto_encode_them() {
        for encoded in ["my+photo+%2B1.jpg", "my%20photo%20%2B1.jpg"] {
            assert_eq!(decode_key(encoded).ok().as_deref(), Some("my photo +1.jpg"));
        }
        assert_eq!(decode_key("a%2Fb%2Fc.jpg").ok().as_deref(), Some("a/b/c.jpg"));
        assert_eq!(decode_key("caf%C3%A9/%E5%86%99%E7%9C%9F.jpg").ok().as_deref(), Some("café/写真.jpg"));
        assert!(matches!(decode_key("bad%FF"), Err(S3EventError::BadKey(_))));
        for key in ["my photo +1.jpg", "a/b/c.jpg", "café/写真 (1).jpg"] {
            assert_eq!(decode_key(&encode_key(key)).ok().as_deref(), Some(key));
        }
        assert_eq!(encode_key("my photo +1.jpg"), "my+photo+%2B1.jpg");
    }

    #[test]
    fn parses_created_and_removed_records() {
        let Ok(IngestMessage::Objects(events)) =
            parse_ingest_message(&record("ObjectCreated:Put", "dir/a+b.jpg", "0055AED6DCD90281E5"))
        else {
            panic!("not parsed");
        };
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.change, ObjectChange::Created);
        assert_eq!((event.bucket.as_str(), event.key.as_str()), ("uploads", "dir/a b.jpg"));
        assert_eq!(event.size, Some(1234));
        let time = Timestamp::parse_rfc3339("2024-05-01T12:00:00.000Z");
        assert_eq!(event.sequencer, Sequencer::from_event(Some("0055AED6DCD90281E5"), time));

        let removed = parse_ingest_message(&record("ObjectRemoved:Delete", "x", "01")).ok();
        assert!(
            matches!(removed, Some(IngestMessage::Objects(events)) if events[0].change == ObjectChange::Removed)
        );
        let tagging = parse_ingest_message(&record("ObjectTagging:Put", "x", "01")).ok();
        assert_eq!(tagging, Some(IngestMessage::Objects(Vec::new())));
    }

    #[test]
    fn recognises_test_events_sns_envelopes_and_garbage() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-01T12:00:00.000Z","Bucket":"uploads"}"#;
        assert_eq!(parse_ingest_message(test).ok(), Some(IngestMessage::TestEvent));
        let sns =
            serde_json::json!({"Type": "Notification", "Message": record("ObjectCreated:Put", "k", "02")});
        assert!(
            matches!(parse_ingest_message(&sns.to_string()), Ok(IngestMessage::Objects(e)) if e.len() == 1)
        );
        assert!(matches!(parse_ingest_message("not json"), Err(S3EventError::Malformed(_))));
        assert!(matches!(parse_ingest_message("{}"), Err(S3EventError::Malformed(_))));
    }
}

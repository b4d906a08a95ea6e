//! What an S3 event notification says, as the ingest use-case takes it: plain types, with the
//! object key decoded. The notifications themselves are parsed by the `runtime` crate (with
//! `aws_lambda_events`), the only crate that knows Lambda's event shapes.

use percent_encoding::percent_decode_str;

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

/// Decodes an object key from an S3 event form-style: `+` means a space, then percent-decoding.
/// AWS encodes a space as `+`, LocalStack as `%20`, others encode `/` too; this handles all of them
/// (a literal `+` arrives as `%2B`).
/// `None` when the decoded bytes are not UTF-8.
pub fn decode_key(encoded: &str) -> Option<String> {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().ok().map(|key| key.into_owned())
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

    #[test]
    fn decodes_keys_the_way_aws_localstack_and_moto_encode_them() {
        for encoded in ["my+photo+%2B1.jpg", "my%20photo%20%2B1.jpg"] {
            assert_eq!(decode_key(encoded).as_deref(), Some("my photo +1.jpg"));
        }
        assert_eq!(decode_key("a%2Fb%2Fc.jpg").as_deref(), Some("a/b/c.jpg"));
        assert_eq!(decode_key("caf%C3%A9/%E5%86%99%E7%9C%9F.jpg").as_deref(), Some("café/写真.jpg"));
        assert_eq!(decode_key("bad%FF"), None);
        for key in ["my photo +1.jpg", "a/b/c.jpg", "café/写真 (1).jpg"] {
            assert_eq!(decode_key(&encode_key(key)).as_deref(), Some(key));
        }
        assert_eq!(encode_key("my photo +1.jpg"), "my+photo+%2B1.jpg");
    }
}

//! Error classification: what is retried (infrastructure) and what is recorded and acknowledged
//! (bad media, unsupported formats, limits), and the [`Failure`] a record keeps of it. The model
//! and the moderation record name these types; nothing here names theirs.

use std::error::Error as StdError;
use std::time::Duration;

use media_core::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A failure recorded against a job or an asset: a stable code (`corrupt-input`, `too-large`, ...)
/// and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Stable, machine-readable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }
}

/// The broad class of an adapter failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortErrorKind {
    /// The object, item or queue does not exist.
    NotFound,
    /// Throttling, 5xx, timeouts, network: try again later.
    Unavailable,
    /// The service refused the request (permissions, validation): a configuration problem, retried
    /// so the message ends in the DLQ where it can be redriven after a fix (code `access-denied`).
    Rejected,
    /// A local file the call streams from or to could not be read or written (temporary storage):
    /// retried (code `io-error`).
    LocalIo,
}

/// A failed call to S3, DynamoDB, SQS or EventBridge (or their in-memory stand-ins).
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct PortError {
    /// The call, such as `s3:GetObject`.
    pub operation: &'static str,
    /// How it failed.
    pub kind: PortErrorKind,
    /// The service's message.
    pub message: String,
    /// The SDK error, when there is one.
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

impl PortErrorKind {
    /// The code a failure of this kind is recorded with.
    pub fn code(self) -> ErrorCode {
        match self {
            PortErrorKind::NotFound => ErrorCode::NOT_FOUND,
            PortErrorKind::Unavailable => ErrorCode::SERVICE_UNAVAILABLE,
            PortErrorKind::Rejected => ErrorCode::ACCESS_DENIED,
            PortErrorKind::LocalIo => ErrorCode::IO_ERROR,
        }
    }
}

impl PortError {
    /// A failure of `operation` with no underlying error value.
    pub fn new(operation: &'static str, kind: PortErrorKind, message: impl Into<String>) -> PortError {
        PortError { operation, kind, message: message.into(), source: None }
    }

    /// Whether the object or item was missing.
    pub fn is_not_found(&self) -> bool {
        self.kind == PortErrorKind::NotFound
    }
}

/// Why a message could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The input is bad (corrupt, unsupported, over limits): recorded against the asset and
    /// acknowledged. Never retried.
    #[error("{}: {}", .0.code, .0.message)]
    Permanent(Failure),
    /// Media work failed on our side (an encoder, a muxer): retried, with the media crate's code.
    #[error("{}: {}", .0.code, .0.message)]
    Retryable(Failure),
    /// A service call failed: the message is retried and lands in the DLQ after maxReceiveCount.
    #[error(transparent)]
    Port(#[from] PortError),
    /// A local file operation failed (temporary files, disk full).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// Another delivery of the same job holds its lease until `until`: this message is delivered
    /// again after that, not before (its visibility is extended to the lease's end, so waiting
    /// does not use up the queue's receive count).
    #[error("job {job} is running elsewhere until {until}; retrying then")]
    Busy {
        /// The asset and job, `<asset id>/<job>`.
        job: String,
        /// When the other delivery's lease ends.
        until: Timestamp,
    },
    /// A retryable failure worth retrying at `at` rather than after the queue's visibility
    /// timeout: a part of a split job, which the other parts and the join wait for.
    #[error("{error}; retrying at {at}")]
    RetryAt {
        /// What failed.
        error: Box<JobError>,
        /// When to deliver the message again.
        at: Timestamp,
    },
    /// Something that is not the input's fault nor a service's: a blocking task cancelled, a
    /// document that does not (de)serialise, a message that makes no sense for its queue.
    #[error("internal error: {0}")]
    Internal(String),
}

impl JobError {
    /// Whether SQS should deliver the message again.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, JobError::Permanent(_))
    }

    /// A stable code for logs and job records.
    pub fn code(&self) -> ErrorCode {
        match self {
            JobError::Permanent(failure) | JobError::Retryable(failure) => failure.code,
            JobError::Port(error) => error.kind.code(),
            JobError::Io { .. } => ErrorCode::IO_ERROR,
            JobError::Busy { .. } => ErrorCode::JOB_BUSY,
            JobError::RetryAt { error, .. } => error.code(),
            JobError::Internal(_) => ErrorCode::INTERNAL_ERROR,
        }
    }

    /// When the message should be delivered again, when that is not simply after the queue's
    /// visibility timeout: for `job-busy`, when the job's lease ends (the earliest a retry can take
    /// it over); for a [`RetryAt`](JobError::RetryAt), its time.
    pub fn retry_at(&self) -> Option<Timestamp> {
        match self {
            JobError::Busy { until, .. } => Some(*until),
            JobError::RetryAt { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// How long to keep a message hidden from now to deliver it at `until`, and a second more so
    /// that the redelivery of a busy job finds its lease ended.
    pub fn delay_until(until: Timestamp) -> Duration {
        Duration::from_millis(until.millis_since(Timestamp::now())) + Duration::from_secs(1)
    }

    /// The error as a [`Failure`] to record.
    pub fn to_failure(&self) -> Failure {
        match self {
            JobError::Permanent(failure) | JobError::Retryable(failure) => failure.clone(),
            JobError::RetryAt { error, .. } => error.to_failure(),
            other => Failure::new(other.code(), other.to_string()),
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> JobError {
        let context = context.into();
        move |source| JobError::Io { context, source }
    }
}

impl From<media_core::MediaError> for JobError {
    /// Keeps the media core's code and retry class.
    fn from(error: media_core::MediaError) -> JobError {
        let failure = Failure::new(error.code(), error.to_string());
        if error.is_retryable() { JobError::Retryable(failure) } else { JobError::Permanent(failure) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_errors_are_permanent_and_service_errors_are_retried() {
        let media = JobError::from(media_core::MediaError::CorruptInput {
            format: media_core::MediaFormat::Jpeg,
            reason: "bad huffman table".into(),
        });
        assert!(!media.is_retryable());
        assert_eq!(media.code(), ErrorCode::CORRUPT_INPUT);
        let throttled =
            JobError::from(PortError::new("dynamodb:UpdateItem", PortErrorKind::Unavailable, "slow down"));
        assert!(throttled.is_retryable());
        assert_eq!(throttled.to_failure().code, ErrorCode::SERVICE_UNAVAILABLE);
        let busy = JobError::Busy { job: "a/thumbnail".into(), until: Timestamp::from_millis(5) };
        assert!(busy.is_retryable());
        assert_eq!(busy.retry_at(), Some(Timestamp::from_millis(5)));
        assert_eq!(throttled.retry_at(), None);
    }
}

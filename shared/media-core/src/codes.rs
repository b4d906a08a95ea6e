//! The one table of error codes: every code the media crates and the pipeline produce, as
//! constants with their retry class, in the manner of pict-rs's `ErrorCode`. Job records,
//! completion events, EMF metrics (the `Outcome` dimension) and the CLI's JSON all carry these
//! strings; `docs/errors.md` lists the same rows (a test in `pipeline` checks it), and tests check
//! that every error variant of media-core, media-video and the pipeline maps to one of them with
//! the same retry class at every layer.
//!
//! Here, in the innermost crate, so that every layer names the same constants: the media crates
//! produce most codes, and the pipeline's own (`NOT_FOUND`, `JOB_BUSY`, ...) sit beside them
//! rather than in a second table.

use std::fmt;

/// A stable, kebab-case error code with its retry class. Compared, stored and printed as its
/// string; only the constants below exist.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    code: &'static str,
    retryable: bool,
    meaning: &'static str,
}

const fn recorded(code: &'static str, meaning: &'static str) -> ErrorCode {
    ErrorCode { code, retryable: false, meaning }
}

const fn retried(code: &'static str, meaning: &'static str) -> ErrorCode {
    ErrorCode { code, retryable: true, meaning }
}

impl ErrorCode {
    /// Not a format mediaflow reads.
    pub const UNSUPPORTED_FORMAT: ErrorCode = recorded(
        "unsupported-format",
        "not a format mediaflow reads (sniffed from the bytes, never the name)",
    );
    /// Malformed data in a recognised format.
    pub const CORRUPT_INPUT: ErrorCode =
        recorded("corrupt-input", "the format is recognised but the data is malformed");
    /// The data ends early.
    pub const TRUNCATED_INPUT: ErrorCode = recorded("truncated-input", "the data ends early");
    /// Over a limit, found before decoding.
    pub const TOO_LARGE: ErrorCode = recorded(
        "too-large",
        "over a limit (bytes, pixels, frames, duration, streams), checked before decoding",
    );
    /// A container that is read, with a codec that is not.
    pub const UNSUPPORTED_CODEC: ErrorCode = recorded(
        "unsupported-codec",
        "a video or audio file's container is read but its video codec (or, without video, its audio codec) is not",
    );
    /// A poster of a file without video.
    pub const NO_VIDEO_STREAM: ErrorCode =
        recorded("no-video-stream", "a poster was asked of a file without a video stream");
    /// Neither video nor audio.
    pub const NO_MEDIA_STREAM: ErrorCode =
        recorded("no-media-stream", "a video or audio container with neither a video nor an audio stream");
    /// A transcode stopped at its deadline.
    pub const DEADLINE_EXCEEDED: ErrorCode = recorded(
        "deadline-exceeded",
        "a transcode ran past its deadline and was stopped; in the pipeline it is never recorded: the job (or its segment) goes to worker mode instead",
    );
    /// An impossible setting.
    pub const INVALID_OPTIONS: ErrorCode =
        recorded("invalid-options", "a setting is impossible (a zero thumbnail size, an empty ladder, ...)");
    /// A media library panicked on the input.
    pub const MEDIA_PANIC: ErrorCode =
        recorded("media-panic", "a media library panicked on this input; recorded instead of retried");
    /// Rekognition refused the picture.
    pub const MODERATION_REFUSED: ErrorCode = recorded(
        "moderation-refused",
        "Rekognition refused the picture (format, size or parameters) even after re-encoding it",
    );
    /// An encoder or muxer failed.
    pub const ENCODE_FAILED: ErrorCode =
        retried("encode-failed", "an encoder or muxer failed: a resource problem on our side");
    /// The local moderation model could not run.
    pub const MODERATION_FAILED: ErrorCode = retried(
        "moderation-failed",
        "the local moderation model could not be loaded or run (a missing or wrong model file: redeploy)",
    );
    /// Temporary storage failed.
    pub const IO_ERROR: ErrorCode =
        retried("io-error", "a local file could not be read or written (temporary storage)");
    /// The object or item is missing.
    pub const NOT_FOUND: ErrorCode = retried("not-found", "the source object or item is missing (yet)");
    /// A service throttled, timed out or failed.
    pub const SERVICE_UNAVAILABLE: ErrorCode =
        retried("service-unavailable", "S3, DynamoDB, SQS or EventBridge throttled, timed out or failed");
    /// A service refused the call.
    pub const ACCESS_DENIED: ErrorCode =
        retried("access-denied", "a service refused the call (permissions, validation): fix, then redrive");
    /// Another delivery holds the job.
    pub const JOB_BUSY: ErrorCode = retried("job-busy", "another delivery of the same job holds its lease");
    /// A bug, or a binary deployed without what its job needs.
    pub const INTERNAL_ERROR: ErrorCode = retried("internal-error", "a bug: the task failed unexpectedly");

    /// Every code, in the order of the documented table: recorded ones, then retried ones.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::UNSUPPORTED_FORMAT,
        ErrorCode::CORRUPT_INPUT,
        ErrorCode::TRUNCATED_INPUT,
        ErrorCode::TOO_LARGE,
        ErrorCode::UNSUPPORTED_CODEC,
        ErrorCode::NO_VIDEO_STREAM,
        ErrorCode::NO_MEDIA_STREAM,
        ErrorCode::DEADLINE_EXCEEDED,
        ErrorCode::INVALID_OPTIONS,
        ErrorCode::MEDIA_PANIC,
        ErrorCode::MODERATION_REFUSED,
        ErrorCode::ENCODE_FAILED,
        ErrorCode::MODERATION_FAILED,
        ErrorCode::IO_ERROR,
        ErrorCode::NOT_FOUND,
        ErrorCode::SERVICE_UNAVAILABLE,
        ErrorCode::ACCESS_DENIED,
        ErrorCode::JOB_BUSY,
        ErrorCode::INTERNAL_ERROR,
    ];

    /// The code as stored and printed (`corrupt-input`).
    pub const fn as_str(self) -> &'static str {
        self.code
    }

    /// Whether the message is delivered again (a failure on our side or of a service), rather
    /// than the failure recorded on the asset and the message acknowledged (the input's fault).
    pub const fn is_retryable(self) -> bool {
        self.retryable
    }

    /// What it means, as the documentation says it.
    pub const fn meaning(self) -> &'static str {
        self.meaning
    }

    /// The code spelled `text`, if it is one of mediaflow's.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|code| code.code == text)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ErrorCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        ErrorCode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not one of mediaflow's error codes"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_recorded_ones_come_first() {
        for (index, code) in ErrorCode::ALL.iter().enumerate() {
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{code}");
            assert!(ErrorCode::ALL[..index].iter().all(|earlier| earlier != code), "{code} twice");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        let first_retried = ErrorCode::ALL.iter().position(|code| code.is_retryable()).unwrap_or(0);
        assert!(ErrorCode::ALL[first_retried..].iter().all(|code| code.is_retryable()));
        assert_eq!(ErrorCode::parse("no-such-code"), None);
    }
}

//! The one error type of the media core, with stable codes that the pipeline stores and logs.

use crate::codes::ErrorCode;
use crate::format::MediaFormat;
use crate::limits::LimitKind;

/// Why the media core could not process an input.
///
/// Every variant maps to a stable [`ErrorCode`] that callers store (DynamoDB, JSON output) and
/// match on; the `Display` text is for people and may change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The bytes are not a format the core can read (including recognised but undecodable ones).
    #[error("unsupported format{}", detail(.format, .reason))]
    UnsupportedFormat {
        /// The sniffed format, when the bytes were recognised at all.
        format: Option<MediaFormat>,
        /// What exactly is not supported.
        reason: String,
    },
    /// The input claims to be `format` but its contents are malformed.
    #[error("corrupt {format} input: {reason}")]
    CorruptInput {
        /// The sniffed format.
        format: MediaFormat,
        /// What the decoder reported.
        reason: String,
    },
    /// The input ends before the format says it should.
    #[error("truncated {format} input: {reason}")]
    TruncatedInput {
        /// The sniffed format.
        format: MediaFormat,
        /// What the decoder reported.
        reason: String,
    },
    /// The input is over one of the configured [`Limits`](crate::Limits).
    #[error("{kind} is over the limit of {limit}{}", actual.map(|a| format!(" ({a})")).unwrap_or_default())]
    TooLarge {
        /// Which limit.
        kind: LimitKind,
        /// The value the input has or claims in its header, when known.
        actual: Option<u64>,
        /// The configured maximum.
        limit: u64,
    },
    /// The caller asked for something impossible (a zero thumbnail size, quality over 100, ...).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Encoding a derivative failed: a bug or resource problem on our side, not the input's fault.
    #[error("encoding {format} failed: {reason}")]
    EncodeFailed {
        /// The output format.
        format: &'static str,
        /// What the encoder reported.
        reason: String,
    },
}

fn detail(format: &Option<MediaFormat>, reason: &str) -> String {
    match format {
        Some(format) => format!(" ({format}): {reason}"),
        None => format!(": {reason}"),
    }
}

impl MediaError {
    /// The stable code of this error (`unsupported-format`, `too-large`, ...).
    pub fn code(&self) -> ErrorCode {
        match self {
            MediaError::UnsupportedFormat { .. } => ErrorCode::UNSUPPORTED_FORMAT,
            MediaError::CorruptInput { .. } => ErrorCode::CORRUPT_INPUT,
            MediaError::TruncatedInput { .. } => ErrorCode::TRUNCATED_INPUT,
            MediaError::TooLarge { .. } => ErrorCode::TOO_LARGE,
            MediaError::InvalidOptions(_) => ErrorCode::INVALID_OPTIONS,
            MediaError::EncodeFailed { .. } => ErrorCode::ENCODE_FAILED,
        }
    }

    /// Whether trying the same input again could succeed: its code's retry class. Only encoder
    /// failures (resource problems on our side) are worth a retry; everything about the input
    /// itself is permanent.
    pub fn is_retryable(&self) -> bool {
        self.code().is_retryable()
    }

    /// One value of every variant, for the project's test that checks each code and retry class
    /// against its table of codes (`pipeline::error_codes`). A new variant does not compile here
    /// until it is listed.
    #[doc(hidden)]
    pub fn one_of_each_variant() -> Vec<MediaError> {
        let all = vec![
            MediaError::UnsupportedFormat { format: None, reason: "x".into() },
            MediaError::CorruptInput { format: MediaFormat::Jpeg, reason: "x".into() },
            MediaError::TruncatedInput { format: MediaFormat::Jpeg, reason: "x".into() },
            MediaError::TooLarge { kind: LimitKind::Width, actual: Some(2), limit: 1 },
            MediaError::InvalidOptions("x".into()),
            MediaError::EncodeFailed { format: "jpeg", reason: "x".into() },
        ];
        for error in &all {
            match error {
                MediaError::UnsupportedFormat { .. }
                | MediaError::CorruptInput { .. }
                | MediaError::TruncatedInput { .. }
                | MediaError::TooLarge { .. }
                | MediaError::InvalidOptions(_)
                | MediaError::EncodeFailed { .. } => {}
            }
        }
        all
    }

    /// Classifies a decoder's message: end-of-data wording means truncated, anything else corrupt.
    pub(crate) fn from_decoder(format: MediaFormat, reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string();
        let lower = reason.to_ascii_lowercase();
        let truncated = [
            "premature end",
            "end of file",
            "eof",
            "truncated",
            "not enough data",
            "unexpected end",
            "no more data",
        ]
        .iter()
        .any(|needle| lower.contains(needle));
        if truncated {
            MediaError::TruncatedInput { format, reason }
        } else {
            MediaError::CorruptInput { format, reason }
        }
    }
}

/// Maps an `image` crate error for an input of `format` to a [`MediaError`]; `max_alloc` is the
/// allocation limit the decoder was given.
pub(crate) fn decode_error(format: MediaFormat, error: image::ImageError, max_alloc: u64) -> MediaError {
    use image::error::{ImageError, LimitErrorKind};
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError | LimitErrorKind::InsufficientMemory => {
                MediaError::TooLarge { kind: LimitKind::Allocation, actual: None, limit: max_alloc }
            }
            _ => MediaError::UnsupportedFormat { format: Some(format), reason: limit.to_string() },
        },
        ImageError::Unsupported(unsupported) => {
            MediaError::UnsupportedFormat { format: Some(format), reason: unsupported.to_string() }
        }
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::TruncatedInput { format, reason: io.to_string() }
        }
        other => MediaError::from_decoder(format, other),
    }
}

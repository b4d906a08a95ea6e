//! The one error type of media-video, with stable codes that the pipeline stores and logs.

use std::fmt;
use std::path::PathBuf;

use media_core::ErrorCode;

/// Which limit of [`VideoLimits`](crate::VideoLimits) an input broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VideoLimitKind {
    /// Size of the input file in bytes.
    InputBytes,
    /// Duration in whole seconds (rounded up).
    DurationSeconds,
    /// Width of a video stream in pixels.
    Width,
    /// Height of a video stream in pixels.
    Height,
    /// Number of streams in the container.
    Streams,
}

impl fmt::Display for VideoLimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VideoLimitKind::InputBytes => "input size in bytes",
            VideoLimitKind::DurationSeconds => "duration in seconds",
            VideoLimitKind::Width => "width",
            VideoLimitKind::Height => "height",
            VideoLimitKind::Streams => "stream count",
        })
    }
}

/// Why media-video could not probe, extract a poster from, or transcode an input.
///
/// Every variant maps to a stable [`ErrorCode`] that callers store (DynamoDB, JSON output) and
/// match on; the `Display` text is for people and may change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// The input is not a container media-video reads (or FFmpeg does not recognise it at all).
    #[error("unsupported format: {reason}")]
    UnsupportedFormat {
        /// What exactly is not supported.
        reason: String,
    },
    /// The container is readable but a stream's codec cannot be decoded.
    #[error("unsupported {stream} codec: {codec}")]
    UnsupportedCodec {
        /// `video` or `audio`.
        stream: &'static str,
        /// FFmpeg's name of the codec.
        codec: String,
    },
    /// The container is recognised but its contents are malformed.
    #[error("corrupt input: {reason}")]
    CorruptInput {
        /// What FFmpeg or our checks reported.
        reason: String,
    },
    /// The input ends before its container says it should.
    #[error("truncated input: {reason}")]
    TruncatedInput {
        /// What is missing.
        reason: String,
    },
    /// The input is over one of the configured [`VideoLimits`](crate::VideoLimits), from its header
    /// (or, for durations a container does not declare, found while decoding).
    #[error("{kind} is over the limit of {limit} ({actual})")]
    TooLarge {
        /// Which limit.
        kind: VideoLimitKind,
        /// The value the input has or claims.
        actual: u64,
        /// The configured maximum.
        limit: u64,
    },
    /// The operation needs a video stream and the input has none (e.g. a poster of an audio file).
    #[error("the input has no video stream")]
    NoVideoStream,
    /// The input has neither a video nor an audio stream to transcode.
    #[error("the input has no audio or video stream")]
    NoMediaStream,
    /// The caller's deadline passed; the work was stopped and partial outputs removed.
    #[error("deadline exceeded while {stage}")]
    DeadlineExceeded {
        /// What was running when the deadline passed.
        stage: &'static str,
    },
    /// The caller asked for something impossible (CRF over 51, an empty ladder, ...), or passed a
    /// probe that does not describe the input.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// Making thumbnails of the poster frame failed in the media core.
    #[error("poster thumbnails failed")]
    Thumbnail(#[source] media_core::MediaError),
    /// An encoder or muxer failed: a bug or resource problem on our side, not the input's fault.
    #[error("{operation} failed: {reason}")]
    EncodeFailed {
        /// What we were doing (`opening libx264`, `writing the MP4 trailer`, ...).
        operation: String,
        /// What FFmpeg reported.
        reason: String,
    },
    /// Reading the input or writing an output failed at the file-system level.
    #[error("I/O error on {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl VideoError {
    /// The stable code of this error (`unsupported-format`, `too-large`, ...).
    pub fn code(&self) -> ErrorCode {
        match self {
            VideoError::UnsupportedFormat { .. } => ErrorCode::UNSUPPORTED_FORMAT,
            VideoError::UnsupportedCodec { .. } => ErrorCode::UNSUPPORTED_CODEC,
            VideoError::CorruptInput { .. } => ErrorCode::CORRUPT_INPUT,
            VideoError::TruncatedInput { .. } => ErrorCode::TRUNCATED_INPUT,
            VideoError::TooLarge { .. } => ErrorCode::TOO_LARGE,
            VideoError::NoVideoStream => ErrorCode::NO_VIDEO_STREAM,
            VideoError::NoMediaStream => ErrorCode::NO_MEDIA_STREAM,
            VideoError::DeadlineExceeded { .. } => ErrorCode::DEADLINE_EXCEEDED,
            VideoError::InvalidOptions(_) => ErrorCode::INVALID_OPTIONS,
            VideoError::Thumbnail(error) => error.code(),
            VideoError::EncodeFailed { .. } => ErrorCode::ENCODE_FAILED,
            VideoError::Io { .. } => ErrorCode::IO_ERROR,
        }
    }

    /// One value of every variant, for the project's test that checks each code and retry class
    /// against its table of codes (`pipeline::error_codes`). A new variant does not compile here
    /// until it is listed.
    #[doc(hidden)]
    pub fn one_of_each_variant() -> Vec<VideoError> {
        let all = vec![
            VideoError::UnsupportedFormat { reason: "x".into() },
            VideoError::UnsupportedCodec { stream: "video", codec: "x".into() },
            VideoError::CorruptInput { reason: "x".into() },
            VideoError::TruncatedInput { reason: "x".into() },
            VideoError::TooLarge { kind: VideoLimitKind::Width, actual: 2, limit: 1 },
            VideoError::NoVideoStream,
            VideoError::NoMediaStream,
            VideoError::DeadlineExceeded { stage: "x" },
            VideoError::InvalidOptions("x".into()),
            VideoError::Thumbnail(media_core::MediaError::InvalidOptions("x".into())),
            VideoError::EncodeFailed { operation: "x".into(), reason: "x".into() },
            VideoError::Io { path: PathBuf::from("x"), source: std::io::Error::other("x") },
        ];
        for error in &all {
            match error {
                VideoError::UnsupportedFormat { .. }
                | VideoError::UnsupportedCodec { .. }
                | VideoError::CorruptInput { .. }
                | VideoError::TruncatedInput { .. }
                | VideoError::TooLarge { .. }
                | VideoError::NoVideoStream
                | VideoError::NoMediaStream
                | VideoError::DeadlineExceeded { .. }
                | VideoError::InvalidOptions(_)
                | VideoError::Thumbnail(_)
                | VideoError::EncodeFailed { .. }
                | VideoError::Io { .. } => {}
            }
        }
        all
    }

    /// Whether trying the same job again could succeed: its code's retry class. Everything about
    /// the input itself is permanent. A passed deadline is not retryable as-is either: the same
    /// job on the same worker would hit it again, so the pipeline hands it to a longer-running
    /// worker instead. Encoder, muxer and file-system failures (resources on our side) are worth a
    /// retry.
    pub fn is_retryable(&self) -> bool {
        self.code().is_retryable()
    }

    /// An [`Io`](VideoError::Io) error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VideoError::Io { path: path.into(), source }
    }

    /// An [`EncodeFailed`](VideoError::EncodeFailed) error for `operation`.
    pub(crate) fn encode(operation: impl Into<String>, reason: impl fmt::Display) -> Self {
        VideoError::EncodeFailed { operation: operation.into(), reason: reason.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_kebab_case_and_bad_media_is_permanent() {
        let cases = [
            (VideoError::UnsupportedFormat { reason: "x".into() }, ErrorCode::UNSUPPORTED_FORMAT, false),
            (VideoError::CorruptInput { reason: "x".into() }, ErrorCode::CORRUPT_INPUT, false),
            (VideoError::TruncatedInput { reason: "x".into() }, ErrorCode::TRUNCATED_INPUT, false),
            (
                VideoError::TooLarge { kind: VideoLimitKind::Width, actual: 9000, limit: 8192 },
                ErrorCode::TOO_LARGE,
                false,
            ),
            (VideoError::NoVideoStream, ErrorCode::NO_VIDEO_STREAM, false),
            (VideoError::DeadlineExceeded { stage: "encoding" }, ErrorCode::DEADLINE_EXCEEDED, false),
            (VideoError::encode("opening libx264", "ENOMEM"), ErrorCode::ENCODE_FAILED, true),
            (VideoError::io("/tmp/x", std::io::Error::other("disk full")), ErrorCode::IO_ERROR, true),
        ];
        for (error, code, retryable) in cases {
            assert_eq!(error.code(), code, "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
        }
    }

    #[test]
    fn display_says_what_failed_without_the_source() {
        let error = VideoError::TooLarge { kind: VideoLimitKind::DurationSeconds, actual: 7201, limit: 3600 };
        assert_eq!(error.to_string(), "duration in seconds is over the limit of 3600 (7201)");
        let error = VideoError::io("/work/a.mp4", std::io::Error::other("boom"));
        assert_eq!(error.to_string(), "I/O error on /work/a.mp4");
    }
}

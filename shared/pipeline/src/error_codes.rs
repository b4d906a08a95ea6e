//! The one table of error codes: every code the media crates and the pipeline produce, with its
//! retry class. Job records, completion events, EMF metrics (the `Outcome` dimension) and the CLI's
//! JSON all carry these strings; README's error table lists the same rows, and tests check that
//! every error variant of media-core, media-video and the pipeline maps to a row here with the same
//! retry class at every layer.

/// One error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The stable kebab-case code.
    pub code: &'static str,
    /// Whether SQS delivers the job again (a failure on our side or of a service), or the failure
    /// is recorded on the asset and the message acknowledged (the input's fault).
    pub retryable: bool,
    /// What it means, as README says it.
    pub meaning: &'static str,
}

const fn permanent(code: &'static str, meaning: &'static str) -> ErrorCode {
    ErrorCode { code, retryable: false, meaning }
}

const fn retried(code: &'static str, meaning: &'static str) -> ErrorCode {
    ErrorCode { code, retryable: true, meaning }
}

/// Every error code, in README's order.
pub const ERROR_CODES: &[ErrorCode] = &[
    permanent("unsupported-format", "not a format mediaflow reads (sniffed from the bytes, never the name)"),
    permanent("corrupt-input", "the format is recognised but the data is malformed"),
    permanent("truncated-input", "the data ends early"),
    permanent(
        "too-large",
        "over a limit (bytes, pixels, frames, duration, streams), checked before decoding",
    ),
    permanent(
        "unsupported-codec",
        "a video or audio file's container is read but its video codec (or, without video, its audio codec) is not",
    ),
    permanent("no-video-stream", "a poster was asked of a file without a video stream"),
    permanent("no-media-stream", "a video or audio container with neither a video nor an audio stream"),
    permanent(
        "deadline-exceeded",
        "a transcode ran past its deadline and was stopped; in the pipeline it is never recorded: the job (or its segment) goes to worker mode instead",
    ),
    permanent("invalid-options", "a setting is impossible (a zero thumbnail size, an empty ladder, ...)"),
    permanent("media-panic", "a media library panicked on this input; recorded instead of retried"),
    permanent(
        "moderation-refused",
        "Rekognition refused the picture (format, size or parameters) even after re-encoding it",
    ),
    retried("encode-failed", "an encoder or muxer failed: a resource problem on our side"),
    retried(
        "moderation-failed",
        "the local moderation model could not be loaded or run (a missing or wrong model file: redeploy)",
    ),
    retried("io-error", "a local file could not be read or written (temporary storage)"),
    retried("not-found", "the source object or item is missing (yet)"),
    retried("service-unavailable", "S3, DynamoDB, SQS or EventBridge throttled, timed out or failed"),
    retried("access-denied", "a service refused the call (permissions, validation): fix, then redrive"),
    retried("job-busy", "another delivery of the same job holds its lease"),
    retried("internal-error", "a bug: the task failed unexpectedly"),
];

/// The row of `code`, if it is one of mediaflow's.
pub fn error_code(code: &str) -> Option<&'static ErrorCode> {
    ERROR_CODES.iter().find(|row| row.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        for (index, row) in ERROR_CODES.iter().enumerate() {
            assert!(row.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{}", row.code);
            assert!(
                ERROR_CODES[..index].iter().all(|earlier| earlier.code != row.code),
                "{} twice",
                row.code
            );
        }
    }

    #[test]
    fn readme_lists_every_code_with_its_retry_class() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
            .expect("README.md");
        for row in ERROR_CODES {
            let class = if row.retryable { "retried" } else { "recorded" };
            let line = readme
                .lines()
                .find(|line| line.starts_with(&format!("| `{}` |", row.code)))
                .unwrap_or_else(|| panic!("README's error table has no row for {}", row.code));
            assert!(line.contains(&format!("| {class} |")), "README says otherwise of {}: {line}", row.code);
        }
        let rows = readme
            .lines()
            .filter(|line| line.starts_with("| `") && line.contains("| recorded |"))
            .count()
            + readme.lines().filter(|line| line.starts_with("| `") && line.contains("| retried |")).count();
        assert_eq!(rows, ERROR_CODES.len(), "README's error table has rows that are not codes");
    }
}

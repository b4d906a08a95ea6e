//! Every error of every layer — media-core, media-video, the pipeline — has a code of the one table
//! (`media_core::ErrorCode`, the only codes there are), and keeps that code and its retry class
//! across each seam it crosses (media error → job error → the record on the asset).

use pipeline::model::Failure;
use pipeline::{ErrorCode, JobError, PortError, PortErrorKind};

/// Asserts that `code`'s retry class in the table is `retryable` (the error's own, in its crate),
/// and that `job`, the same error after crossing into the pipeline, kept both.
fn assert_same_at_every_layer(what: &str, code: ErrorCode, retryable: bool, job: JobError) {
    assert!(ErrorCode::ALL.contains(&code), "{what}: {code} is not in the table");
    assert_eq!(code.is_retryable(), retryable, "{what}: {code} is retried in its crate but not in the table");
    assert_eq!(job.code(), code, "{what}: the pipeline changed the code");
    assert_eq!(job.is_retryable(), retryable, "{what}: the pipeline changed the retry class of {code}");
    assert_eq!(job.to_failure().code, code, "{what}: the recorded failure has another code");
}

#[test]
fn media_core_errors_keep_their_code_and_retry_class() {
    for error in media_core::MediaError::one_of_each_variant() {
        let (what, code, retryable) = (format!("{error:?}"), error.code(), error.is_retryable());
        assert_same_at_every_layer(&what, code, retryable, JobError::from(error));
    }
}

#[test]
fn media_video_errors_keep_their_code_and_retry_class() {
    for error in media_video::VideoError::one_of_each_variant() {
        let (what, code, retryable) = (format!("{error:?}"), error.code(), error.is_retryable());
        assert_same_at_every_layer(&what, code, retryable, pipeline_video::job_error(error));
    }
}

#[test]
fn pipeline_errors_keep_the_retry_class_of_their_code() {
    let port = |kind| JobError::Port(PortError::new("s3:GetObject", kind, "x"));
    let errors = [
        JobError::Permanent(Failure::new(ErrorCode::CORRUPT_INPUT, "x")),
        JobError::Retryable(Failure::new(ErrorCode::ENCODE_FAILED, "x")),
        port(PortErrorKind::NotFound),
        port(PortErrorKind::Unavailable),
        port(PortErrorKind::Rejected),
        port(PortErrorKind::LocalIo),
        JobError::io("x")(std::io::Error::other("x")),
        JobError::Busy { job: "a/thumbnail".into(), until: pipeline::time::Timestamp::from_millis(0) },
        JobError::Internal("x".into()),
        JobError::RetryAt {
            error: Box::new(port(PortErrorKind::NotFound)),
            at: pipeline::time::Timestamp::from_millis(0),
        },
    ];
    for error in errors {
        // Exhaustive on purpose: a new variant must be added to the list above.
        match &error {
            JobError::Permanent(_)
            | JobError::Retryable(_)
            | JobError::Port(_)
            | JobError::Io { .. }
            | JobError::Busy { .. }
            | JobError::RetryAt { .. }
            | JobError::Internal(_) => {}
        }
        assert_eq!(error.code().is_retryable(), error.is_retryable(), "{error:?}");
    }
    assert_eq!(port(PortErrorKind::Rejected).code(), ErrorCode::ACCESS_DENIED, "refusals are not outages");
    assert_eq!(port(PortErrorKind::LocalIo).code(), ErrorCode::IO_ERROR, "a local disk is not a refusal");
}

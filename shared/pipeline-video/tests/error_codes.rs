//! Every error of every layer — media-core, media-video, the pipeline — has a code in the one table
//! (`pipeline::error_codes`), and keeps that code and its retry class across each seam it crosses
//! (media error → job error → the record on the asset).

use pipeline::error_codes::error_code;
use pipeline::model::Failure;
use pipeline::{JobError, PortError, PortErrorKind};

/// Asserts that `code` is in the table with retry class `retryable`, and that `job` — the same
/// error after crossing into the pipeline — kept both.
fn assert_same_at_every_layer(what: &str, code: &str, retryable: bool, job: JobError) {
    let row = error_code(code).unwrap_or_else(|| panic!("{what}: code {code} is not in the table"));
    assert_eq!(row.retryable, retryable, "{what}: {code} is retried in its crate but not in the table");
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
fn pipeline_errors_have_codes_in_the_table() {
    let port = |kind| JobError::Port(PortError::new("s3:GetObject", kind, "x"));
    let errors = [
        JobError::Permanent(Failure::new("corrupt-input", "x")),
        JobError::Retryable(Failure::new("encode-failed", "x")),
        port(PortErrorKind::NotFound),
        port(PortErrorKind::Unavailable),
        port(PortErrorKind::Rejected),
        JobError::io("x")(std::io::Error::other("x")),
        JobError::Busy { job: "a/thumbnail".into(), until: pipeline::time::Timestamp::from_millis(0) },
        JobError::Task("x".into()),
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
            | JobError::Task(_) => {}
        }
        let row = error_code(error.code())
            .unwrap_or_else(|| panic!("{error:?}: {} not in the table", error.code()));
        assert_eq!(row.retryable, error.is_retryable(), "{error:?}");
    }
    assert_eq!(port(PortErrorKind::Rejected).code(), "access-denied", "refusals are not outages");
}

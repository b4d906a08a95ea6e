//! What every job's use-case shares: its output type, the blocking pool and the size check before
//! reading a source. Public because the video jobs live in their own crate
//! (`pipeline-video`), so that functions which never see a video carry no FFmpeg.

use media_core::ErrorCode;
use tracing::Span;

use crate::error::JobError;
use crate::messages::JobMessage;
use crate::model::{Derivative, Failure};
use crate::moderation::Moderation;

/// What a job's attempt produced.
#[derive(Debug)]
pub enum JobOutput {
    /// Finished: derivatives, the metadata job's metadata and checksum, the moderate job's result.
    Done {
        /// Files written to the derivatives bucket.
        derivatives: Vec<Derivative>,
        /// The metadata job's result, recorded on the asset.
        metadata: Option<serde_json::Value>,
        /// The metadata job's SHA-256 of the source, indexed for duplicate search.
        sha256: Option<String>,
        /// The moderate job's result, recorded on the asset (boxed: it is the largest field and
        /// only one job has it).
        moderation: Option<Box<Moderation>>,
    },
    /// Too long for the time left: sent to the long-job queue for worker mode.
    SentToWorker,
    /// Split into parts that run at once (a long video's segments and its audio); the use-case
    /// records them and sends one message each.
    Split {
        /// Every part, in order.
        parts: Vec<crate::messages::JobPart>,
    },
}

/// Runs CPU-bound media work on the blocking pool, inside the caller's span, so decoding never
/// stalls the runtime's threads (the visibility heartbeats and progress writes run there). A panic
/// of that work is the input's doing (the media code has no other state): it becomes the permanent
/// `media-panic` failure instead of a retry that would panic again until the message is
/// dead-lettered.
pub async fn blocking<T, F>(work: F) -> Result<T, JobError>
where
    F: FnOnce() -> Result<T, JobError> + Send + 'static,
    T: Send + 'static,
{
    let span = Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(work)).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => {
            let payload = error.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(JobError::Permanent(Failure::new(ErrorCode::MEDIA_PANIC, message)))
        }
        Err(error) => Err(JobError::Internal(error.to_string())),
    }
}

/// Refuses an input over `max_bytes` before downloading it.
pub fn check_size(message: &JobMessage, max_bytes: u64) -> Result<(), JobError> {
    if message.size > max_bytes {
        return Err(JobError::Permanent(Failure::new(
            ErrorCode::TOO_LARGE,
            format!("the object is {} bytes, over the limit of {max_bytes}", message.size),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_media_work_is_a_permanent_coded_failure() {
        let outcome: Result<(), JobError> = blocking(|| panic!("index out of bounds in a decoder")).await;
        match outcome {
            Err(JobError::Permanent(failure)) => {
                assert_eq!(failure.code, ErrorCode::MEDIA_PANIC);
                assert!(failure.message.contains("index out of bounds"), "{}", failure.message);
            }
            other => panic!("expected a permanent media-panic, got {other:?}"),
        }
        assert_eq!(blocking(|| Ok(7)).await.ok(), Some(7));
    }
}

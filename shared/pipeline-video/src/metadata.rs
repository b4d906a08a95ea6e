//! The metadata job of a video or audio file: its probe (container, streams, rotation, HDR,
//! capture time and place) and the SHA-256 of its bytes, indexed for duplicate search.
//!
//! Nothing is downloaded: the probe reads the few blocks it needs by ranged GETs (the container's
//! header and index), and the checksum streams the object through memory, for files up to
//! [`VideoSettings::checksum_max_bytes`]. Larger files get no checksum: reading all of a 5 GB
//! upload to fingerprint it would cost more than everything else the job does.

use pipeline::job_support::{JobOutput, blocking, check_size};
use pipeline::messages::JobMessage;
use pipeline::{ErrorCode, JobError, Services};
use sha2::{Digest, Sha256};
use tracing::info;

use crate::source::s3_source;
use crate::{VideoSettings, job_error};

/// How much of the object each ranged GET of the checksum reads.
const CHECKSUM_CHUNK: u64 = 8 << 20;

pub(crate) async fn run(
    services: &Services,
    settings: &VideoSettings,
    message: &JobMessage,
) -> Result<JobOutput, JobError> {
    check_size(message, settings.limits.max_input_bytes)?;
    let source = s3_source(services, message).await?;
    let limits = settings.limits;
    let probe = blocking(move || {
        let probe = media_video::probe(&source, &limits).map_err(job_error)?;
        if let Some(stats) = source.stats() {
            info!(bytes_read = stats.bytes_read, requests = stats.requests, "probed by ranged reads");
        }
        serde_json::to_value(&probe)
            .map_err(|error| JobError::Internal(format!("the probe does not serialise: {error}")))
    })
    .await?;
    let sha256 = if message.size <= settings.checksum_max_bytes {
        Some(streamed_sha256(services, message).await?)
    } else {
        info!(bytes = message.size, limit = settings.checksum_max_bytes, "too large to checksum");
        None
    };
    Ok(JobOutput::Done { derivatives: Vec::new(), metadata: Some(probe), sha256, moderation: None })
}

/// The SHA-256 of the source, read in ranged GETs of [`CHECKSUM_CHUNK`] bytes.
async fn streamed_sha256(services: &Services, message: &JobMessage) -> Result<String, JobError> {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < message.size {
        let end = (offset + CHECKSUM_CHUNK).min(message.size);
        let chunk = services.objects.get_range(&message.bucket, &message.key, offset..end).await?;
        if chunk.len() as u64 != end - offset {
            return Err(JobError::Retryable(pipeline::Failure::new(
                ErrorCode::NOT_FOUND,
                format!("the object is shorter than the {} bytes it had at upload", message.size),
            )));
        }
        hasher.update(&chunk);
        offset = end;
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

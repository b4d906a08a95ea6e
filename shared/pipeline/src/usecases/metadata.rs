//! The metadata job: image metadata and fingerprints and the SHA-256 of the bytes (indexed for
//! duplicate search); videos and audio files are handed to the video port, which probes them.

use media_core::{ErrorCode, MediaKind};

use crate::error::JobError;
use crate::job_support::{JobOutput, blocking, check_size};
use crate::messages::JobMessage;
use crate::model::Failure;
use crate::services::Services;

pub(crate) async fn run(services: &Services, message: &JobMessage) -> Result<JobOutput, JobError> {
    let (settings, images) = (services.settings.clone(), services.images.clone());
    let (metadata, sha256) = match message.kind {
        MediaKind::Image => {
            check_size(message, settings.image_limits.max_input_bytes)?;
            let bytes = services.objects.get(&message.bucket, &message.key).await?;
            blocking(move || {
                let metadata = images.read_metadata(&bytes, &settings.image_limits)?;
                let sha256 = metadata.sha256.clone();
                Ok((to_json(&metadata)?, sha256))
            })
            .await?
        }
        MediaKind::Video | MediaKind::Audio => return services.video()?.metadata(services, message).await,
        MediaKind::Unknown => {
            return Err(JobError::Permanent(Failure::new(
                ErrorCode::UNSUPPORTED_FORMAT,
                "not an image, video or audio file",
            )));
        }
    };
    Ok(JobOutput::Done {
        derivatives: Vec::new(),
        metadata: Some(metadata),
        sha256: Some(sha256),
        moderation: None,
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, JobError> {
    serde_json::to_value(value)
        .map_err(|error| JobError::Internal(format!("metadata does not serialise: {error}")))
}

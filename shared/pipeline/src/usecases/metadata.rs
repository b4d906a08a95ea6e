//! The metadata job: image metadata and fingerprints, or a video's probe, and the SHA-256 of the
//! bytes (indexed for duplicate search).

use std::io::Read;

use media_core::MediaKind;
use sha2::{Digest, Sha256};

use crate::error::JobError;
use crate::model::Failure;
use crate::ports::JobMessage;
use crate::services::Services;
use crate::usecases::jobs::{JobOutput, blocking, check_size};
use crate::usecases::transcode::download_to_temp;

pub(crate) async fn run(services: &Services, message: &JobMessage) -> Result<JobOutput, JobError> {
    let settings = services.settings.clone();
    let (metadata, sha256) = match message.kind {
        MediaKind::Image => {
            check_size(message, settings.image_limits.max_input_bytes)?;
            let bytes = services.objects.get(&message.bucket, &message.key).await?;
            blocking(move || {
                let metadata = media_core::read_metadata(&bytes, &settings.image_limits)?;
                let sha256 = metadata.sha256.clone();
                Ok((to_json(&metadata)?, sha256))
            })
            .await?
        }
        MediaKind::Video => {
            check_size(message, settings.video_limits.max_input_bytes)?;
            let source = download_to_temp(services, message).await?;
            blocking(move || {
                let probe = media_video::probe(source.path(), &settings.video_limits)?;
                Ok((to_json(&probe)?, sha256_of_file(source.path())?))
            })
            .await?
        }
        MediaKind::Unknown => {
            return Err(JobError::Permanent(Failure::new("unsupported-format", "not an image or video")));
        }
    };
    Ok(JobOutput::Done { derivatives: Vec::new(), metadata: Some(metadata), sha256: Some(sha256) })
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, JobError> {
    serde_json::to_value(value)
        .map_err(|error| JobError::Task(format!("metadata does not serialise: {error}")))
}

fn sha256_of_file(path: &std::path::Path) -> Result<String, JobError> {
    let mut file = std::fs::File::open(path).map_err(JobError::io("opening the downloaded video"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(JobError::io("reading the downloaded video"))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

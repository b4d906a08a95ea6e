//! The thumbnail job: one decode, every size, uploaded as `<asset id>/thumb-<size>.<ext>`.

use crate::error::JobError;
use crate::job_support::{JobOutput, blocking, check_size};
use crate::messages::JobMessage;
use crate::model::{Derivative, DerivativeRole};
use crate::services::Services;

pub(crate) async fn run(services: &Services, message: &JobMessage) -> Result<JobOutput, JobError> {
    let (settings, images) = (services.settings.clone(), services.images.clone());
    check_size(message, settings.image_limits.max_input_bytes)?;
    let bytes = services.objects.get(&message.bucket, &message.key).await?;
    let processed =
        blocking(move || Ok(images.process_image(&bytes, &settings.thumbnails, &settings.image_limits)?))
            .await?;
    let mut derivatives = Vec::with_capacity(processed.thumbnails.len());
    for thumbnail in processed.thumbnails {
        let key = format!(
            "{}thumb-{}.{}",
            message.asset_id.derivatives_prefix(),
            thumbnail.size,
            thumbnail.format.extension()
        );
        let bytes = thumbnail.bytes.len() as u64;
        services
            .objects
            .put(&services.settings.derivatives_bucket, &key, thumbnail.bytes, thumbnail.format.mime_type())
            .await?;
        derivatives.push(Derivative {
            key,
            role: DerivativeRole::Thumbnail,
            format: thumbnail.format.name().to_owned(),
            width: Some(thumbnail.width),
            height: Some(thumbnail.height),
            bytes,
            duration_seconds: None,
        });
    }
    Ok(JobOutput::Done { derivatives, metadata: None, sha256: None, moderation: None })
}

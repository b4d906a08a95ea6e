//! The moderate job: the classifier looks at an image (decoded upright, no larger than it needs,
//! and the embedded preview its thumbnails are made from, if any) or at stills spread over a
//! video, and the asset records the labels and the decision.

use std::time::Instant;

use media_core::{ErrorCode, MediaKind};
use tracing::info;

use crate::error::JobError;
use crate::job_support::{JobOutput, blocking, check_size};
use crate::messages::JobMessage;
use crate::model::Failure;
use crate::moderation::Moderation;
use crate::services::Services;

pub(crate) async fn run(services: &Services, message: &JobMessage) -> Result<JobOutput, JobError> {
    let classifier = services.classifier()?;
    let settings = services.settings.moderation.unwrap_or_default();
    let started = Instant::now();
    let side = classifier.input_box();
    let pictures = match message.kind {
        MediaKind::Image => {
            let limits = services.settings.image_limits;
            check_size(message, limits.max_input_bytes)?;
            let bytes = services.objects.get(&message.bucket, &message.key).await?;
            let images = services.images.clone();
            let thumbnails = services.settings.thumbnails.clone();
            // The main image, and the embedded preview when the thumbnails are made from one:
            // what viewers see must be what was judged, and the two can differ.
            blocking(move || {
                let mut pictures = vec![images.render_upright(&bytes, &limits, side)?];
                pictures.extend(images.render_thumbnail_preview(&bytes, &thumbnails, &limits, side)?);
                Ok(pictures)
            })
            .await?
        }
        MediaKind::Video => {
            let count = settings.video_frames.max(1) as usize;
            services.video()?.stills(services, message, count, side).await?
        }
        MediaKind::Audio | MediaKind::Unknown => {
            return Err(JobError::Permanent(Failure::new(
                ErrorCode::UNSUPPORTED_FORMAT,
                "moderation looks at images and videos only",
            )));
        }
    };
    let mut labels = Vec::with_capacity(pictures.len());
    for picture in pictures {
        labels.push(classifier.classify(picture).await?);
    }
    let ms = started.elapsed().as_millis() as u64;
    let moderation =
        Moderation::decide(classifier.provider(), classifier.model(), &labels, settings.threshold, ms);
    info!(decision = ?moderation.decision, frames = moderation.frames, ms, "moderated");
    Ok(JobOutput::Done {
        derivatives: Vec::new(),
        metadata: None,
        sha256: None,
        moderation: Some(Box::new(moderation)),
    })
}

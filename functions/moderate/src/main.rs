//! The `moderate` function: classifies an image, or stills spread over a video, and records the
//! labels and the decision on the asset (see `pipeline::moderation`).
//!
//! `MEDIAFLOW_MODERATION` picks the classifier: `local` runs open_nsfw in process (the model file
//! travels in this function's zip, next to `bootstrap`, and is loaded once at init), `rekognition`
//! calls Amazon Rekognition. On Lambda it serves the Runtime API; `moderate worker --queue-url URL`
//! runs the same handler as a long-polling worker.

use std::sync::Arc;

use aws_adapters::Config;
use aws_adapters::rekognition::RekognitionClassifier;
use moderation_local::{LocalClassifier, OpenNsfw, model_path_from_env};
use pipeline::JobKind;
use pipeline::moderation::{Classifier, ModerationProvider};
use pipeline_video::FfmpegVideoJobs;

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::Function::job(JobKind::Moderate)
        .with_video_jobs(FfmpegVideoJobs::from_env)
        .with_image_decoders(media_heif::image_decoders())
        .with_classifier(classifier)
        .run()
        .await
}

/// The stack's classifier; `None` when moderation is off (ingest then sends no moderate jobs).
fn classifier(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Result<Option<Arc<dyn Classifier>>, runtime::Error> {
    let threshold = config.settings.moderation.unwrap_or_default().threshold;
    Ok(match config.moderation {
        Some(ModerationProvider::Local) => {
            let path = model_path_from_env();
            let started = std::time::Instant::now();
            let classifier = LocalClassifier::new(Arc::new(OpenNsfw::load(&path)?));
            tracing::info!(path = %path.display(), load_ms = started.elapsed().as_millis() as u64, "model loaded");
            Some(Arc::new(classifier))
        }
        Some(ModerationProvider::Rekognition) => {
            Some(Arc::new(RekognitionClassifier::from_conf(sdk, threshold as f32)))
        }
        None => None,
    })
}

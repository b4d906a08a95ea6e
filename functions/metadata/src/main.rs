//! The `metadata` function: extracts the metadata, fingerprints and checksum of an image, video or
//! audio file.
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `metadata worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

use pipeline::JobKind;
use pipeline_video::FfmpegVideoJobs;

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::Function::job(JobKind::Metadata)
        .with_video_jobs(FfmpegVideoJobs::from_env)
        .with_image_decoders(media_heif::image_decoders())
        .run()
        .await
}

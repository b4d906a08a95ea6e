//! The `metadata` function: extracts the metadata, fingerprints and checksum of an image, video or
//! audio file.
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `metadata worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

use aws_adapters::function::{Function, run};
use pipeline::JobKind;
use pipeline_video::FfmpegVideoJobs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::Job(JobKind::Metadata), Some(FfmpegVideoJobs::from_env), media_heif::image_decoders()).await
}

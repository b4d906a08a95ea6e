//! The `transcode` function: makes a video's poster, H.264 renditions and HLS, or an audio file's AAC
//! rendition (long jobs go to worker mode).
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `transcode worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

use pipeline::JobKind;
use pipeline_video::FfmpegVideoJobs;

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::Function::job(JobKind::Transcode).with_video_jobs(FfmpegVideoJobs::from_env).run().await
}

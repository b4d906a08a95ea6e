//! The video half of the jobs, as a port: the transcode job, a video's metadata and its stills. Implemented
//! on FFmpeg by the `pipeline-video` crate; the functions that need it (transcode, metadata) plug
//! it into [`Services::video`], and the others (ingest, thumbnail) are built without FFmpeg.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::JobError;
use crate::job_support::JobOutput;
use crate::ports::JobMessage;
use crate::services::Services;

/// Runs the jobs of video and audio uploads.
#[async_trait]
pub trait VideoJobs: Send + Sync {
    /// The transcode job: posters, renditions, HLS or the audio rendition, uploaded under the
    /// asset's prefix. `deadline` is Lambda's (the job may go to worker mode instead), `None` in
    /// worker mode.
    async fn transcode(
        &self,
        services: &Services,
        message: &JobMessage,
        deadline: Option<SystemTime>,
    ) -> Result<JobOutput, JobError>;

    /// The metadata job of a video or audio file: its probe and the SHA-256 of its bytes.
    async fn metadata(&self, services: &Services, message: &JobMessage) -> Result<JobOutput, JobError>;

    /// `count` upright stills spread evenly over the video, fitted within a `side`×`side` box:
    /// what the moderate job classifies.
    async fn stills(
        &self,
        services: &Services,
        message: &JobMessage,
        count: usize,
        side: u32,
    ) -> Result<Vec<image::RgbImage>, JobError>;
}

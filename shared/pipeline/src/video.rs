//! The video half of the jobs, as a port: the transcode job, a video's metadata and its stills. Implemented
//! on FFmpeg by the `pipeline-video` crate; the functions that need it (transcode, metadata,
//! moderate) plug it into [`Services::video`], and the others (ingest, thumbnail, reconcile) are
//! built without FFmpeg.
//!
//! [`Services`] holds this port and the port's methods take the [`Services`]: a video job runs
//! use-case work (uploads, progress writes, the long-job queue) with the other ports. The two
//! modules name each other for that reason; the cycle is a type-level one, not a call loop.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::JobError;
use crate::job_support::JobOutput;
use crate::messages::{JobMessage, JobPart};
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

    /// One part of a split transcode (a segment or the audio): its files uploaded, ready for the
    /// join. `Done` with the files written, or `SentToWorker` when it would not finish in time.
    async fn transcode_part(
        &self,
        services: &Services,
        message: &JobMessage,
        part: &JobPart,
        deadline: Option<SystemTime>,
    ) -> Result<JobOutput, JobError>;

    /// The join of a split transcode, once every part finished: playlists and MP4 renditions
    /// assembled from the parts' files, and every derivative of the job; or `SentToWorker` when it
    /// cannot be done before `deadline` (Lambda's; `None` in worker mode) or in this function's
    /// temporary storage.
    async fn join(
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

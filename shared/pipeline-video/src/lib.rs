//! The video jobs of the mediaflow pipeline, on FFmpeg through `media-video`: the transcode job
//! (posters, the H.264 ladder, HLS, or the AAC rendition of audio), the metadata job of a video
//! (its probe and checksum) and the stills the moderate job classifies, behind `pipeline`'s
//! [`VideoJobs`] port.
//!
//! This is a crate of its own so that FFmpeg is linked only where it is used: the transcode,
//! metadata and moderate functions plug [`FfmpegVideoJobs`] into their services, while ingest,
//! thumbnail and reconcile never depend on this crate and carry no FFmpeg at all.

mod attempt_env;
mod estimate;
mod metadata;
mod outputs;
mod progress;
mod segments;
mod settings;
mod source;
mod transcode;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use pipeline::job_support::{JobOutput, blocking, check_size};
use pipeline::messages::{JobMessage, JobPart};
use pipeline::model::Failure;
use pipeline::{JobError, Services, VideoJobs};

pub use estimate::estimate_transcode_seconds;
pub use settings::VideoSettings;

/// The video jobs on FFmpeg, with their settings.
#[derive(Debug, Clone)]
pub struct FfmpegVideoJobs {
    settings: Arc<VideoSettings>,
}

impl FfmpegVideoJobs {
    /// Initialises FFmpeg (once per process; its logs go to `tracing`) and keeps `settings`.
    pub fn new(settings: VideoSettings) -> FfmpegVideoJobs {
        media_video::init();
        FfmpegVideoJobs { settings: Arc::new(settings) }
    }

    /// The video jobs with settings read from the process environment (`MEDIAFLOW_RENDITIONS`,
    /// `MEDIAFLOW_HLS`, `MEDIAFLOW_X264_PRESET`, `MEDIAFLOW_TRANSCODE_PIXELS_PER_SECOND`), as the
    /// function binaries plug them into their services.
    pub fn from_env() -> Result<Arc<dyn VideoJobs>, pipeline::config::ConfigError> {
        let settings = VideoSettings::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?;
        Ok(Arc::new(FfmpegVideoJobs::new(settings)))
    }
}

#[async_trait]
impl VideoJobs for FfmpegVideoJobs {
    async fn transcode(
        &self,
        services: &Services,
        message: &JobMessage,
        deadline: Option<SystemTime>,
    ) -> Result<JobOutput, JobError> {
        transcode::run(services, &self.settings, message, deadline).await
    }

    async fn transcode_part(
        &self,
        services: &Services,
        message: &JobMessage,
        part: &JobPart,
        deadline: Option<SystemTime>,
    ) -> Result<JobOutput, JobError> {
        segments::run_part(services, &self.settings, message, part, deadline).await
    }

    async fn join(
        &self,
        services: &Services,
        message: &JobMessage,
        deadline: Option<SystemTime>,
    ) -> Result<JobOutput, JobError> {
        segments::join(services, &self.settings, message, deadline).await
    }

    async fn metadata(&self, services: &Services, message: &JobMessage) -> Result<JobOutput, JobError> {
        metadata::run(services, &self.settings, message).await
    }

    async fn stills(
        &self,
        services: &Services,
        message: &JobMessage,
        count: usize,
        side: u32,
    ) -> Result<Vec<image::RgbImage>, JobError> {
        check_size(message, self.settings.limits.max_input_bytes)?;
        let source = source::s3_source(services, message).await?;
        let limits = self.settings.limits;
        blocking(move || {
            let probe = media_video::probe(&source, &limits).map_err(job_error)?;
            let stills = media_video::extract_stills(&source, &probe, count, side).map_err(job_error)?;
            Ok(stills.into_iter().map(|still| still.image).collect())
        })
        .await
    }
}

/// A video error as a job error with the same code and retry class: bad media is recorded and
/// acknowledged, a failure on our side (encoder, I/O) is retried. (`From` cannot be implemented
/// here: both types belong to other crates.)
pub fn job_error(error: media_video::VideoError) -> JobError {
    let failure = Failure::new(error.code(), error.to_string());
    if error.is_retryable() { JobError::Retryable(failure) } else { JobError::Permanent(failure) }
}

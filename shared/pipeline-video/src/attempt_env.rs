//! What a transcode attempt works with, whether it runs the whole job ([`crate::transcode`]) or
//! a part of a split one ([`crate::segments`]): the time left before Lambda's deadline, a private
//! output folder, the encoder options of the stack's settings, and the hand-over to worker mode.
//! Its own module so that the whole job and the parts share it without importing each other.

use std::time::{Duration, SystemTime};

use media_video::TranscodeOptions;
use pipeline::job_support::JobOutput;
use pipeline::messages::JobMessage;
use pipeline::ports::JobQueueName;
use pipeline::{JobError, Services};

use crate::VideoSettings;

/// The Lambda time left for the work itself, `None` in worker mode.
pub(crate) fn time_left(services: &Services, deadline: Option<SystemTime>) -> Option<Duration> {
    deadline.map(|deadline| {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(services.settings.deadline_margin)
    })
}

/// Hands `message` (the job, or one of its segments) to the long-job queue for worker mode.
pub(crate) async fn send_to_worker(services: &Services, message: &JobMessage) -> Result<JobOutput, JobError> {
    services.queue.send(JobQueueName::TranscodeLong, message).await?;
    Ok(JobOutput::SentToWorker)
}

/// A private folder for the outputs, removed when dropped.
pub(crate) fn output_folder(services: &Services) -> Result<tempfile::TempDir, JobError> {
    tempfile::Builder::new()
        .prefix("mediaflow-out-")
        .tempdir_in(&services.settings.work_dir)
        .map_err(JobError::io("creating the output folder"))
}

/// The transcode options of the stack's settings, writing into `out_dir`.
pub(crate) fn transcode_options(
    video: &VideoSettings,
    out_dir: &std::path::Path,
    services: &Services,
) -> TranscodeOptions {
    let mut options = TranscodeOptions::new(out_dir, &services.settings.work_dir);
    options.ladder = video.ladder.clone();
    options.preset = video.preset;
    options.hls = video.hls;
    options.limits = video.limits;
    options
}

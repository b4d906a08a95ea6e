//! The transcode job: poster thumbnails, the H.264 ladder and HLS of a video (or the AAC rendition
//! of an audio-only input), uploaded under `<asset id>/`. A clip that would not finish before
//! Lambda's deadline goes to the long-job queue for worker mode instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime};

use media_video::TranscodeOptions;
use pipeline::job_support::{JobOutput, blocking, check_size, download_to_temp};
use pipeline::ports::{JobMessage, JobQueueName};
use pipeline::{JobError, Services};
use tracing::info;

use crate::outputs::upload_outputs;
use crate::progress::spawn_progress_reporter;
use crate::{VideoSettings, estimate_transcode_seconds, job_error};

pub(crate) async fn run(
    services: &Services,
    video: &VideoSettings,
    message: &JobMessage,
    deadline: Option<SystemTime>,
) -> Result<JobOutput, JobError> {
    let settings = services.settings.clone();
    check_size(message, video.limits.max_input_bytes)?;
    let source = download_to_temp(services, message).await?;
    let source_path = source.path().to_owned();
    let limits = video.limits;
    let probe = blocking(move || media_video::probe(&source_path, &limits).map_err(job_error)).await?;

    let time_left = deadline.map(|deadline| {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(settings.deadline_margin)
    });
    if let Some(time_left) = time_left {
        let estimate = estimate_transcode_seconds(&probe, &video.ladder, video.transcode_pixels_per_second);
        if estimate > time_left.as_secs_f64() {
            info!(
                estimate_s = estimate,
                time_left_s = time_left.as_secs_f64(),
                "too long for this invocation"
            );
            services.queue.send(JobQueueName::TranscodeLong, message).await?;
            return Ok(JobOutput::SentToWorker);
        }
    }

    let out_dir = tempfile::Builder::new()
        .prefix("mediaflow-out-")
        .tempdir_in(&settings.work_dir)
        .map_err(JobError::io("creating the output folder"))?;
    let mut options = TranscodeOptions::new(out_dir.path(), &settings.work_dir);
    options.ladder = video.ladder.clone();
    options.preset = video.preset;
    options.hls = video.hls;
    options.limits = video.limits;
    options.deadline = time_left.map(|left| Instant::now() + left);

    let progress = Arc::new(AtomicU32::new(0));
    let reporter = spawn_progress_reporter(services, message, progress.clone());
    let source_path = source.path().to_owned();
    let thumbnails = settings.thumbnails.clone();
    let result = blocking(move || {
        let poster = match probe.main_video() {
            Some(_) => {
                Some(media_video::extract_poster(&source_path, &probe, &thumbnails).map_err(job_error)?)
            }
            None => None,
        };
        let outputs = media_video::transcode(&source_path, &probe, &options, &mut |done| {
            progress.store((done.clamp(0.0, 1.0) * 100.0) as u32, Ordering::Relaxed);
        })
        .map_err(job_error)?;
        Ok((poster, outputs))
    })
    .await;
    reporter.abort();
    let (poster, outputs) = result?;
    drop(source);

    let posters = poster.map(|poster| poster.thumbnails).unwrap_or_default();
    let prefix = message.asset_id.derivatives_prefix();
    let derivatives = upload_outputs(services, &prefix, posters, out_dir.path(), &outputs).await?;
    Ok(JobOutput::Done { derivatives, metadata: None, sha256: None, moderation: None })
}

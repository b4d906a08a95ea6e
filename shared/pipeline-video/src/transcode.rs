//! The transcode job: poster thumbnails, the H.264 ladder and HLS of a video (or the AAC rendition
//! of an audio-only input), uploaded under `<asset id>/`.
//!
//! The source is read from S3 by ranged GETs, never copied to `/tmp`. A video longer than
//! [`VideoSettings::split_above_seconds`] is split into segments transcoded by many functions at
//! once (see [`crate::segments`]); a shorter one is transcoded here, in one process. A clip that
//! would not finish before Lambda's deadline, by the estimate or because the deadline came anyway,
//! goes to the long-job queue for worker mode: running out of Lambda time never fails an upload.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime};

use media_video::{Probe, VideoError, VideoSource};
use pipeline::job_support::{JobOutput, blocking, check_size};
use pipeline::messages::JobMessage;
use pipeline::{JobError, Services};
use tracing::info;

use crate::attempt_env::{output_folder, send_to_worker, time_left, transcode_options};
use crate::outputs::{HlsUpload, upload_outputs};
use crate::progress::spawn_progress_reporter;
use crate::source::s3_source;
use crate::{VideoSettings, estimate_transcode_seconds, job_error};

pub(crate) async fn run(
    services: &Services,
    video: &VideoSettings,
    message: &JobMessage,
    deadline: Option<SystemTime>,
) -> Result<JobOutput, JobError> {
    check_size(message, video.limits.max_input_bytes)?;
    let source = s3_source(services, message).await?;
    let probe = probe(&source, video).await?;
    if video.splits(&probe) {
        return crate::segments::plan(services, video, message, &source, &probe).await;
    }
    let time_left = time_left(services, deadline);
    if let Some(time_left) = time_left {
        let estimate = estimate_transcode_seconds(&probe, &video.ladder, video.transcode_pixels_per_second);
        if estimate > time_left.as_secs_f64() {
            info!(
                estimate_s = estimate,
                time_left_s = time_left.as_secs_f64(),
                "too long for this invocation"
            );
            return send_to_worker(services, message).await;
        }
    }

    let out_dir = output_folder(services)?;
    let mut options = transcode_options(video, out_dir.path(), services);
    options.deadline = time_left.map(|left| Instant::now() + left);
    let progress = Arc::new(AtomicU32::new(0));
    let reporter = spawn_progress_reporter(services, message, progress.clone());
    let thumbnails = services.settings.thumbnails.clone();
    let result = blocking(move || {
        let poster = match probe.main_video() {
            Some(_) => Some(media_video::extract_poster(&source, &probe, &thumbnails).map_err(job_error)?),
            None => None,
        };
        let outputs = media_video::transcode(&source, &probe, &options, &mut |done| {
            progress.store((done.clamp(0.0, 1.0) * 100.0) as u32, Ordering::Relaxed);
        });
        Ok((poster, outputs))
    })
    .await;
    reporter.abort();
    let (poster, outputs) = result?;
    let outputs = match outputs {
        Ok(outputs) => outputs,
        Err(error @ VideoError::DeadlineExceeded { .. }) => {
            info!(%error, "the estimate was optimistic");
            return send_to_worker(services, message).await;
        }
        Err(error) => return Err(job_error(error)),
    };

    let posters = poster.map(|poster| poster.thumbnails).unwrap_or_default();
    let prefix = message.asset_id.derivatives_prefix();
    let derivatives =
        upload_outputs(services, &prefix, posters, out_dir.path(), &outputs, HlsUpload::Everything).await?;
    Ok(JobOutput::Done { derivatives, metadata: None, sha256: None, moderation: None })
}

/// Probes `source` on the blocking pool.
pub(crate) async fn probe(source: &VideoSource, video: &VideoSettings) -> Result<Probe, JobError> {
    let (source, limits) = (source.clone(), video.limits);
    blocking(move || media_video::probe(&source, &limits).map_err(job_error)).await
}

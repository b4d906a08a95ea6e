//! The transcode job: poster thumbnails, the H.264 ladder and HLS of a video (or the AAC rendition
//! of an audio-only input), uploaded under `<asset id>/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime};

use media_video::{Probe, Rung, TranscodeOptions};
use tracing::info;

use crate::error::JobError;
use crate::model::{Derivative, DerivativeRole, Failure};
use crate::ports::{JobMessage, JobQueueName};
use crate::services::Services;
use crate::usecases::jobs::{JobOutput, blocking, check_size};

/// Estimated seconds to transcode `probe`'s clip to `ladder` at `pixels_per_second` (output pixels
/// summed over the renditions, per second of wall time).
pub fn estimate_transcode_seconds(probe: &Probe, ladder: &[Rung], pixels_per_second: f64) -> f64 {
    let duration = probe.duration_seconds.unwrap_or(0.0);
    let Some(video) = probe.main_video() else {
        return duration / 50.0; // audio only: AAC encodes at ~50x realtime
    };
    let fps = video.frame_rate.unwrap_or(30.0).clamp(1.0, 240.0);
    let (width, height) = (f64::from(video.display_width.max(1)), f64::from(video.display_height.max(1)));
    let short_edge = width.min(height);
    let pixels_per_frame: f64 = ladder
        .iter()
        .map(|rung| f64::from(rung.height).min(short_edge))
        .map(|edge| {
            let scale = edge / short_edge;
            width * scale * height * scale
        })
        .sum();
    duration * fps * pixels_per_frame / pixels_per_second.max(1.0)
}

pub(crate) async fn run(
    services: &Services,
    message: &JobMessage,
    deadline: Option<SystemTime>,
) -> Result<JobOutput, JobError> {
    let settings = services.settings.clone();
    check_size(message, settings.video_limits.max_input_bytes)?;
    let source = download_to_temp(services, message).await?;
    let source_path = source.path().to_owned();
    let limits = settings.video_limits;
    let probe = blocking(move || Ok(media_video::probe(&source_path, &limits)?)).await?;

    let time_left = deadline.map(|deadline| {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(settings.deadline_margin)
    });
    if let Some(time_left) = time_left {
        let estimate =
            estimate_transcode_seconds(&probe, &settings.ladder, settings.transcode_pixels_per_second);
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
    options.ladder = settings.ladder.clone();
    options.preset = settings.preset;
    options.hls = settings.hls;
    options.limits = settings.video_limits;
    options.deadline = time_left.map(|left| Instant::now() + left);

    let progress = Arc::new(AtomicU32::new(0));
    let reporter = spawn_progress_reporter(services, message, progress.clone());
    let source_path = source.path().to_owned();
    let thumbnails = settings.thumbnails.clone();
    let result = blocking(move || {
        let poster = match probe.main_video() {
            Some(_) => Some(media_video::extract_poster(&source_path, &probe, &thumbnails)?),
            None => None,
        };
        let outputs = media_video::transcode(&source_path, &probe, &options, &mut |done| {
            progress.store((done.clamp(0.0, 1.0) * 100.0) as u32, Ordering::Relaxed);
        })?;
        Ok((poster, outputs))
    })
    .await;
    reporter.abort();
    let (poster, outputs) = result?;
    drop(source);

    let prefix = message.asset_id.derivatives_prefix();
    let bucket = &services.settings.derivatives_bucket;
    let mut derivatives = Vec::new();
    for thumbnail in poster.map(|poster| poster.thumbnails).unwrap_or_default() {
        let key = format!("{prefix}poster-{}.{}", thumbnail.size, thumbnail.format.extension());
        let bytes = thumbnail.bytes.len() as u64;
        services.objects.put(bucket, &key, thumbnail.bytes, thumbnail.format.mime_type()).await?;
        derivatives.push(Derivative {
            key,
            role: DerivativeRole::Poster,
            format: thumbnail.format.extension().to_owned(),
            width: Some(thumbnail.width),
            height: Some(thumbnail.height),
            bytes,
            duration_seconds: None,
        });
    }
    let duration = Some(outputs.duration_seconds);
    for rendition in &outputs.renditions {
        let bytes = upload(services, out_dir.path(), &rendition.path, &prefix).await?;
        derivatives.push(Derivative {
            key: key_for(&prefix, out_dir.path(), &rendition.path),
            role: DerivativeRole::Rendition,
            format: "mp4".into(),
            width: Some(rendition.width),
            height: Some(rendition.height),
            bytes,
            duration_seconds: duration,
        });
    }
    if let Some(audio) = &outputs.audio_only {
        let bytes = upload(services, out_dir.path(), &audio.path, &prefix).await?;
        derivatives.push(Derivative {
            key: key_for(&prefix, out_dir.path(), &audio.path),
            role: DerivativeRole::Audio,
            format: "m4a".into(),
            width: None,
            height: None,
            bytes,
            duration_seconds: duration,
        });
    }
    // HLS: every file is uploaded; playlists are recorded (segments are listed by them).
    let hls_dir = out_dir.path().join("hls");
    if hls_dir.is_dir() {
        let mut files = Vec::new();
        collect_files(&hls_dir, &mut files).map_err(JobError::io("listing the HLS files"))?;
        files.sort();
        for file in files {
            let bytes = upload(services, out_dir.path(), &file, &prefix).await?;
            if file.extension().is_some_and(|ext| ext == "m3u8") {
                derivatives.push(Derivative {
                    key: key_for(&prefix, out_dir.path(), &file),
                    role: DerivativeRole::HlsPlaylist,
                    format: "m3u8".into(),
                    width: None,
                    height: None,
                    bytes,
                    duration_seconds: duration,
                });
            }
        }
    }
    Ok(JobOutput::Done { derivatives, metadata: None, sha256: None })
}

/// Downloads the job's object into a temporary file in the work folder (removed when dropped),
/// after checking that the object, and room for outputs of about its size, fit in the free space.
pub(crate) async fn download_to_temp(
    services: &Services,
    message: &JobMessage,
) -> Result<tempfile::NamedTempFile, JobError> {
    let work_dir = &services.settings.work_dir;
    let free = rustix::fs::statvfs(work_dir)
        .map(|stats| stats.f_bavail.saturating_mul(stats.f_frsize))
        .map_err(|errno| JobError::Io { context: "reading the free space".into(), source: errno.into() })?;
    let needed = message.size.saturating_mul(2);
    if needed > free {
        return Err(JobError::Permanent(Failure::new(
            "too-large",
            format!("the object is {} bytes; {free} bytes of temporary storage are free", message.size),
        )));
    }
    let file = tempfile::Builder::new()
        .prefix("mediaflow-source-")
        .tempfile_in(work_dir)
        .map_err(JobError::io("creating a temporary file"))?;
    services.objects.download(&message.bucket, &message.key, file.path()).await?;
    Ok(file)
}

fn key_for(prefix: &str, root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let parts: Vec<String> =
        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    format!("{prefix}{}", parts.join("/"))
}

async fn upload(services: &Services, root: &Path, file: &Path, prefix: &str) -> Result<u64, JobError> {
    let key = key_for(prefix, root, file);
    let content_type = match file.extension().and_then(|ext| ext.to_str()) {
        Some("mp4") => "video/mp4",
        Some("m4a") => "audio/mp4",
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("m4s") => "video/iso.segment",
        Some("ts") => "video/mp2t",
        _ => "application/octet-stream",
    };
    Ok(services.objects.upload(&services.settings.derivatives_bucket, &key, file, content_type).await?)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            collect_files(&entry.path(), files)?;
        } else {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// Writes the transcode's progress to the asset every `progress_interval` until aborted.
fn spawn_progress_reporter(
    services: &Services,
    message: &JobMessage,
    progress: Arc<AtomicU32>,
) -> tokio::task::JoinHandle<()> {
    let (services, message) = (services.clone(), message.clone());
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let mut last = u32::MAX;
            let mut ticker = tokio::time::interval(services.settings.progress_interval);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let percent = progress.load(Ordering::Relaxed).min(100);
                if percent == last {
                    continue;
                }
                last = percent;
                let now = services.clock.now();
                let id = &message.asset_id;
                let write =
                    services.assets.record_progress(id, &message.sequencer, message.job, percent as u8, now);
                if let Err(error) = write.await {
                    tracing::warn!(%error, "could not record progress");
                }
            }
        },
        span,
    ))
}

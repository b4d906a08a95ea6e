//! A long video's transcode split across functions: the plan, the parts (each segment, every
//! rendition; the audio once) and the join. `pipeline`'s use-case sends the messages and counts
//! the parts; this module does the media work of each step and keeps what the next step needs in
//! the derivatives bucket, under `<asset id>/.transcode/`:
//!
//! - `plan.json`: the probe (every part encodes against the same one), the poster derivatives, the
//!   segments cut at keyframes, and the audio part's index;
//! - `part-<index>.json`: what a finished part wrote (its HLS chunks, their durations and sizes).
//!
//! The parts upload their HLS chunks straight to their final keys (`<asset id>/hls/...`); the join
//! writes the playlists that list them and remuxes each rendition's chunks with the audio into
//! its MP4. Every step is deterministic, so a duplicate or retried one rewrites the same files.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use futures::StreamExt;
use media_video::{AudioTrackOutputs, Probe, SegmentOutputs, SegmentPlan, VideoError, VideoSource};
use pipeline::job_support::{JobOutput, blocking};
use pipeline::messages::{JobMessage, JobPart};
use pipeline::model::Derivative;
use pipeline::{JobError, Services};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::attempt_env::{output_folder, send_to_worker, time_left, transcode_options};
use crate::outputs::{HlsUpload, upload_hls_files, upload_outputs, upload_posters};
use crate::source::s3_source;
use crate::{VideoSettings, estimate_transcode_seconds, job_error};

/// What the plan step leaves for the parts and the join.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    /// The source's probe.
    probe: Probe,
    /// The poster thumbnails, already uploaded.
    posters: Vec<Derivative>,
    /// The video's segments, in order; part `i` of the job is segment `i`.
    segments: Vec<SegmentPlan>,
    /// The index of the audio part (after the segments), when the video has sound.
    audio: Option<u32>,
}

fn plan_key(message: &JobMessage) -> String {
    format!("{}.transcode/plan.json", message.asset_id.derivatives_prefix())
}

fn part_key(message: &JobMessage, index: u32) -> String {
    format!("{}.transcode/part-{index:05}.json", message.asset_id.derivatives_prefix())
}

/// The plan step of a claimed transcode: the poster, the segments cut at the source's keyframes
/// (read from the container index by ranged GETs, nothing decoded but the poster's frame), the
/// plan stored; returns the parts for the use-case to send.
pub(crate) async fn plan(
    services: &Services,
    video: &VideoSettings,
    message: &JobMessage,
    source: &VideoSource,
    probe: &Probe,
) -> Result<JobOutput, JobError> {
    let (source, planned, thumbnails) = (source.clone(), probe.clone(), services.settings.thumbnails.clone());
    let target = video.segment_seconds;
    let (poster, segments) = blocking(move || {
        let poster = media_video::extract_poster(&source, &planned, &thumbnails).map_err(job_error)?;
        let segments = media_video::plan_segments(&source, &planned, target).map_err(job_error)?;
        Ok((poster, segments))
    })
    .await?;
    let prefix = message.asset_id.derivatives_prefix();
    let posters = upload_posters(services, &prefix, poster.thumbnails).await?;
    let audio = probe.main_audio().map(|_| segments.len() as u32);
    let plan = Plan { probe: probe.clone(), posters, segments, audio };
    put_json(services, &plan_key(message), &plan).await?;

    // The audio first: it reads and encodes the whole track, the longest part once segments are
    // short, so it should not wait for a free function behind them.
    let mut parts: Vec<JobPart> = audio.map(|index| JobPart::Audio { index }).into_iter().collect();
    parts.extend(plan.segments.iter().map(|segment| JobPart::Segment {
        index: segment.index,
        start_seconds: segment.start_seconds,
        end_seconds: segment.end_seconds,
    }));
    info!(segments = plan.segments.len(), audio = audio.is_some(), target_s = target, "planned");
    Ok(JobOutput::Split { parts })
}

/// One segment (every rendition) or the audio, encoded from ranged reads of the source and
/// uploaded with its description. A segment that would not finish before the deadline, by the
/// estimate or because the deadline came, goes to worker mode.
pub(crate) async fn run_part(
    services: &Services,
    video: &VideoSettings,
    message: &JobMessage,
    part: &JobPart,
    deadline: Option<SystemTime>,
) -> Result<JobOutput, JobError> {
    let plan: Plan = get_json(services, &plan_key(message)).await?;
    let source = s3_source(services, message).await?;
    let time_left = time_left(services, deadline);
    let out_dir = output_folder(services)?;
    let mut options = transcode_options(video, out_dir.path(), services);
    options.deadline = time_left.map(|left| Instant::now() + left);
    let Plan { probe, segments, .. } = plan;
    // The part's description (JSON) when it was encoded, or why not.
    let (index, encoded) = match part {
        JobPart::Segment { index, .. } => {
            let segment = segments.into_iter().find(|segment| segment.index == *index).ok_or_else(|| {
                JobError::Internal(format!("segment {index} is not in the plan (planned again differently?)"))
            })?;
            if let Some(left) = time_left {
                let whole =
                    estimate_transcode_seconds(&probe, &video.ladder, video.transcode_pixels_per_second);
                let share =
                    (segment.end_seconds - segment.start_seconds) / probe.duration_seconds.unwrap_or(1.0);
                let estimate = whole * share.clamp(0.0, 1.0);
                if estimate > left.as_secs_f64() {
                    info!(
                        estimate_s = estimate,
                        time_left_s = left.as_secs_f64(),
                        "segment too long for this invocation"
                    );
                    return send_to_worker(services, message).await;
                }
            }
            let encoded = blocking(move || {
                let outputs =
                    media_video::transcode_segment(&source, &probe, &options, &segment, &mut |_| {});
                describe(outputs)
            })
            .await?;
            (*index, encoded)
        }
        JobPart::Audio { index } => {
            let encoded = blocking(move || {
                let outputs = media_video::transcode_audio_track(&source, &probe, &options, &mut |_| {});
                describe(outputs)
            })
            .await?;
            (*index, encoded)
        }
        JobPart::Join => return Err(JobError::Internal("the join is not a part to encode".into())),
    };
    let description = match encoded {
        Ok(description) => description,
        Err(error @ VideoError::DeadlineExceeded { .. }) => {
            info!(%error, "the estimate was optimistic");
            return send_to_worker(services, message).await;
        }
        Err(error) => return Err(job_error(error)),
    };
    let prefix = message.asset_id.derivatives_prefix();
    let uploaded = upload_hls_files(services, &prefix, out_dir.path(), None, HlsUpload::Everything).await?;
    let bucket = &services.settings.derivatives_bucket;
    services.objects.put(bucket, &part_key(message, index), description, "application/json").await?;
    info!(files = uploaded.len(), "part uploaded");
    Ok(JobOutput::Done { derivatives: uploaded, metadata: None, sha256: None, moderation: None })
}

/// The join, once every part finished: each part's chunks fetched back, the playlists written, each
/// rendition's chunks remuxed with the audio into its faststart MP4; returns every derivative of the
/// job (posters from the plan, MP4s, playlists). On Lambda (`deadline` set), a join too large for
/// the function's temporary storage goes to worker mode.
pub(crate) async fn join(
    services: &Services,
    video: &VideoSettings,
    message: &JobMessage,
    deadline: Option<SystemTime>,
) -> Result<JobOutput, JobError> {
    let deadline_bound = deadline.is_some();
    let plan: Plan = get_json(services, &plan_key(message)).await?;
    let mut segments: Vec<SegmentOutputs> = Vec::with_capacity(plan.segments.len());
    for segment in &plan.segments {
        segments.push(get_json(services, &part_key(message, segment.index)).await?);
    }
    let audio: Option<AudioTrackOutputs> = match plan.audio {
        Some(index) => Some(get_json(services, &part_key(message, index)).await?),
        None => None,
    };
    // The chunks and the MP4s remuxed from them take about twice the ladder's size: a join that
    // does not fit in this function's /tmp (hours of video) runs in worker mode instead.
    let chunk_bytes: u64 = segments
        .iter()
        .flat_map(|segment| &segment.rungs)
        .flat_map(|rung| &rung.chunks)
        .chain(audio.iter().flat_map(|audio| &audio.chunks))
        .map(|chunk| chunk.bytes)
        .sum();
    let needed = chunk_bytes.saturating_mul(2).saturating_add(64 << 20);
    let free = free_bytes(&services.settings.work_dir)?;
    if deadline_bound && needed > free {
        info!(needed, free, "the join does not fit in this function's temporary storage");
        return send_to_worker(services, message).await;
    }
    // The chunks go where the join writes (no copies), and only its playlists and MP4s are uploaded.
    let out_dir = output_folder(services)?;
    let mut files: Vec<&str> = Vec::new();
    for rung in segments.iter().flat_map(|segment| &segment.rungs) {
        files.push(&rung.init_uri);
        files.extend(rung.chunks.iter().map(|chunk| chunk.uri.as_str()));
    }
    if let Some(audio) = &audio {
        files.push(&audio.init_uri);
        files.extend(audio.chunks.iter().map(|chunk| chunk.uri.as_str()));
    }
    download_hls_files(services, message, &files, out_dir.path()).await?;

    let options = transcode_options(video, out_dir.path(), services);
    let parts_path = out_dir.path().to_owned();
    let probe = plan.probe;
    let outputs = blocking(move || {
        media_video::join_segments(&parts_path, &probe, &segments, audio.as_ref(), &options)
            .map_err(job_error)
    })
    .await?;
    let prefix = message.asset_id.derivatives_prefix();
    let mut derivatives = plan.posters;
    let joined =
        upload_outputs(services, &prefix, Vec::new(), out_dir.path(), &outputs, HlsUpload::Playlists);
    derivatives.extend(joined.await?);
    Ok(JobOutput::Done { derivatives, metadata: None, sha256: None, moderation: None })
}

/// A part's outputs as its JSON description, with the media error kept apart: a passed deadline
/// hands the part to worker mode rather than failing it.
fn describe<T: Serialize>(outputs: Result<T, VideoError>) -> Result<Result<Vec<u8>, VideoError>, JobError> {
    match outputs {
        Ok(outputs) => serde_json::to_vec(&outputs).map(Ok).map_err(json_error),
        Err(error) => Ok(Err(error)),
    }
}

/// Bytes free for this process in `dir`'s file system.
fn free_bytes(dir: &Path) -> Result<u64, JobError> {
    rustix::fs::statvfs(dir)
        .map(|stats| stats.f_bavail.saturating_mul(stats.f_frsize))
        .map_err(|errno| JobError::Io { context: "reading the free space".into(), source: errno.into() })
}

/// How many chunks the join fetches at once: a 10-minute ladder is over a thousand small objects,
/// and one after another their latencies would add up to most of the join.
const CONCURRENT_DOWNLOADS: usize = 16;

/// Downloads `files` of the asset's `hls/` folder into `dir/hls/`, [`CONCURRENT_DOWNLOADS`] at once.
async fn download_hls_files(
    services: &Services,
    message: &JobMessage,
    files: &[&str],
    dir: &Path,
) -> Result<(), JobError> {
    let hls = dir.join("hls");
    std::fs::create_dir_all(&hls).map_err(JobError::io("creating the parts folder"))?;
    let prefix = message.asset_id.derivatives_prefix();
    let wanted: Vec<(String, PathBuf)> =
        files.iter().map(|file| (format!("{prefix}hls/{file}"), hls.join(file))).collect();
    // Owned values only: the futures must be `Send` for any lifetime (async_trait's boxing).
    let (objects, bucket) = (services.objects.clone(), services.settings.derivatives_bucket.clone());
    let downloads = wanted.into_iter().map(move |(key, path)| {
        let (objects, bucket) = (objects.clone(), bucket.clone());
        async move { objects.download(&bucket, &key, &path).await }
    });
    let mut downloads = futures::stream::iter(downloads).buffer_unordered(CONCURRENT_DOWNLOADS);
    while let Some(downloaded) = downloads.next().await {
        downloaded?;
    }
    Ok(())
}

async fn put_json<T: Serialize>(services: &Services, key: &str, value: &T) -> Result<(), JobError> {
    let body = serde_json::to_vec(value).map_err(json_error)?;
    services.objects.put(&services.settings.derivatives_bucket, key, body, "application/json").await?;
    Ok(())
}

async fn get_json<T: DeserializeOwned>(services: &Services, key: &str) -> Result<T, JobError> {
    let body = services.objects.get(&services.settings.derivatives_bucket, key).await?;
    serde_json::from_slice(&body)
        .map_err(|error| JobError::Internal(format!("{key} does not parse: {error}")))
}

fn json_error(error: serde_json::Error) -> JobError {
    JobError::Internal(format!("a part's description does not serialise: {error}"))
}

//! Videos and audio files in `mediaflow process`, on media-video: the probe, poster thumbnails,
//! H.264/AAC renditions with HLS (or `audio.m4a` for audio files and other audio-only inputs), and
//! the probe as `metadata.json`.

use std::io::Read;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use media_core::{ErrorCode, MediaKind, SNIFF_LEN, ThumbnailOptions};
use media_video::{Rung, TranscodeOptions, VideoError, VideoLimits, X264Preset};
use moderation_local::OpenNsfw;

use super::Failure;
use crate::inputs::Input;
use crate::moderate_command::{WithModeration, moderate_video};
use crate::report::OutputReport;

/// How videos are transcoded, from the command line.
#[derive(Debug, Clone)]
pub struct VideoSettings {
    ladder: Vec<Rung>,
    preset: X264Preset,
    hls: bool,
}

impl VideoSettings {
    /// `heights` are the rendition heights asked for (empty: the default ladder). Fails, as a usage
    /// error, on options no transcode could satisfy.
    pub fn new(heights: &[u32], preset: X264Preset, hls: bool) -> anyhow::Result<VideoSettings> {
        let ladder = if heights.is_empty() {
            media_video::default_ladder()
        } else {
            heights.iter().map(|&height| Rung::for_height(height)).collect()
        };
        let settings = VideoSettings { ladder, preset, hls };
        settings.transcode_options(Path::new("out"), Path::new("work")).validate()?;
        Ok(settings)
    }

    fn transcode_options(&self, out_dir: &Path, work_dir: &Path) -> TranscodeOptions {
        let mut options = TranscodeOptions::new(out_dir, work_dir);
        options.ladder = self.ladder.clone();
        options.preset = self.preset;
        options.hls = self.hls;
        options
    }
}

/// Whether the file's first bytes are a video container. Unreadable files are not: they are
/// reported as failed inputs where every file is read. Audio files are not either: one decoder and
/// one AAC encoder on one thread, they are light enough to share the `--jobs` pool with images.
pub fn sniffs_as_video(path: &Path) -> bool {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let read =
        std::fs::File::open(path).and_then(|file| file.take(SNIFF_LEN as u64).read_to_end(&mut head)).is_ok();
    read && media_core::sniff(&head).is_some_and(|format| format.kind() == MediaKind::Video)
}

/// Processes one video or audio file (`kind`, as sniffed) into `<out>/<relative path>/`:
/// `poster-<size>.<ext>` (when it has a picture), `<height>p.mp4` renditions and `hls/` (or
/// `audio.m4a`), and `metadata.json`. No output is left when it fails: the poster is kept in memory
/// until the transcode has succeeded, the transcode publishes its files only when complete, and the
/// input's folder is removed again if empty.
pub(super) fn process_video(
    input: &Input,
    kind: MediaKind,
    out: &Path,
    thumbnails: &ThumbnailOptions,
    settings: &VideoSettings,
    moderation: Option<(&OpenNsfw, f64)>,
    progress: &ProgressBar,
) -> Result<Vec<OutputReport>, Failure> {
    let path = &input.path;
    let probe = media_video::probe(path, &VideoLimits::default()).map_err(|e| Failure::video(kind, &e))?;
    // Cheap next to the transcode (one keyframe is decoded), so a clip that cannot be read fails early.
    let poster = match probe.main_video() {
        Some(_) => Some(
            media_video::extract_poster(path, &probe, thumbnails).map_err(|e| Failure::video(kind, &e))?,
        ),
        None => None,
    };

    let dir = out.join(&input.relative);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::video(kind, &VideoError::Io { path: dir.clone(), source: e }))?;
    // The transcode stages its files in a private folder inside the work folder and moves them into
    // `dir` when done: the output folder itself keeps that a rename on the same file system. FFmpeg's
    // HLS muxer reads `%` in the staging path as a pattern, so such an output folder falls back to
    // the system's temporary folder.
    let work_dir = if out.to_string_lossy().contains('%') { std::env::temp_dir() } else { out.to_path_buf() };
    let result =
        transcode_and_write(input, kind, &dir, &work_dir, &probe, poster, settings, moderation, progress);
    if result.is_err() {
        // Only removes the folder when it is empty, i.e. it was made for this input.
        let _ = std::fs::remove_dir(&dir);
    }
    result
}

#[expect(clippy::too_many_arguments, reason = "one call site, and every argument is a different thing")]
fn transcode_and_write(
    input: &Input,
    kind: MediaKind,
    dir: &Path,
    work_dir: &Path,
    probe: &media_video::Probe,
    poster: Option<media_video::Poster>,
    settings: &VideoSettings,
    moderation: Option<(&OpenNsfw, f64)>,
    progress: &ProgressBar,
) -> Result<Vec<OutputReport>, Failure> {
    let io = |path: &Path, source: std::io::Error| {
        Failure::video(kind, &VideoError::Io { path: path.into(), source })
    };
    let options = settings.transcode_options(dir, work_dir);
    let name = input.relative.display().to_string();
    let outputs = media_video::transcode(&input.path, probe, &options, &mut |fraction| {
        progress.set_message(format!("{name} {:.0}%", fraction * 100.0));
    });
    progress.set_message("");
    let outputs = outputs.map_err(|e| Failure::video(kind, &e))?;

    let mut reports = Vec::new();
    for thumbnail in poster.iter().flat_map(|poster| &poster.thumbnails) {
        let target = dir.join(format!("poster-{}.{}", thumbnail.size, thumbnail.format.extension()));
        std::fs::write(&target, &thumbnail.bytes).map_err(|e| io(&target, e))?;
        reports.push(OutputReport {
            path: target.display().to_string(),
            width: Some(thumbnail.width),
            height: Some(thumbnail.height),
            bytes: thumbnail.bytes.len() as u64,
            format: thumbnail.format.name().into(),
        });
    }
    for rendition in &outputs.renditions {
        reports.push(OutputReport {
            path: rendition.path.display().to_string(),
            width: Some(rendition.width),
            height: Some(rendition.height),
            bytes: rendition.bytes,
            format: "mp4".into(),
        });
    }
    if let Some(audio) = &outputs.audio_only {
        reports.push(file_report(audio.path.clone(), Some(audio.bytes), "m4a", &io)?);
    }
    if let Some(master) = &outputs.hls_master {
        reports.push(file_report(master.clone(), None, "m3u8", &io)?);
    }

    // Audio has nothing to look at: only videos are moderated.
    let moderation = match moderation.filter(|_| probe.main_video().is_some()) {
        Some((model, threshold)) => {
            Some(moderate_video(model, &input.path, threshold).map_err(|(code, message)| Failure {
                kind,
                code,
                message,
            })?)
        }
        None => None,
    };
    let metadata_path = dir.join("metadata.json");
    let metadata = WithModeration { metadata: probe, moderation: moderation.as_ref() };
    let json = serde_json::to_vec_pretty(&metadata).map_err(|e| Failure {
        kind,
        code: ErrorCode::INTERNAL_ERROR,
        message: e.to_string(),
    })?;
    std::fs::write(&metadata_path, json).map_err(|e| io(&metadata_path, e))?;
    Ok(reports)
}

/// A written file without a picture size; `bytes` is read from the file system when not known.
fn file_report(
    path: PathBuf,
    bytes: Option<u64>,
    format: &str,
    io: &dyn Fn(&Path, std::io::Error) -> Failure,
) -> Result<OutputReport, Failure> {
    let bytes = match bytes {
        Some(bytes) => bytes,
        None => std::fs::metadata(&path).map_err(|e| io(&path, e))?.len(),
    };
    Ok(OutputReport {
        path: path.display().to_string(),
        width: None,
        height: None,
        bytes,
        format: format.into(),
    })
}

//! A finished transcode's files uploaded to the derivatives bucket under `<asset id>/`, and the
//! derivatives recorded for them: posters, MP4 renditions, the audio rendition, HLS playlists
//! (their segments are uploaded too, but listed by the playlists rather than on the asset, which
//! keeps long videos' items far below DynamoDB's 400 KB).

use std::path::{Path, PathBuf};

use media_core::Thumbnail;
use media_video::TranscodeOutputs;
use pipeline::model::{Derivative, DerivativeRole};
use pipeline::{JobError, Services};

/// Which files of the output's `hls/` folder to upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HlsUpload {
    /// Playlists, init and media segments: a transcode done in one process.
    Everything,
    /// The playlists: a join, whose segments the parts uploaded already.
    Playlists,
}

/// Uploads `posters` and the files of `outputs` (written under `out_dir`) for the asset whose
/// derivatives start with `prefix`; returns what was written.
pub(crate) async fn upload_outputs(
    services: &Services,
    prefix: &str,
    posters: Vec<Thumbnail>,
    out_dir: &Path,
    outputs: &TranscodeOutputs,
    hls: HlsUpload,
) -> Result<Vec<Derivative>, JobError> {
    let mut derivatives = upload_posters(services, prefix, posters).await?;
    let duration = Some(outputs.duration_seconds);
    let files = FileUploader { services, out_dir, prefix };
    for rendition in &outputs.renditions {
        derivatives.push(Derivative {
            width: Some(rendition.width),
            height: Some(rendition.height),
            ..files.upload(&rendition.path, DerivativeRole::Rendition, duration).await?
        });
    }
    if let Some(audio) = &outputs.audio_only {
        derivatives.push(files.upload(&audio.path, DerivativeRole::Audio, duration).await?);
    }
    let hls = upload_hls_files(services, prefix, out_dir, duration, hls).await?;
    derivatives.extend(hls.into_iter().filter(|uploaded| uploaded.format == "m3u8"));
    Ok(derivatives)
}

/// Uploads the files under `out_dir/hls` that `which` says under `prefix`, keeping relative
/// paths; returns each as a derivative (only playlists are recorded on the asset).
pub(crate) async fn upload_hls_files(
    services: &Services,
    prefix: &str,
    out_dir: &Path,
    duration_seconds: Option<f64>,
    which: HlsUpload,
) -> Result<Vec<Derivative>, JobError> {
    let hls_dir = out_dir.join("hls");
    let mut uploaded = Vec::new();
    if hls_dir.is_dir() {
        let files = FileUploader { services, out_dir, prefix };
        let mut hls_files = Vec::new();
        collect_files(&hls_dir, &mut hls_files).map_err(JobError::io("listing the HLS files"))?;
        hls_files.sort();
        let is_playlist = |file: &PathBuf| file.extension().is_some_and(|extension| extension == "m3u8");
        for file in hls_files.iter().filter(|file| which == HlsUpload::Everything || is_playlist(file)) {
            uploaded.push(files.upload(file, DerivativeRole::HlsPlaylist, duration_seconds).await?);
        }
    }
    Ok(uploaded)
}

/// Uploads a video's poster thumbnails as `<prefix>poster-<size>.<ext>`.
pub(crate) async fn upload_posters(
    services: &Services,
    prefix: &str,
    posters: Vec<Thumbnail>,
) -> Result<Vec<Derivative>, JobError> {
    let bucket = &services.settings.derivatives_bucket;
    let mut derivatives = Vec::new();
    for thumbnail in posters {
        let key = format!("{prefix}poster-{}.{}", thumbnail.size, thumbnail.format.extension());
        let bytes = thumbnail.bytes.len() as u64;
        services.objects.put(bucket, &key, thumbnail.bytes, thumbnail.format.mime_type()).await?;
        derivatives.push(Derivative {
            key,
            role: DerivativeRole::Poster,
            format: thumbnail.format.name().to_owned(),
            width: Some(thumbnail.width),
            height: Some(thumbnail.height),
            bytes,
            duration_seconds: None,
        });
    }
    Ok(derivatives)
}

/// Uploads files of the output folder under the asset's prefix, keeping their relative paths.
struct FileUploader<'a> {
    services: &'a Services,
    out_dir: &'a Path,
    prefix: &'a str,
}

impl FileUploader<'_> {
    /// Uploads `file` and describes it as a derivative of `role` (without a picture size).
    async fn upload(
        &self,
        file: &Path,
        role: DerivativeRole,
        duration_seconds: Option<f64>,
    ) -> Result<Derivative, JobError> {
        let relative = file.strip_prefix(self.out_dir).unwrap_or(file);
        let parts: Vec<String> =
            relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let key = format!("{}{}", self.prefix, parts.join("/"));
        let extension = file.extension().and_then(|ext| ext.to_str()).unwrap_or_default();
        let content_type = match extension {
            "mp4" => "video/mp4",
            "m4a" => "audio/mp4",
            "m3u8" => "application/vnd.apple.mpegurl",
            "m4s" => "video/iso.segment",
            "ts" => "video/mp2t",
            _ => "application/octet-stream",
        };
        let bucket = &self.services.settings.derivatives_bucket;
        let bytes = self.services.objects.upload(bucket, &key, file, content_type).await?;
        Ok(Derivative {
            key,
            role,
            format: extension.to_owned(),
            width: None,
            height: None,
            bytes,
            duration_seconds,
        })
    }
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

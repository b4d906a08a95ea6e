//! Publishing: moving a finished transcode from its staging folder into the output directory.

use std::path::{Path, PathBuf};

use crate::VideoError;
use crate::transcode::{AudioRendition, Rendition, TranscodeOutputs};

/// What a transcode leaves in its staging folder, described with staging paths.
pub(super) struct Staged {
    pub renditions: Vec<Rendition>,
    pub hls_master: Option<PathBuf>,
    pub audio_only: Option<AudioRendition>,
    pub duration_seconds: f64,
}

/// Moves everything from `staging` into `out_dir` (same relative paths) and rewrites the paths. On a
/// failure, files already moved are removed again so no partial set of outputs is left behind.
pub(super) fn publish(
    staged: Staged,
    staging: &Path,
    out_dir: &Path,
) -> Result<TranscodeOutputs, VideoError> {
    let mut moved: Vec<PathBuf> = Vec::new();
    let result = move_tree(staging, out_dir, &mut moved);
    if let Err(error) = result {
        for path in moved {
            let _ = std::fs::remove_file(path);
        }
        return Err(error);
    }
    let relocate = |path: PathBuf| match path.strip_prefix(staging) {
        Ok(relative) => out_dir.join(relative),
        Err(_) => path,
    };
    Ok(TranscodeOutputs {
        renditions: staged
            .renditions
            .into_iter()
            .map(|rendition| Rendition {
                path: relocate(rendition.path),
                hls_playlist: rendition.hls_playlist.map(relocate),
                ..rendition
            })
            .collect(),
        hls_master: staged.hls_master.map(relocate),
        audio_only: staged.audio_only.map(|audio| AudioRendition { path: relocate(audio.path), ..audio }),
        duration_seconds: staged.duration_seconds,
    })
}

fn move_tree(from: &Path, to: &Path, moved: &mut Vec<PathBuf>) -> Result<(), VideoError> {
    std::fs::create_dir_all(to).map_err(|error| VideoError::io(to, error))?;
    let entries = std::fs::read_dir(from).map_err(|error| VideoError::io(from, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| VideoError::io(from, error))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let is_dir = entry.file_type().map_err(|error| VideoError::io(&source, error))?.is_dir();
        if is_dir {
            move_tree(&source, &target, moved)?;
        } else {
            move_file(&source, &target)?;
            moved.push(target);
        }
    }
    Ok(())
}

/// Renames, or copies and deletes across file systems.
fn move_file(source: &Path, target: &Path) -> Result<(), VideoError> {
    if std::fs::rename(source, target).is_ok() {
        return Ok(());
    }
    std::fs::copy(source, target).map_err(|error| VideoError::io(target, error))?;
    std::fs::remove_file(source).map_err(|error| VideoError::io(source, error))
}

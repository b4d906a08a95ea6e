//! The JSON-lines contract of `mediaflow process --json`.

use media_core::MediaKind;
use serde::Serialize;

/// Whether an input was processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every output was written.
    Ok,
    /// The input failed; `error` says why.
    Failed,
}

/// One line per input.
#[derive(Debug, Serialize)]
pub struct InputReport {
    /// The input path as given or found.
    pub input: String,
    /// Ok or failed.
    pub status: Status,
    /// Image, video, audio or unknown (sniffed from the bytes).
    pub kind: MediaKind,
    /// Every file written for this input.
    pub outputs: Vec<OutputReport>,
    /// Why it failed (only when failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// One output file.
#[derive(Debug, Serialize)]
pub struct OutputReport {
    /// Where it was written.
    pub path: String,
    /// Width in pixels (`null` for files without a picture: `audio.m4a`, playlists).
    pub width: Option<u32>,
    /// Height in pixels (`null` like the width).
    pub height: Option<u32>,
    /// Size in bytes.
    pub bytes: u64,
    /// `jpeg` or `webp` (thumbnails, posters), `mp4` or `m3u8` (video renditions, HLS), `m4a`
    /// (the AAC rendition of audio).
    pub format: String,
}

/// A failure: a stable code and a human message.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    /// Stable kebab-case code (`unsupported-format`, `too-large`, `io-error`, ...).
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// The last line.
#[derive(Debug, Serialize)]
pub struct SummaryLine {
    /// Counts and timings over every input.
    pub summary: Summary,
}

/// Totals of a run.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Inputs that succeeded.
    pub ok: usize,
    /// Inputs that failed.
    pub failed: usize,
    /// Wall time in milliseconds.
    pub ms: u128,
}

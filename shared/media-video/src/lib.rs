//! The video side of mediaflow, on FFmpeg through `ffmpeg-next`: probe a clip, extract its poster
//! frame, and transcode it to an H.264/AAC ladder of faststart MP4s with HLS playlists.
//!
//! Every entry point takes a [`VideoSource`]: a path to a local file, or a [`RangeReader`] over an
//! object elsewhere (S3 through ranged GETs), which FFmpeg reads through a custom I/O context and a
//! bounded block cache, so a probe or a poster fetches a few megabytes of a large video and nothing
//! is written to local disk ([`VideoSource::stats`] counts what was read). Inputs are untrusted:
//! only the `file` protocol (none at all for a ranged source) and an allow-list of containers are
//! opened (MP4/MOV, Matroska/WebM, AVI, MPEG-TS, and MP3/WAV/FLAC/Ogg/M4A/raw AAC audio),
//! [`VideoLimits`] are checked from the probe before anything is decoded, and every failure is a
//! typed [`VideoError`] with a stable code, never a panic. A failed ranged read is an `io-error`,
//! retryable, as a failed file read is.
//!
//! - [`probe()`] reads container and stream headers into a serialisable [`Probe`].
//! - [`extract_poster`] decodes one keyframe (at or after 10 % of the clip), turns it upright and has
//!   the media core make the same thumbnails images get.
//! - [`extract_stills`] decodes frames spread evenly over the clip, upright, for classifiers
//!   (content moderation).
//! - [`transcode()`] decodes the clip once and feeds every rendition of the ladder from that decode
//!   (scaled and rotated per rendition), encodes the audio once, and writes HLS segments by remuxing
//!   the same encoded packets: no second encode. An audio-only input (a music file, or a video
//!   container holding sound alone) becomes one AAC `audio.m4a` instead: no poster, no ladder.
//! - Segment-parallel transcoding for long videos: [`plan_segments`] cuts the timeline at index
//!   keyframes, [`transcode_segment`] encodes one segment's video into every rung (one worker per
//!   segment), [`transcode_audio_track`] the sound once, and [`join_segments`] writes the playlists
//!   and remuxes the MP4s, giving the same [`TranscodeOutputs`] as [`transcode()`].
//!
//! Rotated phone videos come out upright (pixels turned, no display matrix), and HDR (PQ or HLG)
//! sources are tone-mapped to 8-bit BT.709 for posters and renditions.
//!
//! Built and tested against FFmpeg 5.1 (Debian bookworm's libraries) with `ffmpeg-next` 9.0.
//! FFmpeg's log goes to `tracing` under the target `ffmpeg` (see [`init`]).
//!
//! ```no_run
//! # fn main() -> Result<(), media_video::VideoError> {
//! use std::path::Path;
//! use media_video::{TranscodeOptions, VideoLimits};
//!
//! let input = Path::new("clip.mov");
//! let probe = media_video::probe(input, &VideoLimits::default())?;
//! let poster = media_video::extract_poster(input, &probe, &media_core::ThumbnailOptions::default())?;
//! let options = TranscodeOptions::new("out", "/tmp");
//! let outputs = media_video::transcode(input, &probe, &options, &mut |done| println!("{:.0}%", done * 100.0))?;
//! # let _ = (poster, outputs);
//! # Ok(())
//! # }
//! ```

mod error;
mod ffi_util;
mod frames;
mod hls;
mod input;
mod limits;
mod log;
mod poster;
mod probe;
mod rotation;
mod source;
mod stills;
mod tags;
mod tonemap;
mod transcode;

pub use error::{VideoError, VideoLimitKind};
pub use limits::VideoLimits;
pub use poster::{Poster, extract_poster};
pub use probe::{AudioStream, Container, DynamicRange, Probe, VideoStream, probe};
pub use source::{RangeReader, ReadCacheOptions, SourceStats, VideoSource};
pub use stills::{Still, extract_stills};
pub use transcode::{
    AudioRendition, HlsSegmentFormat, Rendition, Rung, TranscodeOptions, TranscodeOutputs, X264Preset,
    default_ladder, transcode,
};
pub use transcode::{
    AudioTrackOutputs, ChunkOutput, RungSegmentOutputs, SegmentOutputs, SegmentPlan, join_segments,
    plan_segments, transcode_audio_track, transcode_segment,
};

use std::sync::Once;

/// Initialises FFmpeg once per process and routes its log into `tracing` (target `ffmpeg`).
///
/// Every entry point calls this; call it yourself only to get FFmpeg's log routed earlier.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Err(error) = ffmpeg_next::init() {
            tracing::error!(%error, "FFmpeg failed to initialise");
        }
        log::route_ffmpeg_log_to_tracing();
    });
}

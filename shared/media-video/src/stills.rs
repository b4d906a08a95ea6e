//! Stills: frames spread evenly over a clip, upright and small, for what looks at pictures rather
//! than plays them (content moderation classifies them and keeps the worst).
//!
//! Each still is the first frame at or after its position: the demuxer seeks to the keyframe
//! before the position and the decoder runs forward from there, so the stills are where they were
//! asked for (not wherever the keyframes happen to be) and a clip with a single keyframe still
//! gives distinct pictures. The cost is at most one GOP of decoding per still.

use ffmpeg_next::Packet;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::frame::Video as VideoFrame;
use image::RgbImage;
use media_core::geometry::fit_within;

use crate::VideoError;
use crate::frames::{FrameConverter, packed_rgba};
use crate::input;
use crate::poster::{MainVideo, open_main_video, seek};
use crate::probe::Probe;
use crate::rotation::rotated_size;
use crate::source::VideoSource;
use crate::tonemap::ToneMapper;

/// Packets read for one still before giving up on it, so a damaged file is not read whole per still.
const MAX_PACKETS_PER_STILL: usize = 5_000;

/// One upright frame of a clip.
#[derive(Debug, Clone)]
pub struct Still {
    /// Where the frame is, in seconds from the start of the clip.
    pub at_seconds: f64,
    /// The frame, upright (rotation applied), tone-mapped to SDR when HDR, fitted within the box.
    pub image: RgbImage,
}

/// Decodes `count` frames of the video `source` (a path, or a [`VideoSource`]; described by `probe`),
/// at the middles of `count` equal parts of the clip, each upright and fitted within a `side`×`side`
/// box. A clip without a known duration gives its first frame only; a still that cannot be decoded is left out, and
/// `corrupt-input` is returned when none can.
///
/// Errors: `no-video-stream` for audio-only inputs, `corrupt-input`, and those of
/// [`probe`](crate::probe()).
pub fn extract_stills(
    source: impl Into<VideoSource>,
    probe: &Probe,
    count: usize,
    side: u32,
) -> Result<Vec<Still>, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| stills_of(source, probe, count, side))
}

fn stills_of(source: &VideoSource, probe: &Probe, count: usize, side: u32) -> Result<Vec<Still>, VideoError> {
    let video = probe.main_video().ok_or(VideoError::NoVideoStream)?;
    if count == 0 || side == 0 {
        return Err(VideoError::InvalidOptions("stills need a count and a box side above 0".into()));
    }
    let MainVideo { file, mut context, time_base: stream_time_base, stream_start, mut decoder } =
        open_main_video(source, probe, video)?;
    let time_base = f64::from(stream_time_base);
    let (width, height) = fit_within(video.display_width, video.display_height, side);
    let (stored_width, stored_height) = rotated_size(width, height, video.rotation);
    let mut tone_mapper =
        ToneMapper::for_source(video.dynamic_range, stored_width, stored_height, stream_time_base);
    let mut converter = FrameConverter::new(Pixel::RGBA, width, height, video.rotation);

    let positions: Vec<f64> = match probe.duration_seconds {
        Some(duration) if duration > 0.0 => {
            (0..count).map(|i| duration * (2 * i + 1) as f64 / (2 * count) as f64).collect()
        }
        _ => vec![0.0],
    };
    let mut stills = Vec::with_capacity(positions.len());
    for seconds in positions {
        let target = (seconds / time_base).round() as i64 + stream_start;
        if !seek(&mut context, video.index, target, i64::MIN..target.saturating_add(1)) {
            // Unseekable (or nothing before the target): read from the start of a fresh open.
            context = input::open(source, &file)?;
        }
        let mut frame = decode_until(&mut context, &mut decoder, video.index, target);
        if frame.is_none() {
            // Seeking is not exact in every container (MPEG-TS can land past the keyframes):
            // decode from the start of a fresh open instead.
            context = input::open(source, &file)?;
            frame = decode_until(&mut context, &mut decoder, video.index, target);
        }
        let Some(frame) = frame else { continue };
        let at_seconds = frame
            .timestamp()
            .or(frame.pts())
            .map_or(0.0, |pts| ((pts - stream_start) as f64 * time_base).max(0.0));
        let frame = match tone_mapper.as_mut() {
            Some(tone_mapper) => tone_mapper.map(&frame)?,
            None => &frame,
        };
        let rgba = packed_rgba(converter.convert(frame)?);
        let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|pixel| [pixel[0], pixel[1], pixel[2]]).collect();
        if let Some(image) = RgbImage::from_raw(width, height, rgb) {
            stills.push(Still { at_seconds, image });
        }
    }
    if stills.is_empty() {
        return Err(VideoError::CorruptInput { reason: "no frame of the video decodes".into() });
    }
    tracing::debug!(stills = stills.len(), width, height, "stills extracted");
    Ok(stills)
}

/// Decodes stream `index` from where the demuxer stands (a keyframe, after a seek) up to the first
/// frame at or after `target` (stream time base), or the last frame before the end. Packets before
/// the first keyframe are skipped: they cannot decode cleanly. The decoder is flushed afterwards.
fn decode_until(
    context: &mut Input,
    decoder: &mut ffmpeg_next::decoder::Video,
    index: u32,
    target: i64,
) -> Option<VideoFrame> {
    let mut packet = Packet::empty();
    let mut frame = VideoFrame::empty();
    let mut last: Option<VideoFrame> = None;
    let mut keyframe_seen = false;
    let mut reached = false;
    for _ in 0..MAX_PACKETS_PER_STILL {
        match packet.read(context) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Err(_) => break,
        }
        if packet.stream() != index as usize {
            continue;
        }
        keyframe_seen |= packet.is_key();
        if !keyframe_seen || decoder.send_packet(&packet).is_err() {
            continue;
        }
        while decoder.receive_frame(&mut frame).is_ok() {
            let pts = frame.timestamp().or(frame.pts());
            last = Some(std::mem::replace(&mut frame, VideoFrame::empty()));
            if pts.is_none_or(|pts| pts >= target) {
                reached = true;
                break;
            }
        }
        if reached {
            break;
        }
    }
    if !reached && keyframe_seen && decoder.send_eof().is_ok() {
        while decoder.receive_frame(&mut frame).is_ok() {
            let pts = frame.timestamp().or(frame.pts());
            last = Some(std::mem::replace(&mut frame, VideoFrame::empty()));
            if pts.is_none_or(|pts| pts >= target) {
                break;
            }
        }
    }
    decoder.flush();
    last.filter(|frame| frame.width() > 0 && frame.height() > 0)
}

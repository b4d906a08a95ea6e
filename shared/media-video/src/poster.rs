//! Poster frames: one keyframe, decoded alone, turned upright and handed to the media core for the
//! same thumbnails images get.
//!
//! Cheap by construction: the demuxer seeks to the first keyframe at or after 10 % of the duration
//! and the decoder sees that one packet followed by end-of-stream, so exactly one frame is decoded
//! whatever the GOP length. Clips under 2 s (and clips without a keyframe after 10 %) use the
//! keyframe at the start.

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::frame::Video as VideoFrame;
use ffmpeg_next::{Packet, ffi};
use media_core::geometry::fit_within;
use media_core::{Thumbnail, ThumbnailOptions};

use crate::VideoError;
use crate::frames::{FrameConverter, packed_rgba};
use crate::input;
use crate::input::check_probe_matches;
use crate::probe::{Probe, VideoStream};
use crate::rotation::rotated_size;
use crate::source::VideoSource;
use crate::tonemap::ToneMapper;

/// Clips shorter than this get their first frame as the poster.
const SHORT_CLIP_SECONDS: f64 = 2.0;
/// Where in the clip the poster is looked for, as a fraction of the duration.
const POSTER_POSITION: f64 = 0.1;
/// Keyframes tried (when one fails to decode) before giving up.
const MAX_KEYFRAME_ATTEMPTS: usize = 4;
/// Packets read after a seek while looking for a keyframe, so a file without any is not read whole.
const MAX_PACKETS_TO_A_KEYFRAME: usize = 5_000;

/// A video's poster: thumbnails of one upright frame.
#[derive(Debug, Clone)]
pub struct Poster {
    /// Thumbnails in the sizes and format asked for (see [`ThumbnailOptions`]).
    pub thumbnails: Vec<Thumbnail>,
    /// Where the frame is, in seconds from the start of the clip.
    pub at_seconds: f64,
    /// Width of the upright frame the thumbnails were made from (fitted to the largest size).
    pub width: u32,
    /// Height of the upright frame the thumbnails were made from.
    pub height: u32,
}

/// Extracts the poster of the video `source` (a path, or a [`VideoSource`]), described by `probe`
/// (from [`probe`](crate::probe())):
/// the first keyframe at or after 10 % of the duration (the first frame for clips under 2 s),
/// rotated upright, as thumbnails made by the media core with `options`.
///
/// Errors: `no-video-stream` for audio-only inputs, `corrupt-input` when no keyframe decodes, the
/// media core's codes for thumbnail failures, and those of [`probe`](crate::probe()).
pub fn extract_poster(
    source: impl Into<VideoSource>,
    probe: &Probe,
    options: &ThumbnailOptions,
) -> Result<Poster, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| poster_of(source, probe, options))
}

fn poster_of(source: &VideoSource, probe: &Probe, options: &ThumbnailOptions) -> Result<Poster, VideoError> {
    let video = probe.main_video().ok_or(VideoError::NoVideoStream)?;
    options.validate().map_err(VideoError::Thumbnail)?;
    let MainVideo { file, mut context, time_base, stream_start, mut decoder } =
        open_main_video(source, probe, video)?;

    let target_seconds = match probe.duration_seconds {
        Some(duration) if duration >= SHORT_CLIP_SECONDS => duration * POSTER_POSITION,
        _ => 0.0,
    };
    let mut frame = None;
    if target_seconds > 0.0 {
        let target = (target_seconds / f64::from(time_base)).round() as i64 + stream_start;
        if seek(&mut context, video.index, target, target..i64::MAX) {
            frame = decode_keyframe(&mut context, &mut decoder, video.index, target)?;
        }
        // No keyframe after the target (one long GOP): the last one before it.
        if frame.is_none() && seek(&mut context, video.index, target, i64::MIN..target) {
            frame = decode_keyframe(&mut context, &mut decoder, video.index, i64::MIN)?;
        }
        if frame.is_none() {
            // Seeking back to the start is not exact in every container (MPEG-TS lands after the
            // first keyframe): read the start of a freshly opened file instead.
            context = input::open(source, &file)?;
        }
    }
    if frame.is_none() {
        frame = decode_keyframe(&mut context, &mut decoder, video.index, i64::MIN)?;
    }
    let frame = frame
        .ok_or_else(|| VideoError::CorruptInput { reason: "no keyframe of the video decodes".into() })?;

    let at_seconds = frame
        .timestamp()
        .or(frame.pts())
        .map_or(0.0, |pts| ((pts - stream_start) as f64 * f64::from(time_base)).max(0.0));
    // Scale straight to the largest thumbnail (never up) so the media core resizes from a small frame.
    let (width, height) = fit_within(video.display_width, video.display_height, options.largest_size());
    // HDR is tone-mapped first, at the same size in stored orientation.
    let (stored_width, stored_height) = rotated_size(width, height, video.rotation);
    let mut tone_mapper = ToneMapper::for_source(video.dynamic_range, stored_width, stored_height, time_base);
    let frame = match tone_mapper.as_mut() {
        Some(tone_mapper) => tone_mapper.map(&frame)?,
        None => &frame,
    };
    let mut converter = FrameConverter::new(Pixel::RGBA, width, height, video.rotation);
    let rgba = packed_rgba(converter.convert(frame)?);
    let thumbnails =
        media_core::thumbnails_from_rgba(width, height, &rgba, options).map_err(VideoError::Thumbnail)?;
    tracing::debug!(at_seconds, width, height, "poster extracted");
    Ok(Poster { thumbnails, at_seconds, width, height })
}

/// A clip's main video stream, open for decoding single frames.
pub(crate) struct MainVideo {
    /// What was checked about the file, to open it again.
    pub(crate) file: input::InputFile,
    /// The demuxer.
    pub(crate) context: Input,
    /// The stream's time base.
    pub(crate) time_base: ffmpeg_next::Rational,
    /// The stream's first timestamp (0 when unknown), where "seconds from the start" count from.
    pub(crate) stream_start: i64,
    /// A decoder that outputs each frame as soon as it has it.
    pub(crate) decoder: ffmpeg_next::decoder::Video,
}

/// Opens `source`, checks that it is the one `probe` describes, and opens a single-frame decoder on
/// its main `video` stream.
pub(crate) fn open_main_video(
    source: &VideoSource,
    probe: &Probe,
    video: &VideoStream,
) -> Result<MainVideo, VideoError> {
    let file = input::inspect(source)?;
    check_probe_matches(&file, probe)?;
    let context = input::open(source, &file)?;
    let stream = context
        .stream(video.index as usize)
        .filter(|stream| stream.parameters().medium() == ffmpeg_next::media::Type::Video)
        .ok_or_else(|| {
            VideoError::InvalidOptions(format!("the probe's video stream {} is not in the file", video.index))
        })?;
    let time_base = stream.time_base();
    let stream_start = Some(stream.start_time()).filter(|&start| start != ffi::AV_NOPTS_VALUE).unwrap_or(0);
    let decoder = open_single_frame_decoder(&stream, video)?;
    Ok(MainVideo { file, context, time_base, stream_start, decoder })
}

/// A decoder that outputs frames as soon as it has them: one thread, no frame-threading delay.
fn open_single_frame_decoder(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
    video: &VideoStream,
) -> Result<ffmpeg_next::decoder::Video, VideoError> {
    let mut context = codec::Context::from_parameters(stream.parameters())
        .map_err(|error| VideoError::encode("configuring the video decoder", error))?;
    context.set_threading(threading::Config {
        kind: threading::Type::Slice,
        count: 1,
        ..threading::Config::default()
    });
    context
        .decoder()
        .video()
        .map_err(|_| VideoError::UnsupportedCodec { stream: "video", codec: video.codec.clone() })
}

/// Seeks stream `index` to `target` within `range` (in the stream's time base). `false` when the
/// demuxer cannot (no keyframe in the range, or an unseekable file).
pub(crate) fn seek(context: &mut Input, index: u32, target: i64, range: std::ops::Range<i64>) -> bool {
    // SAFETY: the context is open; the stream index comes from the same file's probe and was checked
    // to exist; avformat_seek_file validates the timestamps.
    let result = unsafe {
        ffi::avformat_seek_file(context.as_mut_ptr(), index as i32, range.start, target, range.end, 0)
    };
    result >= 0
}

/// Reads on to the next keyframe of stream `index` at or after `not_before` (stream time base) and
/// decodes that packet alone. `None` when the file ends first; tries a few keyframes when one does not
/// decode.
fn decode_keyframe(
    context: &mut Input,
    decoder: &mut ffmpeg_next::decoder::Video,
    index: u32,
    not_before: i64,
) -> Result<Option<VideoFrame>, VideoError> {
    let mut attempts = 0;
    let mut packet = Packet::empty();
    for _ in 0..MAX_PACKETS_TO_A_KEYFRAME {
        match packet.read(context) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => return Ok(None),
            Err(ffmpeg_next::Error::InvalidData) => continue,
            Err(error) => {
                return Err(VideoError::CorruptInput { reason: format!("reading packets: {error}") });
            }
        }
        let is_candidate = packet.stream() == index as usize
            && packet.is_key()
            && packet.pts().or(packet.dts()).is_none_or(|pts| pts >= not_before);
        if !is_candidate {
            continue;
        }
        if let Some(frame) = decode_one_packet(decoder, &packet) {
            return Ok(Some(frame));
        }
        attempts += 1;
        if attempts >= MAX_KEYFRAME_ATTEMPTS {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Decodes `packet` on its own: the packet, then end-of-stream so a decoder holding frames for
/// reordering lets go of it. The decoder is reset afterwards for the next attempt.
fn decode_one_packet(decoder: &mut ffmpeg_next::decoder::Video, packet: &Packet) -> Option<VideoFrame> {
    let mut frame = VideoFrame::empty();
    let mut decoded = None;
    if decoder.send_packet(packet).is_ok() {
        if decoder.receive_frame(&mut frame).is_ok() {
            decoded = Some(frame);
        } else if decoder.send_eof().is_ok() {
            let mut frame = VideoFrame::empty();
            if decoder.receive_frame(&mut frame).is_ok() {
                decoded = Some(frame);
            }
        }
    }
    decoder.flush();
    decoded.filter(|frame| frame.width() > 0 && frame.height() > 0)
}

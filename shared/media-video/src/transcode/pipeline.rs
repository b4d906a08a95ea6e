//! The per-stream pipelines: a decoder, then (for video) per-rendition scaling and libx264, or (for
//! audio) one AAC encoder, writing into the muxers.

use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::frame::{Audio as AudioFrame, Video as VideoFrame};
use ffmpeg_next::util::picture;
use ffmpeg_next::{Packet, Rational, decoder};
use media_core::MediaFormat;

use crate::input::{self, InputFile};
use crate::source::VideoSource;
use crate::tonemap::ToneMapper;
use crate::transcode::Deadline;
use crate::transcode::audio::AudioEncoder;
use crate::transcode::mux::Muxer;
use crate::transcode::plan::RenditionPlan;
use crate::transcode::video::RenditionVideoEncoder;
use crate::{VideoError, VideoLimits};

/// Too many undecodable packets: more than this many, and more than 1 in 20.
pub(super) const MAX_DECODE_ERRORS: u64 = 10;

/// Reads an input's packets, skipping unreadable ones: more than [`MAX_DECODE_ERRORS`] of them,
/// and more than 1 in 20, is corrupt input; a failed read is classified as the source's (an
/// `io-error` to retry, or data that ends early).
pub(super) struct PacketReader<'a> {
    source: &'a VideoSource,
    sniffed: Option<MediaFormat>,
    packets_read: u64,
    read_errors: u64,
}

impl<'a> PacketReader<'a> {
    /// A reader of `source`, described by `file`.
    pub(super) fn new(source: &'a VideoSource, file: &InputFile) -> PacketReader<'a> {
        PacketReader { source, sniffed: file.sniffed, packets_read: 0, read_errors: 0 }
    }

    /// Reads the next readable packet of `context` into `packet`; `false` at the end of the input.
    pub(super) fn read(&mut self, context: &mut Input, packet: &mut Packet) -> Result<bool, VideoError> {
        loop {
            match packet.read(context) {
                Ok(()) => {
                    self.packets_read += 1;
                    return Ok(true);
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(false),
                Err(ffmpeg_next::Error::InvalidData) => {
                    self.read_errors += 1;
                    if self.read_errors > MAX_DECODE_ERRORS && self.read_errors * 20 > self.packets_read {
                        return Err(VideoError::CorruptInput {
                            reason: "too many unreadable packets".into(),
                        });
                    }
                }
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EIO => {
                    return Err(input::read_error(self.source, self.sniffed));
                }
                Err(error) => {
                    return Err(VideoError::CorruptInput { reason: format!("reading packets: {error}") });
                }
            }
        }
    }
}

/// The decoding side of the main video stream and the renditions it feeds.
pub(super) struct VideoPath {
    pub(super) stream_index: usize,
    pub(super) decoder: decoder::Video,
    pub(super) time_base: Rational,
    /// The output's time zero, in the stream's time base.
    pub(super) offset: i64,
    /// Duration of the latest frame: the latest interval between timestamps (variable frame rates
    /// keep their own), the nominal one at first. It times frames without timestamps and the last
    /// frame of each output.
    pub(super) frame_duration: i64,
    pub(super) keyframe_interval_seconds: f64,
    pub(super) next_keyframe_seconds: f64,
    pub(super) last_pts: Option<i64>,
    pub(super) end_seconds: f64,
    pub(super) plans: Vec<RenditionPlan>,
    pub(super) renditions: Vec<RenditionVideoEncoder>,
    pub(super) frame: VideoFrame,
    pub(super) packet: Packet,
    pub(super) frames_decoded: u64,
    pub(super) frames_dropped: u64,
    pub(super) decode_errors: u64,
    pub(super) limits: VideoLimits,
    /// HDR sources: tone-mapped once, at the largest rendition's size, before the renditions scale.
    pub(super) tone_mapper: Option<ToneMapper>,
    /// Which frames to encode and keep: all of them for a whole transcode, one segment's for a
    /// segment.
    pub(super) window: FrameWindow,
    /// Frames encoded and kept (within the window).
    pub(super) frames_encoded: u64,
    /// Set when a frame at or after the window's end was decoded (`end_seconds` is then its time).
    pub(super) passed_end: bool,
    /// Set when a frame at or after the window's `encode_until` was decoded: nothing more to do.
    pub(super) reached_end: bool,
}

/// The frames of the output timeline (timestamps in the stream's time base, time zero removed)
/// that a video path keeps: `start <= pts < end`. Frames before the start belong to the previous
/// segment, frames from the end on to the next one.
///
/// A segment's encoders also see the frames around it that it decodes anyway: from `encode_from`
/// (its keyframe) and up to `encode_until`. Their packets are dropped, but they leave libx264's
/// rate control and look-ahead in the state the whole transcode has at the boundaries, so the
/// frames next to a boundary are encoded as well as elsewhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameWindow {
    pub start: i64,
    pub end: Option<i64>,
    pub encode_from: i64,
    pub encode_until: Option<i64>,
}

impl FrameWindow {
    /// Every frame from time zero on.
    pub(crate) const WHOLE: FrameWindow =
        FrameWindow { start: 0, end: None, encode_from: 0, encode_until: None };

    /// Whether a packet (or frame) presented at `pts` is kept.
    fn keeps(&self, pts: Option<i64>) -> bool {
        pts.is_none_or(|pts| pts >= self.start && self.end.is_none_or(|end| pts < end))
    }
}

/// The decoding side of the main audio stream and its encoder.
pub(super) struct AudioPath {
    pub(super) stream_index: usize,
    pub(super) decoder: decoder::Audio,
    pub(super) time_base: Rational,
    pub(super) start_seconds: f64,
    pub(super) encoder: AudioEncoder,
    pub(super) frame: AudioFrame,
    pub(super) decode_errors: u64,
}

impl VideoPath {
    /// Sends `packet` (or, with `None`, end-of-stream) to the decoder and encodes what comes out.
    pub(super) fn decode(
        &mut self,
        packet: Option<&Packet>,
        muxers: &mut [Muxer],
        deadline: Deadline,
    ) -> Result<(), VideoError> {
        let sent = match packet {
            Some(packet) => self.decoder.send_packet(packet),
            None => self.decoder.send_eof(),
        };
        if let Err(error) = sent {
            return self.decode_error(error);
        }
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    self.frames_decoded += 1;
                    self.encode_frame(muxers)?;
                    if packet.is_none() {
                        deadline.check("flushing the decoder")?;
                    }
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(error) => return self.decode_error(error),
            }
        }
    }

    fn decode_error(&mut self, error: ffmpeg_next::Error) -> Result<(), VideoError> {
        match error {
            ffmpeg_next::Error::Eof => Ok(()),
            ffmpeg_next::Error::Other { errno } if errno == ffmpeg_next::util::error::ENOMEM => {
                Err(VideoError::encode("decoding video", error))
            }
            _ => {
                self.decode_errors += 1;
                if self.decode_errors > MAX_DECODE_ERRORS && self.decode_errors * 20 > self.frames_decoded {
                    return Err(VideoError::CorruptInput {
                        reason: format!("the video does not decode: {error}"),
                    });
                }
                Ok(())
            }
        }
    }

    /// Stamps the decoded frame with its output timestamp (and a forced keyframe on the grid) and
    /// sends it to every rendition.
    fn encode_frame(&mut self, muxers: &mut [Muxer]) -> Result<(), VideoError> {
        let source_pts = self
            .frame
            .timestamp()
            .or(self.frame.pts())
            .unwrap_or_else(|| self.last_pts.map_or(0, |last| last + self.frame_duration) + self.offset);
        let pts = source_pts - self.offset;
        if self.reached_end {
            return Ok(());
        }
        if pts < 0 || self.last_pts.is_some_and(|last| pts <= last) {
            // Before time zero, or a repeated timestamp the encoder would refuse.
            self.frames_dropped += 1;
            return Ok(());
        }
        if pts < self.window.encode_from {
            // Leading pictures decoded after a seek to the keyframe: the previous segment's.
            return Ok(());
        }
        if self.window.encode_until.is_some_and(|until| pts >= until) {
            self.reached_end = true;
            return Ok(());
        }
        let seconds = pts as f64 * f64::from(self.time_base);
        self.limits.check_duration(seconds)?;
        let keyframe = seconds + 1e-6 >= self.next_keyframe_seconds;
        if keyframe {
            // The next point of the grid (multiples of the interval on the output timeline), so that
            // segments starting between grid points still put every later keyframe on the grid.
            let interval = self.keyframe_interval_seconds;
            self.next_keyframe_seconds = (((seconds + 1e-6) / interval).floor() + 1.0) * interval;
        }
        let frame = match self.tone_mapper.as_mut() {
            Some(tone_mapper) => tone_mapper.map(&self.frame)?,
            None => &mut self.frame,
        };
        frame.set_pts(Some(pts));
        frame.set_kind(if keyframe { picture::Type::I } else { picture::Type::None });
        for (index, rendition) in self.renditions.iter_mut().enumerate() {
            if let Some(last) = self.last_pts {
                rendition.set_duration(last, pts - last);
            }
            rendition.send_frame(frame)?;
            while rendition.receive_packet(&mut self.packet)? {
                write_video(muxers, index, &mut self.packet, self.frame_duration, &self.window)?;
            }
        }
        if let Some(last) = self.last_pts {
            self.frame_duration = pts - last;
        }
        self.last_pts = Some(pts);
        if self.window.keeps(Some(pts)) {
            self.frames_encoded += 1;
            self.end_seconds = (pts + self.frame_duration) as f64 * f64::from(self.time_base);
        } else if pts >= self.window.start && !self.passed_end {
            // The next segment's first frame: where this one ends.
            self.passed_end = true;
            self.end_seconds = seconds;
        }
        Ok(())
    }

    /// Drains every encoder into the muxers.
    pub(super) fn finish(&mut self, muxers: &mut [Muxer], deadline: Deadline) -> Result<(), VideoError> {
        for (index, rendition) in self.renditions.iter_mut().enumerate() {
            rendition.send_eof()?;
            while rendition.receive_packet(&mut self.packet)? {
                write_video(muxers, index, &mut self.packet, self.frame_duration, &self.window)?;
                deadline.check("flushing the encoders")?;
            }
        }
        Ok(())
    }
}

impl AudioPath {
    /// Sends `packet` (or end-of-stream) to the decoder and encodes what comes out.
    pub(super) fn decode(&mut self, packet: Option<&Packet>, muxers: &mut [Muxer]) -> Result<(), VideoError> {
        let sent = match packet {
            Some(packet) => self.decoder.send_packet(packet),
            None => self.decoder.send_eof(),
        };
        if sent.is_err() {
            self.decode_errors += 1;
            return Ok(());
        }
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    let start = self
                        .frame
                        .timestamp()
                        .or(self.frame.pts())
                        .map_or(self.encoder.seconds_encoded(), |pts| {
                            pts as f64 * f64::from(self.time_base) - self.start_seconds
                        });
                    self.encoder.push(&self.frame, start, &mut |packet| write_audio(muxers, packet))?;
                }
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(_) => {
                    self.decode_errors += 1;
                    return Ok(());
                }
            }
        }
    }
}

/// Writes a rendition's packet in the window to its muxers; a packet whose duration is not known yet (the last
/// frame's) gets `frame_duration`, the latest interval between frames.
fn write_video(
    muxers: &mut [Muxer],
    rendition: usize,
    packet: &mut Packet,
    frame_duration: i64,
    window: &FrameWindow,
) -> Result<(), VideoError> {
    if !window.keeps(packet.pts()) {
        // A frame encoded only to prime or drain the encoder around a segment.
        return Ok(());
    }
    if packet.duration() <= 0 {
        packet.set_duration(frame_duration);
    }
    for muxer in muxers.iter_mut().filter(|muxer| muxer.rendition == Some(rendition)) {
        muxer.write_video(packet)?;
    }
    Ok(())
}

pub(super) fn write_audio(muxers: &mut [Muxer], packet: &Packet) -> Result<(), VideoError> {
    for muxer in muxers.iter_mut().filter(|muxer| muxer.has_audio()) {
        muxer.write_audio(packet)?;
    }
    Ok(())
}

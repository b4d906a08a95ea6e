//! One rendition's video: the shared decoded frame scaled and rotated for it, then libx264.

use std::collections::BTreeMap;

use ffmpeg_next::codec::{self, Flags};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::util::color;
use ffmpeg_next::util::frame::Video as VideoFrame;
use ffmpeg_next::{Dictionary, Packet, Rational, encoder, ffi};

use crate::VideoError;
use crate::frames::FrameConverter;
use crate::hls::avc_codec_string;
use crate::transcode::X264Preset;
use crate::transcode::plan::RenditionPlan;

/// Encoder settings shared by every rendition of one transcode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VideoSettings {
    /// The source stream's time base; frames keep their source timestamps.
    pub time_base: Rational,
    /// The source's average frame rate (x264 uses it for rate control).
    pub frame_rate: Rational,
    /// Clockwise rotation to apply to decoded frames.
    pub rotation: u16,
    /// x264 preset.
    pub preset: X264Preset,
    /// Constant rate factor, 0–51.
    pub crf: u8,
    /// Keyframe interval in frames at `frame_rate` (keyframes are also forced every interval by time).
    pub gop_frames: u32,
    /// Colour tags to carry over: primaries, transfer, matrix.
    pub color: (color::Primaries, color::TransferCharacteristic, color::Space),
}

/// The video encoder of one rendition.
pub(crate) struct RenditionVideoEncoder {
    converter: FrameConverter,
    encoder: encoder::video::Encoder,
    time_base: Rational,
    /// Durations of frames sent but not yet out of the encoder, by timestamp. libx264 does not set
    /// packet durations, and the muxers need them (MP4 for the last sample, HLS for `#EXTINF`).
    pending_durations: BTreeMap<i64, i64>,
}

impl RenditionVideoEncoder {
    /// Opens libx264 for `plan` with `settings`: CRF capped by the rung's maxrate and bufsize, no
    /// scene-cut keyframes (so every rendition has its keyframes at the same times), closed GOPs,
    /// global headers for MP4 and fMP4.
    pub(crate) fn open(plan: &RenditionPlan, settings: &VideoSettings) -> Result<Self, VideoError> {
        let codec = encoder::find_by_name("libx264")
            .ok_or_else(|| VideoError::encode("finding libx264", "FFmpeg was built without libx264"))?;
        // Allocating with the codec applies libx264's own defaults (B-frames, threads, GOP) rather
        // than FFmpeg's generic ones.
        let mut video = codec::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|error| VideoError::encode("configuring libx264", error))?;
        video.set_width(plan.width);
        video.set_height(plan.height);
        video.set_format(Pixel::YUV420P);
        video.set_time_base(settings.time_base);
        video.set_frame_rate(Some(settings.frame_rate));
        video.set_aspect_ratio(Rational::new(1, 1));
        video.set_gop(settings.gop_frames);
        video.set_max_bit_rate(plan.max_bit_rate as usize);
        video.set_flags(Flags::GLOBAL_HEADER);
        video.set_color_range(color::Range::MPEG);
        let (primaries, transfer, space) = settings.color;
        video.set_color_primaries(primaries);
        video.set_color_transfer_characteristic(transfer);
        video.set_colorspace(space);
        // SAFETY: plain integer fields of the encoder context we own, set before it is opened.
        unsafe {
            let context = video.as_mut_ptr();
            (*context).rc_buffer_size = i32::try_from(plan.buffer_size).unwrap_or(i32::MAX);
            (*context).keyint_min = i32::try_from(settings.gop_frames).unwrap_or(i32::MAX);
        }
        let mut options = Dictionary::new();
        options.set("preset", settings.preset.name());
        options.set("crf", &settings.crf.to_string());
        options.set("sc_threshold", "0");
        options.set("forced-idr", "1");
        let encoder = video
            .open_as_with(codec, options)
            .map_err(|error| VideoError::encode(format!("opening libx264 for {}", plan.label), error))?;
        Ok(RenditionVideoEncoder {
            converter: FrameConverter::new(Pixel::YUV420P, plan.width, plan.height, settings.rotation),
            encoder,
            time_base: settings.time_base,
            pending_durations: BTreeMap::new(),
        })
    }

    /// The opened encoder's context, for adding its stream to muxers.
    pub(crate) fn context(&self) -> &codec::Context {
        &self.encoder
    }

    /// The time base of the packets this encoder produces.
    pub(crate) fn time_base(&self) -> Rational {
        self.time_base
    }

    /// How many frames libx264 holds back for B-frame reordering: its first packet's decode time is
    /// this many frame durations before its presentation time.
    pub(crate) fn reorder_delay_frames(&self) -> i64 {
        // SAFETY: reading a plain integer field of the opened encoder context we own.
        i64::from(unsafe { (*self.encoder.as_ptr()).has_b_frames }.max(0))
    }

    /// The RFC 6381 codec string of the stream (`avc1.64001f`).
    pub(crate) fn codec_string(&self) -> String {
        // SAFETY: after opening with GLOBAL_HEADER, `extradata` holds `extradata_size` bytes (or is
        // null with size 0); the slice does not outlive `self`.
        let extradata = unsafe {
            let context = self.encoder.as_ptr();
            match usize::try_from((*context).extradata_size) {
                Ok(size) if size > 0 && !(*context).extradata.is_null() => {
                    std::slice::from_raw_parts((*context).extradata, size)
                }
                _ => &[],
            }
        };
        avc_codec_string(extradata).unwrap_or_else(|| "avc1.640028".into())
    }

    /// Records the duration of the frame sent with timestamp `pts`, once the next frame tells it.
    pub(crate) fn set_duration(&mut self, pts: i64, duration: i64) {
        if let Some(pending) = self.pending_durations.get_mut(&pts) {
            *pending = duration;
        }
    }

    /// Converts `frame` (timestamp and picture type already set) for this rendition and sends it.
    pub(crate) fn send_frame(&mut self, frame: &VideoFrame) -> Result<(), VideoError> {
        if let Some(pts) = frame.pts() {
            self.pending_durations.insert(pts, 0);
        }
        let converted = self.converter.convert(frame)?;
        self.encoder.send_frame(converted).map_err(|error| VideoError::encode("encoding a frame", error))
    }

    /// Signals the end of the stream; the remaining packets then come out of [`Self::receive_packet`].
    pub(crate) fn send_eof(&mut self) -> Result<(), VideoError> {
        self.encoder.send_eof().map_err(|error| VideoError::encode("flushing libx264", error))
    }

    /// The next encoded packet, if one is ready, with its frame's duration when known (0 otherwise).
    pub(crate) fn receive_packet(&mut self, packet: &mut Packet) -> Result<bool, VideoError> {
        if !receive(&mut self.encoder, packet)? {
            return Ok(false);
        }
        let duration = packet.pts().and_then(|pts| self.pending_durations.remove(&pts)).unwrap_or(0);
        packet.set_duration(duration);
        Ok(true)
    }
}

/// Receives a packet from any encoder: `Ok(false)` when it needs more input or is drained.
pub(crate) fn receive(encoder: &mut encoder::Encoder, packet: &mut Packet) -> Result<bool, VideoError> {
    match encoder.receive_packet(packet) {
        Ok(()) => Ok(true),
        Err(ffmpeg_next::Error::Eof) => Ok(false),
        Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EAGAIN => Ok(false),
        Err(error) => Err(VideoError::encode("receiving an encoded packet", error)),
    }
}

/// The colour tags of the renditions: BT.709 when the source's frames are tone-mapped to it (see
/// [`crate::tonemap`]), the source's own tags otherwise, so that pixels are never labelled with a
/// colour space they were not converted to.
pub(crate) fn rendition_color(
    source: (color::Primaries, color::TransferCharacteristic, color::Space),
    tone_mapped: bool,
) -> (color::Primaries, color::TransferCharacteristic, color::Space) {
    if tone_mapped {
        (color::Primaries::BT709, color::TransferCharacteristic::BT709, color::Space::BT709)
    } else {
        source
    }
}

/// FFmpeg's raw colour fields of a stream, as typed values.
pub(crate) fn stream_color(
    parameters: &ffi::AVCodecParameters,
) -> (color::Primaries, color::TransferCharacteristic, color::Space) {
    (
        color::Primaries::from(parameters.color_primaries),
        color::TransferCharacteristic::from(parameters.color_trc),
        color::Space::from(parameters.color_space),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DynamicRange;

    #[test]
    fn only_tone_mapped_frames_are_tagged_bt709() {
        use color::TransferCharacteristic as Transfer;
        // BT.2020 primaries with an SDR transfer are not HDR: not tone-mapped, so they keep their tags.
        let wide_gamut_sdr = (color::Primaries::BT2020, Transfer::BT2020_10, color::Space::BT2020NCL);
        assert_eq!(DynamicRange::of_transfer(wide_gamut_sdr.1), DynamicRange::Sdr);
        assert_eq!(rendition_color(wide_gamut_sdr, false), wide_gamut_sdr);
        let hlg = (color::Primaries::BT2020, Transfer::ARIB_STD_B67, color::Space::BT2020NCL);
        assert_eq!(DynamicRange::of_transfer(hlg.1), DynamicRange::HdrHlg);
        assert_eq!(
            rendition_color(hlg, true),
            (color::Primaries::BT709, Transfer::BT709, color::Space::BT709)
        );
        assert_eq!(DynamicRange::of_transfer(Transfer::SMPTE2084), DynamicRange::HdrPq);
    }
}

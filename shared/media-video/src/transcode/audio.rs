//! Audio: decoded once, resampled to planar float, cut into AAC frames, encoded once. The encoded
//! packets go to every rendition (or to the audio-only `.m4a`).

use std::ptr;

use ffmpeg_next::codec::{self, Flags};
use ffmpeg_next::format::Sample;
use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::util::frame::Audio as AudioFrame;
use ffmpeg_next::{ChannelLayout, Packet, Rational, encoder, ffi};

use crate::VideoError;
use crate::transcode::video::receive;

/// Sample rates AAC encodes; others are resampled to 48 kHz.
const AAC_SAMPLE_RATES: [u32; 9] = [8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 12_000];

/// The output rate for a source rate: kept when AAC supports it (up to 48 kHz), else 48 kHz.
pub(crate) fn output_sample_rate(source_rate: u32) -> u32 {
    if AAC_SAMPLE_RATES.contains(&source_rate) { source_rate } else { 48_000 }
}

/// Mono stays mono; everything else becomes stereo, which every browser and phone plays.
pub(crate) fn output_channels(source_channels: u32) -> u32 {
    if source_channels == 1 { 1 } else { 2 }
}

/// Resampling and AAC encoding of one audio stream.
pub(crate) struct AudioEncoder {
    encoder: encoder::audio::Encoder,
    resampler: Option<Resampler>,
    /// Resampled samples not yet encoded, one buffer per output channel.
    pending: Vec<Vec<f32>>,
    /// Samples to drop from the front (audio that starts before the output's time zero).
    skip_samples: u64,
    /// Timestamp (in samples) of the next encoded frame; set from the first decoded frame.
    next_pts: Option<i64>,
    frame_size: usize,
    channels: u32,
    rate: u32,
}

impl AudioEncoder {
    /// Opens the AAC encoder for a source of `source_channels` at `source_rate`.
    pub(crate) fn open(source_channels: u32, source_rate: u32, bit_rate: u32) -> Result<Self, VideoError> {
        let codec = encoder::find(codec::Id::AAC)
            .ok_or_else(|| VideoError::encode("finding the AAC encoder", "FFmpeg was built without it"))?;
        let (channels, rate) = (output_channels(source_channels), output_sample_rate(source_rate));
        let mut audio = codec::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(|error| VideoError::encode("configuring AAC", error))?;
        audio.set_rate(rate as i32);
        audio.set_format(Sample::F32(SampleType::Planar));
        audio.set_channel_layout(if channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO });
        audio.set_bit_rate(bit_rate as usize);
        audio.set_time_base(Rational::new(1, rate as i32));
        audio.set_flags(Flags::GLOBAL_HEADER);
        // SAFETY: `ch_layout` is the encoder context's own layout field, set before opening.
        unsafe { ffi::av_channel_layout_default(&mut (*audio.as_mut_ptr()).ch_layout, channels as i32) };
        let encoder = audio.open_as(codec).map_err(|error| VideoError::encode("opening AAC", error))?;
        let frame_size = (encoder.frame_size() as usize).max(1);
        Ok(AudioEncoder {
            encoder,
            resampler: None,
            pending: vec![Vec::new(); channels as usize],
            skip_samples: 0,
            next_pts: None,
            frame_size,
            channels,
            rate,
        })
    }

    /// The opened encoder's context, for adding its stream to muxers.
    pub(crate) fn context(&self) -> &codec::Context {
        &self.encoder
    }

    /// The time base of the packets (one sample).
    pub(crate) fn time_base(&self) -> Rational {
        Rational::new(1, self.rate as i32)
    }

    /// The encoder's priming: its first packet starts this many samples before time zero.
    pub(crate) fn priming_samples(&self) -> i64 {
        // SAFETY: reading a plain integer field of the opened encoder context we own.
        i64::from(unsafe { (*self.encoder.as_ptr()).initial_padding }.max(0))
    }

    /// Seconds of audio sent to the encoder so far.
    pub(crate) fn seconds_encoded(&self) -> f64 {
        self.next_pts.map_or(0.0, |pts| pts as f64 / f64::from(self.rate))
    }

    /// Resamples a decoded `frame` that starts at `start_seconds` on the output timeline, and
    /// encodes every whole AAC frame now available; `sink` receives the packets.
    pub(crate) fn push(
        &mut self,
        frame: &AudioFrame,
        start_seconds: f64,
        sink: &mut dyn FnMut(&Packet) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        if self.next_pts.is_none() {
            // The first samples set the timeline; audio before time zero is dropped.
            let start_samples = (start_seconds * f64::from(self.rate)).round() as i64;
            self.next_pts = Some(start_samples.max(0));
            self.skip_samples = u64::try_from(-start_samples).unwrap_or(0);
        }
        self.resample(Some(frame))?;
        self.encode_pending(false, sink)
    }

    /// Drains the resampler and the encoder at the end of the stream.
    pub(crate) fn finish(
        &mut self,
        sink: &mut dyn FnMut(&Packet) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        if self.resampler.is_some() {
            self.resample(None)?;
        }
        self.encode_pending(true, sink)?;
        self.encoder.send_eof().map_err(|error| VideoError::encode("flushing AAC", error))?;
        self.drain(sink)
    }

    fn resample(&mut self, frame: Option<&AudioFrame>) -> Result<(), VideoError> {
        if let Some(frame) = frame {
            let key = InputKey::of(frame)?;
            if self.resampler.as_ref().is_none_or(|resampler| resampler.input != key) {
                self.resampler = Some(Resampler::new(key, self.channels, self.rate)?);
            }
        }
        let Some(resampler) = self.resampler.as_mut() else { return Ok(()) };
        let written = resampler.convert(frame, &mut self.pending)?;
        let skipped = usize::try_from(self.skip_samples).unwrap_or(usize::MAX).min(written);
        if skipped > 0 {
            for channel in &mut self.pending {
                let keep_from = channel.len() - written;
                channel.drain(keep_from..keep_from + skipped);
            }
            self.skip_samples -= skipped as u64;
        }
        Ok(())
    }

    /// Encodes whole frames of pending samples; with `flush`, the last partial frame too.
    fn encode_pending(
        &mut self,
        flush: bool,
        sink: &mut dyn FnMut(&Packet) -> Result<(), VideoError>,
    ) -> Result<(), VideoError> {
        loop {
            let available = self.pending.first().map_or(0, Vec::len);
            let samples = if available >= self.frame_size {
                self.frame_size
            } else if flush && available > 0 {
                available
            } else {
                return Ok(());
            };
            let layout = if self.channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
            let mut frame = AudioFrame::new(Sample::F32(SampleType::Planar), samples, layout);
            frame.set_rate(self.rate);
            // SAFETY: `ch_layout` of a frame we own; FFmpeg 5.1 encoders read it rather than the
            // legacy mask ffmpeg-next sets.
            unsafe {
                ffi::av_channel_layout_default(&mut (*frame.as_mut_ptr()).ch_layout, self.channels as i32)
            };
            for (index, channel) in self.pending.iter_mut().enumerate() {
                frame.plane_mut::<f32>(index)[..samples].copy_from_slice(&channel[..samples]);
                channel.drain(..samples);
            }
            let pts = self.next_pts.unwrap_or(0);
            frame.set_pts(Some(pts));
            self.next_pts = Some(pts + samples as i64);
            self.encoder.send_frame(&frame).map_err(|error| VideoError::encode("encoding audio", error))?;
            self.drain(sink)?;
        }
    }

    fn drain(&mut self, sink: &mut dyn FnMut(&Packet) -> Result<(), VideoError>) -> Result<(), VideoError> {
        let mut packet = Packet::empty();
        while receive(&mut self.encoder, &mut packet)? {
            sink(&packet)?;
        }
        Ok(())
    }
}

/// The input a resampler was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InputKey {
    format: ffi::AVSampleFormat,
    rate: i32,
    channels: i32,
    /// The layout's bit mask when it has one (native order), else 0.
    mask: u64,
}

impl InputKey {
    fn of(frame: &AudioFrame) -> Result<InputKey, VideoError> {
        // SAFETY: reading plain fields of a decoded frame; the union member `mask` is only read
        // when the order says it is the active one.
        let (rate, channels, mask) = unsafe {
            let raw = frame.as_ptr();
            let layout = &(*raw).ch_layout;
            let mask =
                if layout.order == ffi::AVChannelOrder::AV_CHANNEL_ORDER_NATIVE { layout.u.mask } else { 0 };
            let channels = if layout.nb_channels > 0 { layout.nb_channels } else { (*raw).channels };
            ((*raw).sample_rate, channels, mask)
        };
        if rate <= 0 || !(1..=64).contains(&channels) || frame.format() == Sample::None {
            return Err(VideoError::CorruptInput {
                reason: format!("audio frame of {channels} channels at {rate} Hz"),
            });
        }
        Ok(InputKey { format: frame.format().into(), rate, channels, mask })
    }
}

/// A libswresample context converting one input to planar float at the output rate and layout.
struct Resampler {
    context: *mut ffi::SwrContext,
    input: InputKey,
    output_channels: u32,
}

impl Resampler {
    fn new(input: InputKey, output_channels: u32, output_rate: u32) -> Result<Resampler, VideoError> {
        // SAFETY: the layouts are initialised by FFmpeg before use and uninitialised after; the
        // context pointer is checked and owned by the returned value, which frees it on drop.
        unsafe {
            let mut in_layout: ffi::AVChannelLayout = std::mem::zeroed();
            if input.mask != 0 && input.mask.count_ones() as i32 == input.channels {
                ffi::av_channel_layout_from_mask(&mut in_layout, input.mask);
            } else {
                ffi::av_channel_layout_default(&mut in_layout, input.channels);
            }
            let mut out_layout: ffi::AVChannelLayout = std::mem::zeroed();
            ffi::av_channel_layout_default(&mut out_layout, output_channels as i32);
            let mut context = ptr::null_mut();
            let allocated = ffi::swr_alloc_set_opts2(
                &mut context,
                &mut out_layout,
                ffi::AVSampleFormat::AV_SAMPLE_FMT_FLTP,
                output_rate as i32,
                &mut in_layout,
                input.format,
                input.rate,
                0,
                ptr::null_mut(),
            );
            ffi::av_channel_layout_uninit(&mut in_layout);
            ffi::av_channel_layout_uninit(&mut out_layout);
            let resampler = Resampler { context, input, output_channels };
            if allocated < 0 || context.is_null() || ffi::swr_init(context) < 0 {
                return Err(VideoError::UnsupportedCodec {
                    stream: "audio",
                    codec: format!(
                        "{} channels of {:?} at {} Hz cannot be resampled",
                        input.channels, input.format, input.rate
                    ),
                });
            }
            Ok(resampler)
        }
    }

    /// Converts `frame` (or, with `None`, flushes the buffered tail) and appends the output to
    /// `pending`, one buffer per channel. Returns the number of samples appended per channel.
    fn convert(&mut self, frame: Option<&AudioFrame>, pending: &mut [Vec<f32>]) -> Result<usize, VideoError> {
        let input_samples = frame.map_or(0, |frame| frame.samples());
        let input_samples = i32::try_from(input_samples)
            .map_err(|_| VideoError::CorruptInput { reason: "an audio frame has too many samples".into() })?;
        // SAFETY: the context is initialised; `swr_get_out_samples` only reads its state.
        let capacity = unsafe { ffi::swr_get_out_samples(self.context, input_samples) }.max(0) as usize + 32;
        let mut outputs: Vec<*mut u8> = Vec::with_capacity(pending.len());
        let starts: Vec<usize> = pending.iter().map(Vec::len).collect();
        for channel in pending.iter_mut().take(self.output_channels as usize) {
            let start = channel.len();
            channel.resize(start + capacity, 0.0);
            outputs.push(channel[start..].as_mut_ptr().cast());
        }
        let inputs: *mut *const u8 = match frame {
            // SAFETY: a decoded frame's `extended_data` points at one plane per channel (planar) or one
            // interleaved plane, each holding `nb_samples` samples of the frame's format.
            Some(frame) => unsafe { (*frame.as_ptr()).extended_data as *mut *const u8 },
            None => ptr::null_mut(),
        };
        // SAFETY: every output pointer has room for `capacity` floats; the inputs are described by the
        // frame this resampler was built for (same format, rate and channel count).
        let written = unsafe {
            ffi::swr_convert(self.context, outputs.as_mut_ptr(), capacity as i32, inputs, input_samples)
        };
        let written = usize::try_from(written).unwrap_or(0).min(capacity);
        for (channel, start) in pending.iter_mut().zip(starts) {
            channel.truncate(start + written);
        }
        Ok(written)
    }
}

impl Drop for Resampler {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by swr_alloc_set_opts2 and is freed exactly once.
        unsafe { ffi::swr_free(&mut self.context) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_friendly_rates_and_channel_counts() {
        assert_eq!(output_sample_rate(44_100), 44_100);
        assert_eq!(output_sample_rate(48_000), 48_000);
        assert_eq!(output_sample_rate(96_000), 48_000);
        assert_eq!(output_sample_rate(7_350), 48_000);
        assert_eq!(output_channels(1), 1);
        assert_eq!(output_channels(2), 2);
        assert_eq!(output_channels(6), 2);
    }

    #[test]
    fn a_second_of_stereo_tone_becomes_aac_packets_covering_it() {
        crate::init();
        let mut encoder = AudioEncoder::open(2, 48_000, 128_000).expect("opens");
        let mut packets = 0;
        let mut last_pts = -1;
        let mut sink = |packet: &Packet| {
            packets += 1;
            last_pts = packet.pts().unwrap_or(-1);
            Ok(())
        };
        for chunk in 0..10 {
            let mut frame = AudioFrame::new(Sample::F32(SampleType::Planar), 4_800, ChannelLayout::STEREO);
            frame.set_rate(48_000);
            // SAFETY: the frame's own layout field.
            unsafe { ffi::av_channel_layout_default(&mut (*frame.as_mut_ptr()).ch_layout, 2) };
            for channel in 0..2 {
                for (index, sample) in frame.plane_mut::<f32>(channel).iter_mut().enumerate() {
                    *sample = ((chunk * 4_800 + index) as f32 * 440.0 * std::f32::consts::TAU / 48_000.0)
                        .sin()
                        * 0.5;
                }
            }
            encoder.push(&frame, chunk as f64 * 0.1, &mut sink).expect("encodes");
        }
        encoder.finish(&mut sink).expect("flushes");
        assert!((encoder.seconds_encoded() - 1.0).abs() < 0.01, "{}", encoder.seconds_encoded());
        // 48 000 samples in 1024-sample frames, plus the encoder's priming frame.
        assert!((47..=49).contains(&packets), "{packets} packets");
        assert!(last_pts >= 46 * 1024, "last pts {last_pts}");
    }
}

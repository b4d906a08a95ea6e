//! Transcoding to web-playable renditions: H.264 (libx264) and AAC in faststart MP4, a ladder of
//! sizes from one decode, and HLS packaged from the same encoded packets.
//!
//! How the work is shared:
//! - **Decode once, scale per rendition.** One decoder reads the source; each decoded frame is
//!   scaled (and rotated upright) once per rendition and sent to that rendition's libx264. HDR
//!   frames are first tone-mapped once, at the largest rendition's size.
//! - **Audio once.** The audio is decoded, resampled and AAC-encoded once; every rendition's muxers
//!   get references to the same packets.
//! - **HLS without a second encode.** Each rendition's encoded packets go to two muxers: the MP4
//!   file and FFmpeg's `hls` muxer, which cuts fMP4 (or MPEG-TS) segments at keyframes. Keyframes
//!   are forced on the same 2-second grid in every rendition (and scene-cut keyframes are off), so
//!   segments line up across renditions. The master playlist is written last, with `BANDWIDTH`
//!   (peak segment bit rate), `AVERAGE-BANDWIDTH`, `RESOLUTION`, `CODECS` and `FRAME-RATE`.
//!
//! Everything is written to a private folder inside the caller's work directory and moved to the
//! output directory only when complete: a failure or a passed deadline leaves no partial output.

mod audio;
mod mux;
mod options;
mod pipeline;
mod plan;
mod publish;
mod segmented;
mod video;

pub use options::{
    AudioRendition, HlsSegmentFormat, Rendition, Rung, TranscodeOptions, TranscodeOutputs, X264Preset,
    default_ladder,
};
pub use segmented::{
    AudioTrackOutputs, ChunkOutput, RungSegmentOutputs, SegmentOutputs, SegmentPlan, join_segments,
    plan_segments, transcode_audio_track, transcode_segment,
};

use std::path::Path;
use std::time::Instant;

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::frame::{Audio as AudioFrame, Video as VideoFrame};
use ffmpeg_next::{Packet, Rational, ffi};

use crate::VideoError;
use crate::ffi_util::codec_parameters;
use crate::hls::{AAC_LC_CODEC_STRING, Variant, master_playlist, measure_bit_rates};
use crate::input::{self, InputFile};
use crate::probe::{AudioStream, Probe, VideoStream};
use crate::rotation::rotated_size;
use crate::source::VideoSource;
use crate::tonemap::ToneMapper;
use audio::AudioEncoder;
use mux::{HlsVariantOptions, Muxer, MuxerStreams};
use pipeline::{AudioPath, FrameWindow, PacketReader, VideoPath, write_audio};
use plan::plan_renditions;
use publish::{Staged, publish};
use video::{RenditionVideoEncoder, VideoSettings, rendition_color, stream_color};

/// Transcodes `source` (a path, or a [`VideoSource`]), described by `probe` (from
/// [`probe`](crate::probe())), as `options` say: H.264/AAC faststart MP4 renditions
/// (`<label>.mp4`), HLS (`hls/master.m3u8`), or for audio-only inputs an AAC `audio.m4a`. `progress`
/// is called with the fraction done (0 to 1). A ranged source is read once, front to back, in
/// requests that grow while the reads stay sequential.
///
/// Errors: `deadline-exceeded` when `options.deadline` passes (partial outputs are removed),
/// `no-media-stream`, `unsupported-codec`, `corrupt-input`, `truncated-input` (the media ends well
/// before the container's duration), `too-large`, `invalid-options`, `encode-failed`, `io-error`.
pub fn transcode(
    source: impl Into<VideoSource>,
    probe: &Probe,
    options: &TranscodeOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<TranscodeOutputs, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| transcode_source(source, probe, options, progress))
}

fn transcode_source(
    source: &VideoSource,
    probe: &Probe,
    options: &TranscodeOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<TranscodeOutputs, VideoError> {
    crate::init();
    options.validate()?;
    options.limits.check_probe(probe)?;
    let deadline = Deadline(options.deadline);
    deadline.check("starting")?;
    let file = input::inspect(source)?;
    input::check_probe_matches(&file, probe)?;
    if probe.main_video().is_none() && probe.main_audio().is_none() {
        return Err(VideoError::NoMediaStream);
    }
    std::fs::create_dir_all(&options.out_dir).map_err(|error| VideoError::io(&options.out_dir, error))?;
    let work_dir =
        std::fs::canonicalize(&options.work_dir).map_err(|error| VideoError::io(&options.work_dir, error))?;
    if options.hls && work_dir.to_string_lossy().contains('%') {
        // FFmpeg's HLS muxer expands `%d` patterns in the whole segment path, folders included.
        return Err(VideoError::InvalidOptions(format!(
            "the work folder {} contains '%'",
            work_dir.display()
        )));
    }
    let staging = tempfile::Builder::new()
        .prefix(".media-video-")
        .tempdir_in(&work_dir)
        .map_err(|error| VideoError::io(&work_dir, error))?;
    let started = Instant::now();
    let staged =
        Transcode { source, file: &file, probe, options, staging: staging.path(), deadline }.run(progress)?;
    deadline.check("publishing")?;
    let outputs = publish(staged, staging.path(), &options.out_dir)?;
    progress(1.0);
    tracing::info!(
        renditions = outputs.renditions.len(),
        duration_seconds = outputs.duration_seconds,
        ms = started.elapsed().as_millis() as u64,
        "transcoded"
    );
    Ok(outputs)
}

/// The caller's deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub(crate) fn check(self, stage: &'static str) -> Result<(), VideoError> {
        match self.0 {
            Some(deadline) if Instant::now() >= deadline => Err(VideoError::DeadlineExceeded { stage }),
            _ => Ok(()),
        }
    }
}

/// One transcode's inputs.
struct Transcode<'a> {
    source: &'a VideoSource,
    file: &'a InputFile,
    probe: &'a Probe,
    options: &'a TranscodeOptions,
    staging: &'a Path,
    deadline: Deadline,
}

impl Transcode<'_> {
    fn run(&self, progress: &mut dyn FnMut(f32)) -> Result<Staged, VideoError> {
        let mut context = input::open(self.source, self.file)?;
        let start_seconds = start_seconds(&context, self.probe);
        let mut video = match self.probe.main_video() {
            Some(stream) => Some(self.open_video(&context, stream, start_seconds)?),
            None => None,
        };
        let mut audio = match self.probe.main_audio() {
            Some(stream) => match self.open_audio(&context, stream, start_seconds) {
                Ok(audio) => Some(audio),
                // A video with an audio codec FFmpeg cannot decode still gets its video.
                Err(error @ VideoError::UnsupportedCodec { .. }) if video.is_some() => {
                    tracing::warn!(code = %error.code(), %error, "dropping the audio");
                    None
                }
                Err(error) => return Err(error),
            },
            None => None,
        };
        let mut muxers = self.open_muxers(video.as_ref(), audio.as_ref())?;

        let duration = declared_duration(self.probe);
        let mut reported = 0.0f32;
        let mut packet = Packet::empty();
        let mut reader = PacketReader::new(self.source, self.file);
        loop {
            self.deadline.check("transcoding")?;
            if !reader.read(&mut context, &mut packet)? {
                break;
            }
            if let Some(video) = video.as_mut().filter(|video| video.stream_index == packet.stream()) {
                video.decode(Some(&packet), &mut muxers, self.deadline)?;
            } else if let Some(audio) = audio.as_mut().filter(|audio| audio.stream_index == packet.stream()) {
                audio.decode(Some(&packet), &mut muxers)?;
            }
            if let Some(duration) = duration {
                let done = video
                    .as_ref()
                    .map_or(0.0, |video| video.end_seconds)
                    .max(audio.as_ref().map_or(0.0, |audio| audio.encoder.seconds_encoded()));
                let fraction = ((done / duration) as f32).clamp(0.0, 0.99);
                if fraction >= reported + 0.01 {
                    reported = fraction;
                    progress(fraction);
                }
            }
        }

        self.deadline.check("flushing the encoders")?;
        if let Some(video) = video.as_mut() {
            video.decode(None, &mut muxers, self.deadline)?;
            video.finish(&mut muxers, self.deadline)?;
        }
        if let Some(audio) = audio.as_mut() {
            audio.decode(None, &mut muxers)?;
            audio.encoder.finish(&mut |packet| write_audio(&mut muxers, packet))?;
        }
        let duration_seconds = video
            .as_ref()
            .map_or(0.0, |video| video.end_seconds)
            .max(audio.as_ref().map_or(0.0, |audio| audio.encoder.seconds_encoded()));
        self.check_complete(video.as_ref(), audio.as_ref(), duration_seconds)?;
        self.deadline.check("finishing the files")?;
        for muxer in muxers {
            muxer.finish()?;
        }
        self.describe_outputs(video.as_ref(), audio.is_some(), duration_seconds)
    }

    fn open_video(
        &self,
        context: &Input,
        video: &VideoStream,
        start_seconds: f64,
    ) -> Result<VideoPath, VideoError> {
        let stream = context
            .stream(video.index as usize)
            .filter(|stream| stream.parameters().medium() == ffmpeg_next::media::Type::Video)
            .ok_or_else(|| {
                VideoError::InvalidOptions(format!(
                    "the probe's video stream {} is not in the file",
                    video.index
                ))
            })?;
        let plans = plan_renditions(video.display_width, video.display_height, &self.options.ladder);
        let Some(largest) = plans.first() else {
            return Err(VideoError::CorruptInput {
                reason: format!(
                    "a {}x{} picture is too small to encode",
                    video.display_width, video.display_height
                ),
            });
        };
        // HDR is tone-mapped once, at the largest rendition's size in stored orientation.
        let (largest_width, largest_height) = rotated_size(largest.width, largest.height, video.rotation);
        let mut decoder_context = codec::Context::from_parameters(stream.parameters())
            .map_err(|error| VideoError::encode("configuring the video decoder", error))?;
        decoder_context.set_threading(threading::Config {
            kind: threading::Type::Frame,
            count: 0,
            ..Default::default()
        });
        let decoder = decoder_context
            .decoder()
            .video()
            .map_err(|_| VideoError::UnsupportedCodec { stream: "video", codec: video.codec.clone() })?;
        let time_base = stream.time_base();
        if time_base.numerator() <= 0 || time_base.denominator() <= 0 {
            return Err(VideoError::CorruptInput { reason: "the video stream has no time base".into() });
        }
        let frame_rate = nominal_frame_rate(&stream);
        let keyframe_interval = f64::from(self.options.keyframe_interval_seconds);
        let gop_frames = ((f64::from(frame_rate) * keyframe_interval).round() as u32).max(1);
        let tone_mapper =
            ToneMapper::for_source(video.dynamic_range, largest_width, largest_height, time_base);
        let settings = VideoSettings {
            time_base,
            frame_rate,
            rotation: video.rotation,
            preset: self.options.preset,
            crf: self.options.crf,
            gop_frames,
            color: rendition_color(stream_color(codec_parameters(&stream)), tone_mapper.is_some()),
        };
        let renditions = plans
            .iter()
            .map(|plan| RenditionVideoEncoder::open(plan, &settings))
            .collect::<Result<Vec<_>, _>>()?;
        let frame_duration = ((1.0 / f64::from(frame_rate)) / f64::from(time_base)).round().max(1.0) as i64;
        Ok(VideoPath {
            stream_index: video.index as usize,
            decoder,
            time_base,
            offset: (start_seconds / f64::from(time_base)).round() as i64,
            frame_duration,
            keyframe_interval_seconds: keyframe_interval,
            next_keyframe_seconds: 0.0,
            last_pts: None,
            end_seconds: 0.0,
            plans,
            renditions,
            frame: VideoFrame::empty(),
            packet: Packet::empty(),
            frames_decoded: 0,
            frames_dropped: 0,
            decode_errors: 0,
            limits: self.options.limits,
            tone_mapper,
            window: FrameWindow::WHOLE,
            frames_encoded: 0,
            passed_end: false,
            reached_end: false,
        })
    }

    fn open_audio(
        &self,
        context: &Input,
        audio: &AudioStream,
        start_seconds: f64,
    ) -> Result<AudioPath, VideoError> {
        let stream = context
            .stream(audio.index as usize)
            .filter(|stream| stream.parameters().medium() == ffmpeg_next::media::Type::Audio)
            .ok_or_else(|| {
                VideoError::InvalidOptions(format!(
                    "the probe's audio stream {} is not in the file",
                    audio.index
                ))
            })?;
        let mut decoder_context = codec::Context::from_parameters(stream.parameters())
            .map_err(|error| VideoError::encode("configuring the audio decoder", error))?;
        decoder_context.set_threading(threading::Config {
            kind: threading::Type::Frame,
            count: 1,
            ..Default::default()
        });
        let decoder = decoder_context
            .decoder()
            .audio()
            .map_err(|_| VideoError::UnsupportedCodec { stream: "audio", codec: audio.codec.clone() })?;
        if audio.channels == 0 || audio.sample_rate == 0 {
            return Err(VideoError::UnsupportedCodec {
                stream: "audio",
                codec: format!(
                    "{} with {} channels at {} Hz",
                    audio.codec, audio.channels, audio.sample_rate
                ),
            });
        }
        Ok(AudioPath {
            stream_index: audio.index as usize,
            decoder,
            time_base: stream.time_base(),
            start_seconds,
            encoder: AudioEncoder::open(audio.channels, audio.sample_rate, self.options.audio_bit_rate)?,
            frame: AudioFrame::empty(),
            decode_errors: 0,
        })
    }

    /// One MP4 (and one HLS variant) per rendition, or the `.m4a` for audio-only inputs.
    fn open_muxers(
        &self,
        video: Option<&VideoPath>,
        audio: Option<&AudioPath>,
    ) -> Result<Vec<Muxer>, VideoError> {
        let audio_stream = audio.map(|audio| (audio.encoder.context(), audio.encoder.time_base()));
        let Some(video) = video else {
            let streams = MuxerStreams { video: None, audio: audio_stream };
            return Ok(vec![Muxer::mp4(&self.staging.join("audio.m4a"), streams)?]);
        };
        let hls_directory = self.staging.join("hls");
        if self.options.hls {
            std::fs::create_dir_all(&hls_directory).map_err(|error| VideoError::io(&hls_directory, error))?;
        }
        let mut muxers = Vec::new();
        for (index, (plan, encoder)) in video.plans.iter().zip(&video.renditions).enumerate() {
            let video_stream = Some((encoder.context(), encoder.time_base(), index));
            let path = self.staging.join(format!("{}.mp4", plan.label));
            muxers.push(Muxer::mp4(&path, MuxerStreams { video: video_stream, audio: audio_stream })?);
            if self.options.hls {
                let hls = HlsVariantOptions {
                    stem: plan.label.clone(),
                    segment_format: self.options.hls_segment_format,
                    segment_seconds: self.options.hls_segment_seconds,
                };
                let playlist = hls_directory.join(format!("{}.m3u8", plan.label));
                muxers.push(Muxer::hls(
                    &playlist,
                    &hls,
                    MuxerStreams { video: video_stream, audio: audio_stream },
                )?);
            }
        }
        Ok(muxers)
    }

    /// Fails when nothing decoded, or when the media ends well before the container's duration
    /// (a truncated upload whose index survived).
    fn check_complete(
        &self,
        video: Option<&VideoPath>,
        audio: Option<&AudioPath>,
        duration_seconds: f64,
    ) -> Result<(), VideoError> {
        if let Some(video) = video {
            if video.frames_decoded == 0 {
                return Err(VideoError::CorruptInput { reason: "no video frame decodes".into() });
            }
            if video.frames_dropped > 0 {
                tracing::debug!(
                    frames_dropped = video.frames_dropped,
                    "dropped frames with repeated timestamps"
                );
            }
        }
        let decode_errors =
            video.map_or(0, |video| video.decode_errors) + audio.map_or(0, |audio| audio.decode_errors);
        if decode_errors > 0 {
            tracing::warn!(decode_errors, "some packets did not decode");
        }
        if duration_seconds <= 0.0 {
            return Err(VideoError::CorruptInput { reason: "no audio or video decodes".into() });
        }
        if let Some(declared) = declared_duration(self.probe) {
            let tolerance = (declared * 0.05).max(1.0);
            if duration_seconds + tolerance < declared {
                return Err(VideoError::TruncatedInput {
                    reason: format!(
                        "the media ends at {duration_seconds:.2} s of the {declared:.2} s the container declares"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Measures the files, writes the HLS master playlist, and describes everything (staging paths).
    fn describe_outputs(
        &self,
        video: Option<&VideoPath>,
        has_audio: bool,
        duration_seconds: f64,
    ) -> Result<Staged, VideoError> {
        let file_size = |path: &Path| {
            std::fs::metadata(path)
                .map(|metadata| metadata.len())
                .map_err(|error| VideoError::io(path, error))
        };
        let bit_rate = |bytes: u64| (bytes as f64 * 8.0 / duration_seconds.max(0.001)).round() as u64;
        let Some(video) = video else {
            let path = self.staging.join("audio.m4a");
            let bytes = file_size(&path)?;
            return Ok(Staged {
                renditions: Vec::new(),
                hls_master: None,
                audio_only: Some(AudioRendition { path, bytes, bit_rate: bit_rate(bytes) }),
                duration_seconds,
            });
        };
        let hls_directory = self.staging.join("hls");
        let mut renditions = Vec::new();
        let mut variants = Vec::new();
        for (plan, encoder) in video.plans.iter().zip(&video.renditions) {
            let path = self.staging.join(format!("{}.mp4", plan.label));
            let bytes = file_size(&path)?;
            let mut codecs = encoder.codec_string();
            if has_audio {
                codecs = format!("{codecs},{AAC_LC_CODEC_STRING}");
            }
            let hls_playlist = self.options.hls.then(|| hls_directory.join(format!("{}.m3u8", plan.label)));
            if let Some(playlist) = &hls_playlist {
                variants.push(Variant {
                    uri: format!("{}.m3u8", plan.label),
                    bit_rates: measure_bit_rates(playlist)?,
                    width: plan.width,
                    height: plan.height,
                    codecs: codecs.clone(),
                    frame_rate: self.probe.main_video().and_then(|video| video.frame_rate),
                });
            }
            renditions.push(Rendition {
                label: plan.label.clone(),
                width: plan.width,
                height: plan.height,
                path,
                bytes,
                bit_rate: bit_rate(bytes),
                codecs,
                hls_playlist,
            });
        }
        let hls_master = if self.options.hls {
            let master = hls_directory.join("master.m3u8");
            std::fs::write(&master, master_playlist(&variants))
                .map_err(|error| VideoError::io(&master, error))?;
            Some(master)
        } else {
            None
        };
        Ok(Staged { renditions, hls_master, audio_only: None, duration_seconds })
    }
}

/// The frame rate libx264 is told, and the duration of frames without timestamps: the stream's
/// average rate, else its base rate, else 30.
fn nominal_frame_rate(stream: &ffmpeg_next::format::stream::Stream<'_>) -> Rational {
    [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .find(|rate| rate.numerator() > 0 && rate.denominator() > 0 && f64::from(*rate) <= 1000.0)
        .unwrap_or(Rational::new(30, 1))
}

/// How long the streams we transcode say they last: the longer of the main video and audio
/// streams' own durations, else the container's (which may include subtitle or data streams).
fn declared_duration(probe: &Probe) -> Option<f64> {
    let streams = [
        probe.main_video().and_then(|video| video.duration_seconds),
        probe.main_audio().and_then(|audio| audio.duration_seconds),
    ];
    streams.into_iter().flatten().reduce(f64::max).or(probe.duration_seconds).filter(|seconds| *seconds > 0.0)
}

/// The output's time zero: the earliest start of the streams used (MPEG-TS files start at 1.4 s
/// or anywhere else), so audio and video keep their offset to each other.
fn start_seconds(context: &Input, probe: &Probe) -> f64 {
    let used = [probe.main_video().map(|video| video.index), probe.main_audio().map(|audio| audio.index)];
    used.into_iter()
        .flatten()
        .filter_map(|index| context.stream(index as usize))
        .filter(|stream| stream.start_time() != ffi::AV_NOPTS_VALUE)
        .map(|stream| stream.start_time() as f64 * f64::from(stream.time_base()))
        .reduce(f64::min)
        .filter(|start| start.is_finite())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use media_core::ErrorCode;

    use super::*;

    #[test]
    fn a_passed_deadline_is_a_typed_error() {
        let passed = Deadline(Some(Instant::now()));
        assert_eq!(passed.check("encoding").map_err(|error| error.code()), Err(ErrorCode::DEADLINE_EXCEEDED));
        assert!(Deadline(None).check("encoding").is_ok());
    }
}

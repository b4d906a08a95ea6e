//! The sound of a segmented transcode: encoded once, as an HLS audio rendition.

use std::time::Instant;

use ffmpeg_next::Packet;

use crate::hls::AAC_LC_CODEC_STRING;
use crate::input;
use crate::source::VideoSource;
use crate::transcode::audio::{output_channels, output_sample_rate};
use crate::transcode::mux::{Muxer, MuxerStreams};
use crate::transcode::pipeline::{PacketReader, write_audio};
use crate::transcode::segmented::fragments::write_chunks;
use crate::transcode::segmented::{AudioTrackOutputs, publish_files, staging_dir, timeline_offset_seconds};
use crate::transcode::{Deadline, Transcode, TranscodeOptions, declared_duration, start_seconds};
use crate::{Probe, VideoError};

/// Encodes the main audio stream of `source` (a path or a [`VideoSource`]) once, to AAC as the serial transcode does,
/// as HLS fMP4 chunks in `options.out_dir/hls/`: `audio_init.mp4` and `audio_<n>.m4s`, cut about
/// every `options.hls_segment_seconds`. `progress` is called with the fraction done (0 to 1).
///
/// For videos with sound only: an audio-only input is transcoded by
/// [`transcode()`](crate::transcode()) (one `.m4a`), and a video without sound needs no audio track.
///
/// Errors: `invalid-options` for inputs without video or without audio, and those of
/// [`transcode()`](crate::transcode()) for the audio.
pub fn transcode_audio_track(
    source: impl Into<VideoSource>,
    probe: &Probe,
    options: &TranscodeOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<AudioTrackOutputs, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| transcode_source_audio_track(source, probe, options, progress))
}

fn transcode_source_audio_track(
    source: &VideoSource,
    probe: &Probe,
    options: &TranscodeOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<AudioTrackOutputs, VideoError> {
    crate::init();
    options.validate()?;
    options.limits.check_probe(probe)?;
    let deadline = Deadline(options.deadline);
    deadline.check("starting")?;
    let Some(audio_stream) = probe.main_audio() else {
        return Err(VideoError::InvalidOptions(
            "the input has no audio stream: join its segments without an audio track".into(),
        ));
    };
    if probe.main_video().is_none() {
        return Err(VideoError::InvalidOptions(
            "the input has no video stream: transcode audio-only inputs with transcode()".into(),
        ));
    }
    let file = input::inspect(source)?;
    input::check_probe_matches(&file, probe)?;
    let staging = staging_dir(options)?;
    let started = Instant::now();
    let mut context = input::open(source, &file)?;
    let offset_seconds = start_seconds(&context, probe);
    let timeline_offset = timeline_offset_seconds(&context, probe, options)?;
    let transcode = Transcode { source, file: &file, probe, options, staging: staging.path(), deadline };
    let mut audio = transcode.open_audio(&context, audio_stream, offset_seconds)?;
    let hls_dir = staging.path().join("hls");
    let fragmented = hls_dir.join("audio.fragmented.mp4");
    let streams =
        MuxerStreams { video: None, audio: Some((audio.encoder.context(), audio.encoder.time_base())) };
    let mut muxers = vec![Muxer::fragmented_mp4(
        &fragmented,
        streams,
        f64::from(options.hls_segment_seconds),
        timeline_offset,
    )?];

    let duration = declared_duration(probe);
    let mut reported = 0.0f32;
    let mut packet = Packet::empty();
    let mut reader = PacketReader::new(source, &file);
    loop {
        deadline.check("transcoding")?;
        if !reader.read(&mut context, &mut packet)? {
            break;
        }
        if packet.stream() != audio.stream_index {
            continue;
        }
        audio.decode(Some(&packet), &mut muxers)?;
        if let Some(duration) = duration {
            let fraction = ((audio.encoder.seconds_encoded() / duration) as f32).clamp(0.0, 0.99);
            if fraction >= reported + 0.01 {
                reported = fraction;
                progress(fraction);
            }
        }
    }
    deadline.check("flushing the encoder")?;
    audio.decode(None, &mut muxers)?;
    audio.encoder.finish(&mut |packet| write_audio(&mut muxers, packet))?;
    let duration_seconds = audio.encoder.seconds_encoded();
    if duration_seconds <= 0.0 {
        return Err(VideoError::CorruptInput { reason: "no audio decodes".into() });
    }
    if audio.decode_errors > 0 {
        tracing::warn!(decode_errors = audio.decode_errors, "some audio packets did not decode");
    }
    deadline.check("finishing the files")?;
    let Some(muxer) = muxers.pop() else {
        return Err(VideoError::encode("finishing the audio", "no muxer"));
    };
    let times = muxer
        .chunk_times()
        .ok_or_else(|| VideoError::encode("splitting chunks", "the muxer is not fragmented"))?;
    let fragmented = muxer.finish()?;
    let init_uri = "audio_init.mp4".to_owned();
    let chunks = write_chunks(&fragmented, &times, &hls_dir, &init_uri, &|n| format!("audio_{n:05}.m4s"))?;
    let init_bytes = std::fs::metadata(hls_dir.join(&init_uri))
        .map_err(|error| VideoError::io(hls_dir.join(&init_uri), error))?
        .len();
    let total_bytes = init_bytes + chunks.iter().map(|chunk| chunk.bytes).sum::<u64>();
    deadline.check("publishing")?;
    publish_files(staging.path(), &options.out_dir)?;
    progress(1.0);
    let outputs = AudioTrackOutputs {
        init_uri,
        chunks,
        duration_seconds,
        bit_rate: (total_bytes as f64 * 8.0 / duration_seconds).round() as u64,
        codecs: AAC_LC_CODEC_STRING.to_owned(),
        channels: output_channels(audio_stream.channels),
        sample_rate: output_sample_rate(audio_stream.sample_rate),
        timeline_offset_seconds: timeline_offset,
    };
    tracing::info!(
        duration_seconds,
        chunks = outputs.chunks.len(),
        ms = started.elapsed().as_millis() as u64,
        "audio track transcoded"
    );
    Ok(outputs)
}

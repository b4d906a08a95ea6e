//! One segment's video, encoded into every rung as HLS chunks.

use std::time::Instant;

use ffmpeg_next::format::context::Input;
use ffmpeg_next::{Packet, ffi};

use crate::input::{self, InputFile};
use crate::source::VideoSource;
use crate::transcode::mux::{Muxer, MuxerStreams};
use crate::transcode::pipeline::{FrameWindow, PacketReader, VideoPath};
use crate::transcode::segmented::fragments::write_chunks;
use crate::transcode::segmented::{
    RungSegmentOutputs, SegmentOutputs, SegmentPlan, publish_files, staging_dir, ticks,
    timeline_offset_seconds,
};
use crate::transcode::{Deadline, Transcode, TranscodeOptions, start_seconds};
use crate::{Probe, VideoError};

/// Encodes the video frames of `segment` (from [`plan_segments`](super::plan_segments) of the same
/// source and probe) of `source` (a path or a [`VideoSource`]) into every rung of `options.ladder`, as HLS fMP4 chunks in
/// `options.out_dir/hls/`: per rung `<label>_s<segment>_init.mp4` and `<label>_s<segment>_<n>.m4s`.
/// Sizes, scaling, rotation, tone mapping and encoder settings are the serial transcode's; no
/// audio. `progress` is called with the fraction done (0 to 1).
///
/// The segment's frames are those presented from the first keyframe-grid point at or after its
/// keyframe, up to (not including) the same point of the next segment's keyframe (see the module
/// notes). Each rung starts with an IDR frame; its keyframes fall on the serial transcode's grid;
/// chunks are cut at keyframes after about `options.hls_segment_seconds`. The encoders also see
/// the frames from the keyframe to the segment's start and one keyframe interval past its end,
/// whose packets are dropped.
///
/// Errors: those of [`transcode()`](crate::transcode()) for the video, and `invalid-options` for a
/// segment that does not belong to this file or is empty on the keyframe grid.
pub fn transcode_segment(
    source: impl Into<VideoSource>,
    probe: &Probe,
    options: &TranscodeOptions,
    segment: &SegmentPlan,
    progress: &mut dyn FnMut(f32),
) -> Result<SegmentOutputs, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| {
        transcode_source_segment(source, probe, options, segment, progress)
    })
}

fn transcode_source_segment(
    source: &VideoSource,
    probe: &Probe,
    options: &TranscodeOptions,
    segment: &SegmentPlan,
    progress: &mut dyn FnMut(f32),
) -> Result<SegmentOutputs, VideoError> {
    crate::init();
    options.validate()?;
    options.limits.check_probe(probe)?;
    let deadline = Deadline(options.deadline);
    deadline.check("starting")?;
    let video_stream = probe.main_video().ok_or(VideoError::NoVideoStream)?;
    let file = input::inspect(source)?;
    input::check_probe_matches(&file, probe)?;
    let staging = staging_dir(options)?;
    let started = Instant::now();
    let mut context = input::open(source, &file)?;
    let offset_seconds = start_seconds(&context, probe);
    let timeline_offset = timeline_offset_seconds(&context, probe, options)?;
    let transcode = Transcode { source, file: &file, probe, options, staging: staging.path(), deadline };
    let mut video = transcode.open_video(&context, video_stream, offset_seconds)?;
    let bounds = seek_segment_bounds(&mut context, &file, source, video.stream_index, segment)?;
    let time_base = f64::from(video.time_base);
    let interval = f64::from(options.keyframe_interval_seconds);
    video.window = keyframe_grid_window(bounds.start_pts, bounds.end_pts, video.offset, time_base, interval);
    if video.window.end.is_some_and(|end| end <= video.window.start) {
        return Err(VideoError::InvalidOptions(format!(
            "segment {} is empty once its ends move onto the {interval} s keyframe grid: plan segments of at \
             least twice the keyframe interval",
            segment.index
        )));
    }
    let mut first_packet = bounds.first_packet;
    let window_start_seconds = video.window.start as f64 * time_base;
    let window_end_seconds = video.window.end.map(|end| end as f64 * time_base);
    video.next_keyframe_seconds = window_start_seconds;

    let hls_dir = staging.path().join("hls");
    let file_stem = |label: &str| format!("{label}_s{:05}", segment.index);
    let mut muxers = open_rung_muxers(&video, &hls_dir, &file_stem, options, timeline_offset)?;
    let span = (window_end_seconds.unwrap_or(segment.end_seconds) - window_start_seconds).max(0.001);
    let mut reported = 0.0f32;
    let mut report = |end_seconds: f64| {
        let fraction = (((end_seconds - window_start_seconds) / span) as f32).clamp(0.0, 0.99);
        if fraction >= reported + 0.01 {
            reported = fraction;
            progress(fraction);
        }
    };
    let reader = PacketReader::new(source, &file);
    encode_video_packets(
        &mut video,
        &mut context,
        reader,
        first_packet.take(),
        &mut muxers,
        deadline,
        &mut report,
    )?;
    deadline.check("flushing the encoders")?;
    if !video.reached_end {
        // The end of the stream (a segment's end past the last frame ends it there too).
        video.decode(None, &mut muxers, deadline)?;
    }
    video.finish(&mut muxers, deadline)?;
    if video.frames_encoded == 0 {
        return Err(VideoError::CorruptInput {
            reason: format!("no video frame of segment {} decodes", segment.index),
        });
    }
    if video.decode_errors > 0 {
        tracing::warn!(
            decode_errors = video.decode_errors,
            segment = segment.index,
            "some packets did not decode"
        );
    }

    deadline.check("finishing the files")?;
    let (rungs, first_frame_seconds) =
        write_rung_chunks(muxers, &video, &hls_dir, timeline_offset, &file_stem)?;
    deadline.check("publishing")?;
    publish_files(staging.path(), &options.out_dir)?;
    progress(1.0);
    let outputs = SegmentOutputs {
        index: segment.index,
        // The first segment covers the output from time zero, the others from their first frame.
        start_seconds: match segment.start_keyframe {
            None => 0.0,
            Some(_) => first_frame_seconds.unwrap_or(window_start_seconds),
        },
        end_seconds: video.end_seconds,
        timeline_offset_seconds: timeline_offset,
        rungs,
    };
    tracing::info!(
        segment = segment.index,
        start_seconds = outputs.start_seconds,
        end_seconds = outputs.end_seconds,
        frames = video.frames_encoded,
        ms = started.elapsed().as_millis() as u64,
        "segment transcoded"
    );
    Ok(outputs)
}

/// Where a segment starts and ends in the source, found by seeking to its keyframes.
struct SegmentBounds {
    /// The packet of the segment's first keyframe, read while seeking (none for the first segment).
    first_packet: Option<Packet>,
    /// Its presentation time, in the stream's time base.
    start_pts: Option<i64>,
    /// The presentation time of the next segment's first keyframe (none for the last segment).
    end_pts: Option<i64>,
}

/// Seeks to the next segment's first keyframe, then back to this one's, leaving `context` at this
/// segment's start. Fails with `invalid-options` when the segment does not end after its keyframe
/// (a plan of another file).
fn seek_segment_bounds(
    context: &mut Input,
    file: &InputFile,
    source: &VideoSource,
    stream_index: usize,
    segment: &SegmentPlan,
) -> Result<SegmentBounds, VideoError> {
    let end_pts = match segment.end_keyframe {
        Some(timestamp) => {
            Some(keyframe_pts(&seek_to_keyframe(context, file, source, stream_index, timestamp)?, timestamp)?)
        }
        None => None,
    };
    let first_packet = match segment.start_keyframe {
        Some(timestamp) => Some(seek_to_keyframe(context, file, source, stream_index, timestamp)?),
        None => {
            if end_pts.is_some() {
                // Reading ahead moved the demuxer: open the file afresh to start from its first byte.
                *context = input::open(source, file)?;
            }
            None
        }
    };
    let start_pts = match (&first_packet, segment.start_keyframe) {
        (Some(packet), Some(timestamp)) => Some(keyframe_pts(packet, timestamp)?),
        _ => None,
    };
    if let (Some(start), Some(end)) = (start_pts, end_pts)
        && end <= start
    {
        return Err(VideoError::InvalidOptions(format!(
            "segment {} does not end after its keyframe: the plan does not belong to this file",
            segment.index
        )));
    }
    Ok(SegmentBounds { first_packet, start_pts, end_pts })
}

/// The frames a segment keeps and encodes, from the presentation times of its first keyframe and
/// of the next segment's (`None`: the video's start, or its end), in ticks of `time_base` seconds
/// with the output's zero at `offset`.
///
/// Both boundaries move forward onto the `interval`-second keyframe grid, where the serial
/// transcode has its keyframes, so the segment adds none, and both neighbours of a boundary
/// compute the same tick. The encoders start at the keyframe and see one more keyframe interval
/// past the end (libx264's look-ahead is shorter), so the frames at a boundary are coded as the
/// serial encode codes them.
pub(crate) fn keyframe_grid_window(
    start_pts: Option<i64>,
    end_pts: Option<i64>,
    offset: i64,
    time_base: f64,
    interval: f64,
) -> FrameWindow {
    let on_grid = |pts: i64| -> i64 {
        let seconds = (pts - offset) as f64 * time_base;
        let grid_point = (seconds / interval - 1e-9).ceil() * interval;
        // The first frame the serial transcode makes a keyframe for this grid point.
        ((grid_point - 1e-6) / time_base).ceil() as i64
    };
    let post_roll = (interval / time_base).round() as i64;
    let end = end_pts.map(on_grid);
    FrameWindow {
        start: start_pts.map_or(0, on_grid),
        end,
        encode_from: start_pts.map_or(0, |pts| pts - offset),
        encode_until: end.map(|end| end + post_roll),
    }
}

/// One fragmented-MP4 muxer per rung, in `hls_dir`, each rung's chunks cut at keyframes after
/// about `options.hls_segment_seconds`.
fn open_rung_muxers(
    video: &VideoPath,
    hls_dir: &std::path::Path,
    file_stem: &dyn Fn(&str) -> String,
    options: &TranscodeOptions,
    timeline_offset: f64,
) -> Result<Vec<Muxer>, VideoError> {
    video
        .plans
        .iter()
        .zip(&video.renditions)
        .enumerate()
        .map(|(index, (plan, encoder))| {
            let streams =
                MuxerStreams { video: Some((encoder.context(), encoder.time_base(), index)), audio: None };
            Muxer::fragmented_mp4(
                &hls_dir.join(format!("{}.fragmented.mp4", file_stem(&plan.label))),
                streams,
                f64::from(options.hls_segment_seconds),
                timeline_offset,
            )
        })
        .collect()
}

/// Decodes and encodes the video packets of `context`, starting with `first` (the keyframe read
/// while seeking) when there is one, until the segment's window ends or the input does;
/// `progress` gets the end of the output so far, in seconds, after each packet.
fn encode_video_packets(
    video: &mut VideoPath,
    context: &mut Input,
    mut reader: PacketReader<'_>,
    mut first: Option<Packet>,
    muxers: &mut [Muxer],
    deadline: Deadline,
    progress: &mut dyn FnMut(f64),
) -> Result<(), VideoError> {
    let mut packet = Packet::empty();
    while !video.reached_end {
        deadline.check("transcoding")?;
        if let Some(keyframe) = first.take() {
            packet = keyframe;
        } else if !reader.read(context, &mut packet)? {
            break;
        }
        if packet.stream() != video.stream_index {
            continue;
        }
        video.decode(Some(&packet), muxers, deadline)?;
        progress(video.end_seconds);
    }
    Ok(())
}

/// Splits each rung's fragmented MP4 into its HLS init file and chunks in `hls_dir`; returns the
/// rungs and when the first frame of the output is presented (without the timeline offset).
fn write_rung_chunks(
    muxers: Vec<Muxer>,
    video: &VideoPath,
    hls_dir: &std::path::Path,
    timeline_offset: f64,
    file_stem: &dyn Fn(&str) -> String,
) -> Result<(Vec<RungSegmentOutputs>, Option<f64>), VideoError> {
    let mut rungs = Vec::with_capacity(muxers.len());
    let mut first_frame_seconds = None;
    for ((muxer, plan), encoder) in muxers.into_iter().zip(&video.plans).zip(&video.renditions) {
        let times = muxer
            .chunk_times()
            .ok_or_else(|| VideoError::encode("splitting chunks", "the muxer is not fragmented"))?;
        let fragmented = muxer.finish()?;
        if let Some(first) = times.starts.first() {
            let unshifted = first - ticks(timeline_offset, times.time_base);
            first_frame_seconds.get_or_insert(unshifted as f64 * f64::from(times.time_base));
        }
        let stem = file_stem(&plan.label);
        let init_uri = format!("{stem}_init.mp4");
        let chunks =
            write_chunks(&fragmented, &times, hls_dir, &init_uri, &|n| format!("{stem}_{n:03}.m4s"))?;
        rungs.push(RungSegmentOutputs {
            label: plan.label.clone(),
            width: plan.width,
            height: plan.height,
            codecs: encoder.codec_string(),
            init_uri,
            chunks,
            frames: video.frames_encoded,
        });
    }
    Ok((rungs, first_frame_seconds))
}

/// Seeks the video stream to the index keyframe at `timestamp` and returns its packet: where a
/// segment starting at that keyframe starts decoding.
///
/// Demuxers read a seek's timestamp differently (MP4's as a presentation time, its index holds
/// decode times), so the seek aims at or before the keyframe and the packets are then read up to
/// the one whose decode or presentation timestamp is the index's: at most a group of pictures is
/// read (not decoded) in vain. Every worker does the same, so neighbours agree on the keyframe.
fn seek_to_keyframe(
    context: &mut Input,
    file: &InputFile,
    source: &VideoSource,
    stream_index: usize,
    timestamp: i64,
) -> Result<Packet, VideoError> {
    let stream = i32::try_from(stream_index)
        .map_err(|_| VideoError::InvalidOptions(format!("video stream {stream_index}")))?;
    let time_base = context
        .stream(stream_index)
        .map(|stream| f64::from(stream.time_base()))
        .filter(|time_base| *time_base > 0.0)
        .ok_or_else(|| VideoError::CorruptInput { reason: "the video stream has no time base".into() })?;
    let mut landed = None;
    // Aim at the keyframe, then further back when the demuxer lands after it.
    for back_seconds in [0.0, 2.0, 10.0, 60.0] {
        let target = timestamp.saturating_sub((back_seconds / time_base) as i64);
        // SAFETY: the context is open and owned by `context`; seeking only moves its read position.
        let sought =
            unsafe { ffi::av_seek_frame(context.as_mut_ptr(), stream, target, ffi::AVSEEK_FLAG_BACKWARD) };
        if sought < 0 {
            break;
        }
        let mut packet = Packet::empty();
        loop {
            match packet.read(context) {
                Ok(()) if packet.stream() == stream_index => {
                    if packet.is_key() && (packet.dts() == Some(timestamp) || packet.pts() == Some(timestamp))
                    {
                        return Ok(packet);
                    }
                    let earliest = [packet.dts(), packet.pts()].into_iter().flatten().min();
                    if earliest.is_some_and(|earliest| earliest > timestamp) {
                        // Past it: remember where a plain seek lands, and try from further back.
                        if landed.is_none() && back_seconds == 0.0 && packet.is_key() {
                            landed = Some(packet);
                        }
                        break;
                    }
                }
                Ok(()) | Err(ffmpeg_next::Error::InvalidData) => {}
                Err(ffmpeg_next::Error::Eof) => break,
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EIO => {
                    return Err(input::read_error(source, file.sniffed));
                }
                Err(error) => {
                    return Err(VideoError::CorruptInput { reason: format!("reading packets: {error}") });
                }
            }
        }
    }
    // No packet carries the index's timestamp: start where the demuxer lands for it (a keyframe,
    // and the same one for every worker).
    landed.ok_or_else(|| {
        VideoError::InvalidOptions(format!(
            "no video keyframe at {timestamp}: the segment plan does not belong to this file"
        ))
    })
}

/// The presentation timestamp of a keyframe packet found by [`seek_to_keyframe`].
fn keyframe_pts(packet: &Packet, timestamp: i64) -> Result<i64, VideoError> {
    packet.pts().or(packet.dts()).ok_or_else(|| VideoError::CorruptInput {
        reason: format!("the keyframe at {timestamp} has no timestamp"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MP4's usual video time base at 24 fps: 512 ticks a frame.
    const TIME_BASE: f64 = 1.0 / 12_288.0;
    const SECOND: i64 = 12_288;

    #[test]
    fn boundaries_move_forward_onto_the_keyframe_grid_and_neighbours_agree() {
        // A segment from the keyframe at 3.5 s to the next at 9 s, on a 2 s grid: it keeps the
        // frames from 4 s to 10 s, encodes from 3.5 s and runs one interval (2 s) past 10 s.
        let start = 3 * SECOND + SECOND / 2;
        let window = keyframe_grid_window(Some(start), Some(9 * SECOND), 0, TIME_BASE, 2.0);
        assert_eq!((window.start, window.end), (4 * SECOND, Some(10 * SECOND)));
        assert_eq!((window.encode_from, window.encode_until), (start, Some(12 * SECOND)));
        // The next segment starts where this one ends, to the tick.
        let next = keyframe_grid_window(Some(9 * SECOND), None, 0, TIME_BASE, 2.0);
        assert_eq!((next.start, next.end, next.encode_until), (10 * SECOND, None, None));
    }

    #[test]
    fn a_keyframe_on_the_grid_stays_and_the_stream_offset_is_the_outputs_zero() {
        let offset = 1_024;
        let on_grid = keyframe_grid_window(Some(offset + 6 * SECOND), None, offset, TIME_BASE, 2.0);
        assert_eq!((on_grid.start, on_grid.encode_from), (6 * SECOND, 6 * SECOND));
        // A keyframe a tick past a grid point starts at the next one, where the serial encode put
        // its keyframe.
        let just_past = keyframe_grid_window(Some(6 * SECOND + 1), None, 0, TIME_BASE, 2.0);
        assert_eq!(just_past.start, 8 * SECOND);
        let first = keyframe_grid_window(None, Some(5 * SECOND), 0, TIME_BASE, 2.0);
        assert_eq!((first.start, first.encode_from, first.end), (0, 0, Some(6 * SECOND)));
    }
}

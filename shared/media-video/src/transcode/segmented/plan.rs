//! Planning segments from the keyframes of a container's index, without decoding.

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;

use crate::input;
use crate::source::VideoSource;
use crate::transcode::segmented::SegmentPlan;
use crate::transcode::{declared_duration, start_seconds};
use crate::{Probe, VideoError};

/// Cuts the output timeline of `source` (a path or a [`VideoSource`], described by `probe`) into segments of about
/// `target_seconds`, each starting at a keyframe of the video stream's container index (MP4 and
/// MOV sample tables, Matroska cues, AVI indexes). A segment is never shorter than half the target
/// (a short tail joins the segment before it). Without an index or keyframes in it (MPEG-TS, some
/// WebM files), the whole video is one segment.
///
/// Times are in seconds on the output timeline (the source's start offset removed, as in the
/// serial transcode's outputs). [`transcode_segment`](super::transcode_segment) moves each
/// boundary forward onto the keyframe grid (up to `keyframe_interval_seconds`), so give a target
/// of at least twice that interval (4 s by default) or a segment may come out empty, and expect
/// the last segment to be shorter than half the target.
///
/// Errors: `invalid-options` (a target that is not a positive number of seconds, or a probe of
/// another file), `no-video-stream`, and the errors of opening the input.
pub fn plan_segments(
    source: impl Into<VideoSource>,
    probe: &Probe,
    target_seconds: f64,
) -> Result<Vec<SegmentPlan>, VideoError> {
    let source = source.into();
    source.failed_reads_are_io_errors(|source| plan_source_segments(source, probe, target_seconds))
}

fn plan_source_segments(
    source: &VideoSource,
    probe: &Probe,
    target_seconds: f64,
) -> Result<Vec<SegmentPlan>, VideoError> {
    crate::init();
    if !(target_seconds.is_finite() && target_seconds >= 0.5) {
        return Err(VideoError::InvalidOptions(format!(
            "a segment target of {target_seconds} s: give at least 0.5 s"
        )));
    }
    let video = probe.main_video().ok_or(VideoError::NoVideoStream)?;
    let file = input::inspect(source)?;
    input::check_probe_matches(&file, probe)?;
    let context = input::open(source, &file)?;
    let offset_seconds = start_seconds(&context, probe);
    let end_seconds = declared_duration(probe).unwrap_or(0.0);
    let keyframes = index_keyframes(&context, video.index as usize)?;
    let seconds: Vec<f64> = keyframes.iter().map(|keyframe| keyframe.seconds - offset_seconds).collect();
    let starts = choose_segment_starts(&seconds, end_seconds, target_seconds);
    let mut plans = Vec::with_capacity(starts.len() + 1);
    let mut previous: Option<usize> = None;
    for (index, next) in starts.iter().copied().map(Some).chain([None]).enumerate() {
        plans.push(SegmentPlan {
            index: index as u32,
            start_seconds: previous.map_or(0.0, |at| seconds[at]),
            end_seconds: next.map_or(end_seconds, |at| seconds[at]),
            start_keyframe: previous.map(|at| keyframes[at].timestamp),
            end_keyframe: next.map(|at| keyframes[at].timestamp),
        });
        previous = next;
    }
    if let Some(last) = plans.last_mut() {
        last.end_seconds = last.end_seconds.max(last.start_seconds);
    }
    tracing::debug!(segments = plans.len(), keyframes = keyframes.len(), "segments planned");
    Ok(plans)
}

/// A keyframe of a container index.
#[derive(Debug, Clone, Copy)]
struct IndexKeyframe {
    /// The index's timestamp, in the stream's time base.
    timestamp: i64,
    /// The same in seconds, on the source's timeline.
    seconds: f64,
}

/// The keyframes of stream `stream_index`'s index, in timestamp order, without repeats.
fn index_keyframes(context: &Input, stream_index: usize) -> Result<Vec<IndexKeyframe>, VideoError> {
    let stream = context.stream(stream_index).ok_or_else(|| {
        VideoError::InvalidOptions(format!("the probe's video stream {stream_index} is not in the file"))
    })?;
    let time_base = f64::from(stream.time_base());
    if !(time_base.is_finite() && time_base > 0.0) {
        return Ok(Vec::new());
    }
    // SAFETY: `raw` is a stream of the open context `context` borrows; the index functions only
    // read its index, and each entry pointer is used before the next call that could change it.
    let mut keyframes: Vec<IndexKeyframe> = unsafe {
        let raw = stream.as_ptr() as *mut ffi::AVStream;
        let count = ffi::avformat_index_get_entries_count(raw).max(0);
        (0..count)
            .filter_map(|entry| {
                let entry = ffi::avformat_index_get_entry(raw, entry);
                if entry.is_null() {
                    return None;
                }
                let entry = &*entry;
                let keyframe = entry.flags() & ffi::AVINDEX_KEYFRAME != 0;
                let timestamp = entry.timestamp;
                (keyframe && timestamp != ffi::AV_NOPTS_VALUE)
                    .then_some(IndexKeyframe { timestamp, seconds: timestamp as f64 * time_base })
            })
            .collect()
    };
    keyframes.sort_by_key(|keyframe| keyframe.timestamp);
    keyframes.dedup_by_key(|keyframe| keyframe.timestamp);
    Ok(keyframes)
}

/// Which of `keyframes` (seconds, ascending) start a segment after the first (which starts at 0),
/// for segments of about `target` seconds on a timeline ending at `end`: from each segment's start,
/// the keyframe nearest `start + target` among those at least `target / 2` later. A last segment
/// shorter than `target / 2` joins the one before.
pub(super) fn choose_segment_starts(keyframes: &[f64], end: f64, target: f64) -> Vec<usize> {
    let minimum = target / 2.0;
    let mut starts = Vec::new();
    let mut segment_start = 0.0f64;
    // The latest keyframe at least `minimum` but less than `target` after the segment's start.
    let mut candidate: Option<usize> = None;
    let mut index = 0;
    while let Some(&seconds) = keyframes.get(index) {
        if !seconds.is_finite() || seconds - segment_start < minimum {
            index += 1;
            continue;
        }
        if seconds - segment_start < target {
            candidate = Some(index);
            index += 1;
            continue;
        }
        // The first keyframe at or past the target: it or the one before, whichever is nearer.
        let ideal = segment_start + target;
        let chosen = match candidate {
            Some(before) if ideal - keyframes[before] < seconds - ideal => before,
            _ => index,
        };
        starts.push(chosen);
        segment_start = keyframes[chosen];
        candidate = None;
        // With the earlier keyframe chosen, this one is looked at again from the new start.
        if chosen == index {
            index += 1;
        }
    }
    if let Some(&last) = starts.last()
        && end - keyframes[last] < minimum
    {
        starts.pop();
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundaries(keyframes: &[f64], end: f64, target: f64) -> Vec<f64> {
        choose_segment_starts(keyframes, end, target).into_iter().map(|index| keyframes[index]).collect()
    }

    #[test]
    fn regular_keyframes_give_segments_of_the_target() {
        let keyframes: Vec<f64> = (0..16).map(|n| f64::from(n) * 2.0).collect();
        assert_eq!(boundaries(&keyframes, 31.0, 6.0), [6.0, 12.0, 18.0, 24.0]);
        // 1.92 s keyframes: the nearest to each target wins.
        let keyframes: Vec<f64> = (0..17).map(|n| f64::from(n) * 1.92).collect();
        let chosen = boundaries(&keyframes, 31.84, 5.0);
        assert_eq!(chosen.len(), 5, "{chosen:?}");
        let mut previous = 0.0;
        for start in chosen.iter().chain([&31.84]) {
            assert!(start - previous >= 2.5, "{chosen:?}");
            previous = *start;
        }
    }

    #[test]
    fn sparse_keyframes_make_long_segments_and_a_short_tail_joins_the_one_before() {
        assert_eq!(boundaries(&[0.0, 10.0, 20.0, 29.0], 30.0, 4.0), [10.0, 20.0]);
        assert_eq!(boundaries(&[0.0, 10.0], 30.0, 4.0), [10.0]);
    }

    #[test]
    fn no_keyframes_or_a_short_video_is_one_segment() {
        assert!(choose_segment_starts(&[], 30.0, 4.0).is_empty());
        assert!(choose_segment_starts(&[0.0], 30.0, 4.0).is_empty());
        assert!(choose_segment_starts(&[0.0, 1.0, 2.0], 3.0, 4.0).is_empty());
        assert!(choose_segment_starts(&[0.0, 2.0, f64::NAN], 3.0, 4.0).is_empty());
    }
}

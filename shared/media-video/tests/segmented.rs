//! Segment-parallel transcoding against the serial transcode of the same source, checked with the
//! ffmpeg and ffprobe command-line tools (decodes, durations, keyframes, PSNR against the source).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use common::*;
use media_core::ErrorCode;
use media_video::{
    Probe, Rung, SegmentOutputs, SegmentPlan, TranscodeOptions, TranscodeOutputs, VideoLimits, join_segments,
    plan_segments, probe, transcode, transcode_audio_track, transcode_segment,
};

/// A ~32 s source with keyframes every 48 frames (1.92 s at 25 fps, off the outputs' 2 s grid):
/// Big Buck Bunny looped six times, at 640x360 to keep the test quick. The clip itself has a
/// single keyframe, too few to cut segments at.
fn long_source() -> &'static Path {
    static SOURCE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &SOURCE
        .get_or_init(|| {
            let dir = temp_dir();
            let path = dir.path().join("long.mp4");
            let output = Command::new("ffmpeg")
                .args(["-hide_banner", "-v", "error", "-stream_loop", "5", "-i"])
                .arg(clip("bigbuckbunny.mp4"))
                .args(["-vf", "scale=640:360", "-c:v", "libx264", "-preset", "veryfast", "-g", "48"])
                .args(["-keyint_min", "48", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k"])
                .arg(&path)
                .output()
                .expect("ffmpeg is installed");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            (dir, path)
        })
        .1
}

fn options(out: &Path, work: &Path) -> TranscodeOptions {
    let mut options = TranscodeOptions::new(out, work);
    options.ladder = vec![Rung::new(360, 1_500_000), Rung::new(240, 700_000)];
    options
}

/// Presentation times of the source's keyframes.
fn keyframe_times(path: &Path) -> Vec<f64> {
    video_packet_times(path).into_iter().filter(|(_, key)| *key).map(|(time, _)| time).collect()
}

/// PSNR (mean over frames, and per frame) of the video of `output` against `source`, both scaled
/// to `width`x`height`.
fn psnr(output: &Path, source: &Path, width: u32, height: u32, stats: &Path) -> (f64, Vec<f64>) {
    let filter = format!(
        "[0:v]scale={width}:{height}:flags=bicubic[a];[1:v]scale={width}:{height}:flags=bicubic[b];\
         [a][b]psnr=stats_file={}",
        stats.display()
    );
    let result = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(output)
        .arg("-i")
        .arg(source)
        .args(["-lavfi", &filter, "-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    let log = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{log}");
    let average = log
        .lines()
        .filter_map(|line| line.split("average:").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .next_back()
        .expect("a PSNR average");
    let per_frame = std::fs::read_to_string(stats)
        .expect("stats")
        .lines()
        .filter_map(|line| line.split("psnr_avg:").nth(1)?.split_whitespace().next()?.parse::<f64>().ok())
        .map(|value| value.min(100.0))
        .collect();
    (average, per_frame)
}

fn stream_duration(path: &Path, kind: &str) -> f64 {
    let probe = ffprobe(path, &[]);
    number(&streams(&probe, kind).first().unwrap_or_else(|| panic!("a {kind} stream"))["duration"])
}

fn packet_count(path: &Path) -> usize {
    video_packet_times(path).len()
}

/// Everything a segmented transcode made, with timings.
struct Segmented {
    plans: Vec<SegmentPlan>,
    segments: Vec<SegmentOutputs>,
    outputs: TranscodeOutputs,
    parts: tempfile::TempDir,
    out: tempfile::TempDir,
    work: tempfile::TempDir,
}

/// Plans, transcodes every segment in turn, the audio, and joins them. `in_place`: the join writes
/// into the folder holding the parts (no copies), else into another one.
fn transcode_in_segments(source: &Path, probe: &Probe, target_seconds: f64, in_place: bool) -> Segmented {
    let (parts, out, work) = (temp_dir(), temp_dir(), temp_dir());
    let part_options = options(parts.path(), work.path());
    let plans = plan_segments(source, probe, target_seconds).expect("plans");
    let mut segments = Vec::new();
    for plan in &plans {
        let started = Instant::now();
        let segment = transcode_segment(source, probe, &part_options, plan, &mut |_| {}).expect("segment");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "segment {} [{:.2}, {:.2}) s: {:.2} s for {} rungs ({:.2} s per rung, {:.2} s of video)",
            plan.index,
            segment.start_seconds,
            segment.end_seconds,
            seconds,
            segment.rungs.len(),
            seconds / segment.rungs.len() as f64,
            segment.end_seconds - segment.start_seconds
        );
        // The pipeline stores these as JSON between workers.
        let json = serde_json::to_string(&segment).expect("serialises");
        let segment: SegmentOutputs = serde_json::from_str(&json).expect("deserialises");
        segments.push(segment);
    }
    let started = Instant::now();
    let audio = transcode_audio_track(source, probe, &part_options, &mut |_| {}).expect("audio track");
    println!("audio track: {:.2} s", started.elapsed().as_secs_f64());
    let audio: media_video::AudioTrackOutputs =
        serde_json::from_str(&serde_json::to_string(&audio).expect("serialises")).expect("deserialises");
    let join_dir = if in_place { parts.path() } else { out.path() };
    let started = Instant::now();
    let outputs =
        join_segments(parts.path(), probe, &segments, Some(&audio), &options(join_dir, work.path()))
            .expect("joins");
    println!("join: {:.2} s", started.elapsed().as_secs_f64());
    Segmented { plans, segments, outputs, parts, out, work }
}

#[test]
fn segments_joined_match_the_serial_transcode() {
    let source = long_source();
    let source_duration = duration(source);
    let probe = probe(source, &VideoLimits::default()).expect("probe");
    let keyframes = keyframe_times(source);
    assert!(keyframes.len() >= 10, "the source has keyframes every 1.92 s: {keyframes:?}");

    let (serial_out, serial_work) = (temp_dir(), temp_dir());
    let started = Instant::now();
    let serial = transcode(source, &probe, &options(serial_out.path(), serial_work.path()), &mut |_| {})
        .expect("serial transcode");
    println!("serial transcode: {:.2} s", started.elapsed().as_secs_f64());

    let segmented = transcode_in_segments(source, &probe, 5.0, false);
    let Segmented { plans, segments, outputs, .. } = &segmented;
    assert!(plans.len() >= 4, "{plans:?}");

    // Segments meet without gaps, each starting at the first grid point (2 s) after its planned
    // keyframe.
    for ((segment, next), plan) in segments.iter().zip(segments.iter().skip(1)).zip(&plans[1..]) {
        assert_eq!(segment.end_seconds, next.start_seconds);
        let grid_point = (plan.start_seconds / 2.0).ceil() * 2.0;
        assert!(
            (next.start_seconds - grid_point).abs() < 0.041,
            "segment {} starts at {} s, planned at {} s",
            next.index,
            next.start_seconds,
            plan.start_seconds
        );
    }

    // Same renditions, same total frames, sizes within 5 %, quality within 0.3 dB.
    let labels = |outputs: &TranscodeOutputs| -> Vec<(String, u32, u32)> {
        outputs.renditions.iter().map(|r| (r.label.clone(), r.width, r.height)).collect()
    };
    assert_eq!(labels(outputs), labels(&serial));
    let stats_dir = temp_dir();
    for (index, (joined, single)) in outputs.renditions.iter().zip(&serial.renditions).enumerate() {
        let frames: u64 = segments.iter().map(|segment| segment.rungs[index].frames).sum();
        assert_eq!(frames as usize, packet_count(&single.path), "frames of {}", joined.label);
        assert_eq!(packet_count(&joined.path), packet_count(&single.path), "frames of {}", joined.label);
        let ratio = joined.bit_rate as f64 / single.bit_rate as f64;
        let (joined_psnr, joined_frames) =
            psnr(&joined.path, source, joined.width, joined.height, &stats_dir.path().join("joined.log"));
        let (serial_psnr, serial_frames) =
            psnr(&single.path, source, single.width, single.height, &stats_dir.path().join("serial.log"));
        println!(
            "{}: bit rate {} vs serial {} (ratio {ratio:.4}); PSNR {joined_psnr:.3} dB vs serial {serial_psnr:.3} dB \
             (delta {:+.3})",
            joined.label,
            joined.bit_rate,
            single.bit_rate,
            joined_psnr - serial_psnr
        );
        assert!((ratio - 1.0).abs() <= 0.05, "bit rate ratio {ratio}");
        assert!(joined_psnr >= serial_psnr - 0.3, "PSNR {joined_psnr} vs serial {serial_psnr}");
        assert_eq!(joined_frames.len(), serial_frames.len());

        // No seams: the frames around each boundary are as good as the clip's average, and within
        // 0.5 dB of the serial transcode's same frames (without the encoders' pre- and post-roll
        // they were 1.5 dB worse).
        let mean = joined_frames.iter().sum::<f64>() / joined_frames.len() as f64;
        for segment in &segments[1..] {
            let boundary = (segment.start_seconds * 25.0).round() as usize;
            let around = boundary.saturating_sub(2)..(boundary + 3).min(joined_frames.len());
            let near: Vec<f64> = joined_frames[around.clone()].to_vec();
            let near_mean = near.iter().sum::<f64>() / near.len() as f64;
            let serial_near = serial_frames[around].iter().sum::<f64>() / near.len() as f64;
            println!(
                "  boundary at {:.2} s: PSNR {near_mean:.2} dB around it (serial {serial_near:.2}), clip mean {mean:.2}",
                segment.start_seconds
            );
            assert!(near_mean >= mean - 1.0, "seam at {} s: {near:?} vs mean {mean}", segment.start_seconds);
            assert!(
                near_mean >= serial_near - 0.5,
                "seam at {} s: {near:?} vs serial",
                segment.start_seconds
            );
        }

        // Durations: audio and video together, and as long as the source.
        let (video, audio) = (stream_duration(&joined.path, "video"), stream_duration(&joined.path, "audio"));
        println!(
            "  durations: video {video} s, audio {audio} s (serial: video {} s, audio {} s)",
            stream_duration(&single.path, "video"),
            stream_duration(&single.path, "audio")
        );
        assert!((video - audio).abs() < 0.05, "{}: video {video} s, audio {audio} s", joined.label);
        assert!((duration(&joined.path) - source_duration).abs() < 0.1, "{}", duration(&joined.path));
        assert_decodes_cleanly(&joined.path);

        // Frames are evenly spaced across the joins (no gap, no overlap, no jump).
        let times: Vec<f64> = video_packet_times(&joined.path).into_iter().map(|(time, _)| time).collect();
        for pair in times.windows(2) {
            assert!((pair[1] - pair[0] - 0.04).abs() < 0.002, "frame spacing {pair:?} in {}", joined.label);
        }
    }
    assert!((outputs.duration_seconds - serial.duration_seconds).abs() < 0.05);

    // Keyframes: the same in every rendition, on the 2 s grid and at each segment start.
    let rendition_keyframes: Vec<Vec<f64>> =
        outputs.renditions.iter().map(|rendition| keyframe_times(&rendition.path)).collect();
    assert!(rendition_keyframes.windows(2).all(|pair| pair[0] == pair[1]), "{rendition_keyframes:?}");
    let expected_keyframes: Vec<f64> = {
        let mut times: Vec<f64> = (0..=(source_duration / 2.0) as usize).map(|n| n as f64 * 2.0).collect();
        times.extend(segments.iter().map(|segment| segment.start_seconds));
        times.retain(|time| *time < source_duration - 0.04);
        times.sort_by(f64::total_cmp);
        times.dedup_by(|a, b| (*a - *b).abs() < 0.02);
        times
    };
    let actual = &rendition_keyframes[0];
    assert_eq!(actual.len(), expected_keyframes.len(), "{actual:?} vs {expected_keyframes:?}");
    for (actual, expected) in actual.iter().zip(&expected_keyframes) {
        assert!((actual - expected).abs() < 0.021, "keyframe at {actual} s, expected {expected} s");
    }

    // HLS: the master lists every variant with the audio rendition; everything decodes.
    let master = outputs.hls_master.as_ref().expect("master playlist");
    let text = std::fs::read_to_string(master).expect("master");
    println!("{text}");
    assert!(text.contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\""), "{text}");
    assert_eq!(text.matches("AUDIO=\"audio\"").count(), outputs.renditions.len(), "{text}");
    assert_eq!(text.matches("mp4a.40.2").count(), outputs.renditions.len(), "{text}");
    for rendition in &outputs.renditions {
        let playlist =
            std::fs::read_to_string(rendition.hls_playlist.as_ref().expect("playlist")).expect("read");
        assert_eq!(playlist.matches("#EXT-X-MAP").count(), 1, "one init segment: {playlist}");
        assert!(playlist.ends_with("#EXT-X-ENDLIST\n"));
        let total: f64 = playlist
            .lines()
            .filter_map(|line| line.strip_prefix("#EXTINF:")?.trim_end_matches(',').parse::<f64>().ok())
            .sum();
        assert!((total - (source_duration - 0.032)).abs() < 0.1, "{total} s in {}", rendition.label);
    }
    assert_decodes_cleanly(master);
    for variant in ["360p", "240p", "audio"] {
        let playlist = segmented.out.path().join(format!("hls/{variant}.m3u8"));
        assert!((duration(&playlist) - source_duration).abs() < 0.15, "{variant}: {}", duration(&playlist));
    }

    // The join is deterministic: a second one writes the same bytes.
    let again = temp_dir();
    let part_options = options(segmented.parts.path(), segmented.work.path());
    let audio = transcode_audio_track(source, &probe, &part_options, &mut |_| {}).expect("audio again");
    let second = join_segments(
        segmented.parts.path(),
        &probe,
        segments,
        Some(&audio),
        &options(again.path(), segmented.work.path()),
    )
    .expect("joins again");
    for (first, second) in outputs.renditions.iter().zip(&second.renditions) {
        assert!(std::fs::read(&first.path).expect("read") == std::fs::read(&second.path).expect("read"));
    }
    assert_eq!(
        std::fs::read_to_string(master).expect("read"),
        std::fs::read_to_string(second.hls_master.as_ref().expect("master")).expect("read")
    );
}

#[test]
fn segments_are_planned_at_index_keyframes() {
    let source = long_source();
    let probe = probe(source, &VideoLimits::default()).expect("probe");
    let keyframes = keyframe_times(source);
    let plans = plan_segments(source, &probe, 5.0).expect("plans");
    assert!(plans.len() >= 4, "{plans:?}");
    assert_eq!(plans[0].start_seconds, 0.0);
    assert_eq!(plans[0].start_keyframe, None);
    assert_eq!(plans.last().expect("last").end_keyframe, None);
    let total = duration(source);
    assert!((plans.last().expect("last").end_seconds - total).abs() < 0.1);
    for (index, plan) in plans.iter().enumerate() {
        assert_eq!(plan.index as usize, index);
        let length = plan.end_seconds - plan.start_seconds;
        assert!(length >= 2.5, "segment {index} lasts {length} s");
        assert!(length <= 7.5 || index + 1 == plans.len(), "segment {index} lasts {length} s");
        if index > 0 {
            assert_eq!(plan.start_seconds, plans[index - 1].end_seconds);
            assert_eq!(Some(plan.start_keyframe), plans.get(index - 1).map(|previous| previous.end_keyframe));
            // The index holds decode times; keyframes are presented up to two frames later.
            assert!(
                keyframes.iter().any(|keyframe| (keyframe - plan.start_seconds).abs() < 0.1),
                "segment {index} starts at {} s",
                plan.start_seconds
            );
        }
    }
    let json = serde_json::to_string(&plans).expect("serialises");
    assert_eq!(serde_json::from_str::<Vec<SegmentPlan>>(&json).expect("deserialises"), plans);

    // Bigger targets make fewer segments.
    assert!(plan_segments(source, &probe, 10.0).expect("plans").len() < plans.len());
}

#[test]
fn a_clip_with_one_keyframe_or_no_index_is_one_segment() {
    for name in ["bigbuckbunny.mp4", "sample.ts"] {
        let path = clip(name);
        let probe = probe(&path, &VideoLimits::default()).expect("probe");
        let plans = plan_segments(&path, &probe, 2.0).expect("plans");
        assert_eq!(plans.len(), 1, "{name}: {plans:?}");
        assert_eq!((plans[0].start_keyframe, plans[0].end_keyframe), (None, None));
        assert_eq!(plans[0].start_seconds, 0.0);
        assert!(plans[0].end_seconds > 1.0);
    }
}

#[test]
fn a_single_segment_clip_joins_into_a_playable_transcode() {
    let path = clip("bigbuckbunny.mp4");
    let probe = probe(&path, &VideoLimits::default()).expect("probe");
    let segmented = transcode_in_segments(&path, &probe, 4.0, true);
    assert_eq!(segmented.segments.len(), 1);
    let outputs = &segmented.outputs;
    assert_eq!(outputs.renditions.len(), 2);
    assert!(outputs.hls_master.as_ref().is_some_and(|master| master.starts_with(segmented.parts.path())));
    for rendition in &outputs.renditions {
        assert_decodes_cleanly(&rendition.path);
        assert!((duration(&rendition.path) - duration(&path)).abs() < 0.1);
    }
    assert_decodes_cleanly(outputs.hls_master.as_ref().expect("master"));
}

#[test]
fn bad_requests_are_typed_errors() {
    let (out, work) = (temp_dir(), temp_dir());
    let path = clip("bigbuckbunny.mp4");
    let probe = probe(&path, &VideoLimits::default()).expect("probe");
    let code = |error: media_video::VideoError| error.code();
    assert_eq!(plan_segments(&path, &probe, 0.0).map_err(code), Err(ErrorCode::INVALID_OPTIONS));
    assert_eq!(plan_segments(&path, &probe, f64::NAN).map_err(code), Err(ErrorCode::INVALID_OPTIONS));

    let options = options(out.path(), work.path());
    assert_eq!(
        join_segments(out.path(), &probe, &[], None, &options).map_err(code).map(|_| ()),
        Err(ErrorCode::INVALID_OPTIONS)
    );
    let plan = plan_segments(&path, &probe, 4.0).expect("plans").remove(0);
    let mut segment = transcode_segment(&path, &probe, &options, &plan, &mut |_| {}).expect("segment");
    segment.index = 1;
    assert_eq!(
        join_segments(out.path(), &probe, &[segment], None, &options).map_err(code).map(|_| ()),
        Err(ErrorCode::INVALID_OPTIONS)
    );
    // A segment that ends before it starts (or is empty on the keyframe grid) is refused.
    let long = long_source();
    let long_probe = media_video::probe(long, &VideoLimits::default()).expect("probe");
    let plans = plan_segments(long, &long_probe, 5.0).expect("plans");
    let backwards = SegmentPlan {
        start_keyframe: plans[2].start_keyframe,
        end_keyframe: plans[1].start_keyframe,
        ..plans[1].clone()
    };
    assert_eq!(
        transcode_segment(long, &long_probe, &options, &backwards, &mut |_| {}).map_err(code).map(|_| ()),
        Err(ErrorCode::INVALID_OPTIONS)
    );

    let silent = clip("no-audio.webm");
    let silent_probe = media_video::probe(&silent, &VideoLimits::default()).expect("probe");
    assert_eq!(
        transcode_audio_track(&silent, &silent_probe, &options, &mut |_| {}).map_err(code).map(|_| ()),
        Err(ErrorCode::INVALID_OPTIONS)
    );
}

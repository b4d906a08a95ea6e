//! Transcoding real and generated clips, checked with ffprobe and a full decode by the ffmpeg CLI.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use media_core::ErrorCode;
use media_video::{
    HlsSegmentFormat, Rung, TranscodeOptions, TranscodeOutputs, VideoError, VideoLimits, probe, transcode,
};

/// Transcodes `name` into a fresh output folder with `configure` applied to the default options.
fn transcode_clip(
    name: &str,
    configure: impl FnOnce(&mut TranscodeOptions),
) -> (tempfile::TempDir, tempfile::TempDir, Result<TranscodeOutputs, VideoError>) {
    let (out, work) = (temp_dir(), temp_dir());
    let path = clip(name);
    let probe = probe(&path, &VideoLimits::default()).expect("probe");
    let mut options = TranscodeOptions::new(out.path(), work.path());
    configure(&mut options);
    let result = transcode(&path, &probe, &options, &mut |_| {});
    (out, work, result)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        walk(dir).iter().map(|path| path.strip_prefix(dir).expect("inside").display().to_string()).collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

/// Checks a media playlist: it parses, ends, and every segment (and init segment) exists. Returns
/// the segment durations.
fn check_variant_playlist(path: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(path).expect("variant playlist");
    assert!(text.starts_with("#EXTM3U\n") && text.contains("#EXT-X-ENDLIST"), "{text}");
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD"), "{text}");
    let dir = path.parent().expect("dir");
    let mut durations = Vec::new();
    for line in text.lines() {
        if let Some(duration) = line.strip_prefix("#EXTINF:") {
            durations.push(duration.trim_end_matches(',').parse::<f64>().expect("duration"));
        } else if let Some(map) = line.strip_prefix("#EXT-X-MAP:URI=\"") {
            assert!(dir.join(map.trim_end_matches('"')).is_file(), "init segment {map}");
        } else if !line.starts_with('#') && !line.is_empty() {
            assert!(dir.join(line).is_file(), "segment {line} of {}", path.display());
        }
    }
    assert!(!durations.is_empty());
    durations
}

#[test]
fn big_buck_bunny_becomes_a_capped_ladder_with_hls() {
    let source = clip("bigbuckbunny.mp4");
    let source_duration = duration(&source);
    let mut fractions = Vec::new();
    let (out, work) = (temp_dir(), temp_dir());
    let probe = probe(&source, &VideoLimits::default()).expect("probe");
    let options = TranscodeOptions::new(out.path(), work.path());
    let outputs =
        transcode(&source, &probe, &options, &mut |fraction| fractions.push(fraction)).expect("transcodes");

    // 720p source: the 1080p rung is capped into 720p, never upscaled.
    let sizes: Vec<(&str, u32, u32)> =
        outputs.renditions.iter().map(|r| (r.label.as_str(), r.width, r.height)).collect();
    assert_eq!(sizes, [("720p", 1280, 720), ("480p", 854, 480)]);
    assert!((outputs.duration_seconds - source_duration).abs() < 0.1, "{}", outputs.duration_seconds);
    for rendition in &outputs.renditions {
        assert_eq!(rendition.path, out.path().join(format!("{}.mp4", rendition.label)));
        assert_eq!(rendition.bytes, std::fs::metadata(&rendition.path).expect("exists").len());
        assert!(
            rendition.codecs.starts_with("avc1.64") && rendition.codecs.ends_with(",mp4a.40.2"),
            "{}",
            rendition.codecs
        );
        let probe = ffprobe(&rendition.path, &[]);
        assert!((number(&probe["format"]["duration"]) - source_duration).abs() < 0.1);
        let video = &streams(&probe, "video")[0];
        assert_eq!((video["codec_name"].as_str(), video["profile"].as_str()), (Some("h264"), Some("High")));
        assert_eq!(
            (video["width"].as_u64(), video["height"].as_u64()),
            (Some(rendition.width.into()), Some(rendition.height.into()))
        );
        assert_eq!(video["pix_fmt"], "yuv420p");
        let audio = &streams(&probe, "audio")[0];
        assert_eq!((audio["codec_name"].as_str(), audio["channels"].as_u64()), (Some("aac"), Some(2)));
        // Faststart: the index comes before the media data.
        let boxes = top_level_boxes(&rendition.path);
        let position = |name: &str| boxes.iter().position(|b| b == name).expect(name);
        assert!(position("moov") < position("mdat"), "{boxes:?}");
        // Keyframes exactly every 2 s, so renditions can be segmented together.
        let keyframes: Vec<f64> =
            video_packet_times(&rendition.path).into_iter().filter(|(_, key)| *key).map(|(t, _)| t).collect();
        assert_eq!(keyframes, [0.0, 2.0, 4.0], "{}", rendition.label);
        assert_decodes_cleanly(&rendition.path);
    }

    // HLS: a master listing both variants with BANDWIDTH, RESOLUTION and CODECS; segments aligned.
    let master_path = outputs.hls_master.as_ref().expect("master playlist");
    assert_eq!(master_path, &out.path().join("hls/master.m3u8"));
    let master = std::fs::read_to_string(master_path).expect("master");
    assert!(master.starts_with("#EXTM3U\n"));
    let mut variant_durations = Vec::new();
    for rendition in &outputs.renditions {
        let line = master
            .lines()
            .find(|line| line.contains(&format!("RESOLUTION={}x{}", rendition.width, rendition.height)))
            .expect("listed");
        assert!(line.starts_with("#EXT-X-STREAM-INF:BANDWIDTH="), "{line}");
        assert!(line.contains(&format!("CODECS=\"{}\"", rendition.codecs)), "{line}");
        let bandwidth: u64 = line["#EXT-X-STREAM-INF:BANDWIDTH=".len()..]
            .split(',')
            .next()
            .expect("value")
            .parse()
            .expect("number");
        assert!(
            bandwidth >= rendition.bit_rate / 2 && bandwidth < rendition.bit_rate * 4,
            "{bandwidth} vs {}",
            rendition.bit_rate
        );
        assert!(master.contains(&format!("\n{}.m3u8\n", rendition.label)));
        let playlist = rendition.hls_playlist.as_ref().expect("variant");
        variant_durations.push(check_variant_playlist(playlist));
    }
    assert_eq!(variant_durations[0], variant_durations[1], "segments line up across renditions");
    assert_eq!(variant_durations[0], [4.0, 1.28]);
    assert_decodes_cleanly(master_path);

    // Progress rises to 1; nothing is left in the work folder.
    assert!(
        fractions.windows(2).all(|pair| pair[0] <= pair[1]) && fractions.last() == Some(&1.0),
        "{fractions:?}"
    );
    assert!(files_in(work.path()).is_empty(), "{:?}", files_in(work.path()));
    assert_eq!(
        files_in(out.path()).iter().filter(|name| name.ends_with(".mp4") && !name.starts_with("hls")).count(),
        2
    );
}

#[test]
fn rotated_phone_video_comes_out_upright_without_metadata() {
    let (out, _work, result) = transcode_clip("rotated-portrait.mov", |options| options.hls = false);
    let outputs = result.expect("transcodes");
    assert_eq!(outputs.renditions.len(), 1);
    let rendition = &outputs.renditions[0];
    assert_eq!((rendition.label.as_str(), rendition.width, rendition.height), ("240p", 240, 320));
    assert!(outputs.hls_master.is_none() && !out.path().join("hls").exists());
    let probe = ffprobe(&rendition.path, &[]);
    let video = &streams(&probe, "video")[0];
    // The pixels are turned, not flagged: no display matrix that a player could ignore.
    assert!(video.get("side_data_list").is_none(), "{video}");
    // Source tags (capture place and time) are not copied into derivatives.
    let tags = probe["format"]["tags"].to_string();
    assert!(!tags.contains("location") && !tags.contains("2024-05-01"), "{tags}");
    let (width, height, pixels) = first_frame_rgb(&rendition.path);
    assert_eq!((width, height), (240, 320));
    assert!(is_red(pixel(&pixels, width, 3, width - 10, 10)), "top right is not red");
    assert!(is_blue(pixel(&pixels, width, 3, 10, 10)) && is_blue(pixel(&pixels, width, 3, 10, height - 10)));
    // The same as the ffmpeg CLI shows the source (it applies the display matrix).
    let (_, _, reference) = first_frame_rgb(&clip("rotated-portrait.mov"));
    assert!(is_red(pixel(&reference, width, 3, width - 10, 10)));
    assert_decodes_cleanly(&rendition.path);
}

#[test]
fn audio_only_inputs_become_an_m4a() {
    let (out, _work, result) = transcode_clip("audio-only.m4a", |_| {});
    let outputs = result.expect("transcodes");
    assert!(outputs.renditions.is_empty() && outputs.hls_master.is_none());
    let audio = outputs.audio_only.expect("audio.m4a");
    assert_eq!(audio.path, out.path().join("audio.m4a"));
    let probe = ffprobe(&audio.path, &[]);
    assert!(streams(&probe, "video").is_empty(), "cover art is not carried over");
    let stream = &streams(&probe, "audio")[0];
    assert_eq!((stream["codec_name"].as_str(), stream["profile"].as_str()), (Some("aac"), Some("LC")));
    assert_eq!((stream["sample_rate"].as_str(), stream["channels"].as_u64()), (Some("44100"), Some(1)));
    assert!((number(&probe["format"]["duration"]) - 3.0).abs() < 0.1);
    assert!(
        top_level_boxes(&audio.path).iter().position(|b| b == "moov")
            < top_level_boxes(&audio.path).iter().position(|b| b == "mdat")
    );
    assert_decodes_cleanly(&audio.path);
    assert_eq!(files_in(out.path()), ["audio.m4a"]);
}

#[test]
fn video_without_audio_in_webm() {
    let (_out, _work, result) = transcode_clip("no-audio.webm", |_| {});
    let outputs = result.expect("transcodes");
    let rendition = &outputs.renditions[0];
    assert_eq!((rendition.width, rendition.height), (320, 180));
    assert!(!rendition.codecs.contains("mp4a"), "{}", rendition.codecs);
    let probe = ffprobe(&rendition.path, &[]);
    assert!(streams(&probe, "audio").is_empty());
    assert!((number(&probe["format"]["duration"]) - duration(&clip("no-audio.webm"))).abs() < 0.1);
    check_variant_playlist(rendition.hls_playlist.as_ref().expect("variant"));
    assert_decodes_cleanly(outputs.hls_master.as_ref().expect("master"));
}

#[test]
fn variable_frame_rate_keeps_every_timestamp_and_sync() {
    let source = clip("variable-frame-rate.mkv");
    let (_out, _work, result) = transcode_clip("variable-frame-rate.mkv", |options| options.hls = false);
    let outputs = result.expect("transcodes");
    let rendition = &outputs.renditions[0];
    let source_times: Vec<f64> = video_packet_times(&source).into_iter().map(|(t, _)| t).collect();
    let output_times: Vec<f64> = video_packet_times(&rendition.path).into_iter().map(|(t, _)| t).collect();
    assert_eq!(source_times.len(), output_times.len(), "every frame is kept, none duplicated");
    for (source, output) in source_times.iter().zip(&output_times) {
        assert!((source - output).abs() < 0.002, "frame at {source} moved to {output}");
    }
    let probe = ffprobe(&rendition.path, &[]);
    let audio = &streams(&probe, "audio")[0];
    assert!(number(&audio["start_time"]).abs() < 0.03, "audio starts where the source's does");
    assert!((number(&probe["format"]["duration"]) - duration(&source)).abs() < 0.1);
    assert_decodes_cleanly(&rendition.path);
}

#[test]
fn odd_dimensions_full_range_mjpeg_in_avi() {
    let (_out, _work, result) = transcode_clip("odd-dimensions.avi", |_| {});
    let rendition = &result.expect("transcodes").renditions[0];
    assert_eq!((rendition.width, rendition.height), (320, 240));
    let probe = ffprobe(&rendition.path, &[]);
    let video = &streams(&probe, "video")[0];
    assert_eq!((video["pix_fmt"].as_str(), video["color_range"].as_str()), (Some("yuv420p"), Some("tv")));
    assert!((number(&probe["format"]["duration"]) - duration(&clip("odd-dimensions.avi"))).abs() < 0.1);
    assert_decodes_cleanly(&rendition.path);
}

#[test]
fn hdr_is_tone_mapped_to_eight_bit_sdr() {
    let source = clip("hdr-10bit.mp4");
    let (_out, _work, result) = transcode_clip("hdr-10bit.mp4", |_| {});
    let rendition = &result.expect("transcodes").renditions[0];
    let video = &streams(&ffprobe(&rendition.path, &[]), "video")[0];
    assert_eq!((video["pix_fmt"].as_str(), video["profile"].as_str()), (Some("yuv420p"), Some("High")));
    assert_eq!(
        (video["color_transfer"].as_str(), video["color_primaries"].as_str()),
        (Some("bt709"), Some("bt709"))
    );
    // The picture matches FFmpeg's own tone mapping, and not a plain 10-to-8-bit conversion.
    let (_, _, ours) = first_frame_rgb(&rendition.path);
    let tone_mapped = first_frame_rgb_filtered(&source, FFMPEG_TONE_MAP);
    let untouched = first_frame_rgb_filtered(&source, "null");
    assert!(mean_abs_diff(&ours, &tone_mapped) < 4.0, "{}", mean_abs_diff(&ours, &tone_mapped));
    assert!(mean_abs_diff(&ours, &untouched) > 10.0, "{}", mean_abs_diff(&ours, &untouched));
    assert_decodes_cleanly(&rendition.path);
}

#[test]
fn mpeg_ts_starts_at_zero_with_ts_segments() {
    let (out, _work, result) =
        transcode_clip("sample.ts", |options| options.hls_segment_format = HlsSegmentFormat::MpegTs);
    let outputs = result.expect("transcodes");
    let rendition = &outputs.renditions[0];
    let probe = ffprobe(&rendition.path, &[]);
    assert!(number(&probe["format"]["start_time"]).abs() < 0.05);
    assert!((number(&probe["format"]["duration"]) - duration(&clip("sample.ts"))).abs() < 0.1);
    let files = files_in(out.path());
    assert!(files.contains(&"hls/240p_00000.ts".to_string()), "{files:?}");
    check_variant_playlist(rendition.hls_playlist.as_ref().expect("variant"));
    // Each TS segment decodes on its own (it starts with a keyframe and its parameter sets).
    assert_decodes_cleanly(&out.path().join("hls/240p_00000.ts"));
    assert_decodes_cleanly(outputs.hls_master.as_ref().expect("master"));
}

#[test]
fn a_custom_ladder_preset_and_bit_rate_cap() {
    let cap = Rung { height: 144, max_bit_rate: 100_000, buffer_size: 100_000 };
    let (_out, _work, result) = transcode_clip("bigbuckbunny.mp4", |options| {
        options.ladder = vec![Rung::new(360, 800_000), cap];
        options.preset = media_video::X264Preset::Ultrafast;
        options.hls = false;
    });
    let outputs = result.expect("transcodes");
    let sizes: Vec<(u32, u32)> = outputs.renditions.iter().map(|r| (r.width, r.height)).collect();
    assert_eq!(sizes, [(640, 360), (256, 144)]);
    // VBV: the video never uses more than maxrate × duration plus one buffer.
    let video = &streams(&ffprobe(&outputs.renditions[1].path, &[]), "video")[0];
    let video_bits = number(&video["bit_rate"]) * number(&video["duration"]);
    let allowed = f64::from(cap.max_bit_rate) * number(&video["duration"]) + f64::from(cap.buffer_size);
    assert!(video_bits <= allowed * 1.02, "{video_bits} bits, {allowed} allowed");
    let uncapped = &streams(&ffprobe(&outputs.renditions[0].path, &[]), "video")[0];
    assert!(number(&uncapped["bit_rate"]) > 2.0 * f64::from(cap.max_bit_rate));
}

#[test]
fn odd_file_and_folder_names_work() {
    let root = temp_dir();
    let odd = root.path().join("uploads 2024/ünïcødé + 100% café");
    std::fs::create_dir_all(&odd).expect("mkdir");
    let input = odd.join("my clip (1) + more %20.mov");
    std::fs::copy(clip("rotated-portrait.mov"), &input).expect("copy");
    let probe = probe(&input, &VideoLimits::default()).expect("probe");
    let work = root.path().join("work (tmp) ü");
    std::fs::create_dir_all(&work).expect("mkdir");
    let options = TranscodeOptions::new(odd.join("out 100%"), &work);
    let outputs = transcode(&input, &probe, &options, &mut |_| {}).expect("transcodes");
    assert!(outputs.renditions[0].path.is_file());
    check_variant_playlist(outputs.renditions[0].hls_playlist.as_ref().expect("variant"));
    assert_decodes_cleanly(outputs.hls_master.as_ref().expect("master"));
    // A `%` in the work folder would be read as a pattern by FFmpeg's HLS muxer: refused up front.
    let options = TranscodeOptions::new(odd.join("out"), &odd);
    let error = transcode(&input, &probe, &options, &mut |_| {}).map(|_| ()).expect_err("refused");
    assert_eq!(error.code(), ErrorCode::INVALID_OPTIONS);
}

#[test]
fn a_passed_deadline_stops_cleanly_and_leaves_nothing() {
    // Already passed: refused before any work.
    let (out, work, result) =
        transcode_clip("bigbuckbunny.mp4", |options| options.deadline = Some(Instant::now()));
    assert_eq!(result.map(|_| ()).expect_err("fails").code(), ErrorCode::DEADLINE_EXCEEDED);
    assert!(files_in(out.path()).is_empty() && files_in(work.path()).is_empty());
    // Passing mid-way: stopped while encoding, partial outputs removed.
    let (out, work, result) = transcode_clip("bigbuckbunny.mp4", |options| {
        options.deadline = Some(Instant::now() + Duration::from_millis(200));
    });
    let error = result.map(|_| ()).expect_err("fails");
    assert!(matches!(error, VideoError::DeadlineExceeded { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert!(files_in(out.path()).is_empty(), "{:?}", files_in(out.path()));
    assert!(files_in(work.path()).is_empty(), "{:?}", files_in(work.path()));
}

#[test]
fn truncated_and_corrupt_media_are_typed_errors() {
    let dir = temp_dir();
    // Matroska cut in half: the header still declares 3 s, the media stops at about 1.5 s.
    let source = clip("variable-frame-rate.mkv");
    let size = std::fs::metadata(&source).expect("size").len() as usize;
    let cut = truncated_copy(&source, dir.path(), size / 2);
    let probe = probe(&cut, &VideoLimits::default()).expect("the header reads");
    let options = TranscodeOptions::new(dir.path().join("out"), dir.path());
    let error = transcode(&cut, &probe, &options, &mut |_| {}).map(|_| ()).expect_err("fails");
    assert_eq!((error.code(), error.is_retryable()), (ErrorCode::TRUNCATED_INPUT, false), "{error}");
    assert!(!dir.path().join("out/240p.mp4").exists());

    // The media data of Big Buck Bunny overwritten with zeros: nothing decodes.
    let mut bytes = std::fs::read(clip("bigbuckbunny.mp4")).expect("read");
    bytes[48..1_000_000].fill(0);
    let zeroed = dir.path().join("zeroed.mp4");
    std::fs::write(&zeroed, &bytes).expect("write");
    let probe = media_video::probe(&zeroed, &VideoLimits::default()).expect("the index reads");
    let error = transcode(&zeroed, &probe, &options, &mut |_| {}).map(|_| ()).expect_err("fails");
    assert_eq!(error.code(), ErrorCode::CORRUPT_INPUT, "{error}");
}

#[test]
fn limits_and_bad_options_are_checked_before_decoding() {
    let (_out, _work, result) = transcode_clip("bigbuckbunny.mp4", |options| {
        options.limits = VideoLimits { max_duration_seconds: 2, ..VideoLimits::default() };
    });
    assert_eq!(result.map(|_| ()).expect_err("fails").code(), ErrorCode::TOO_LARGE);
    let (_out, _work, result) = transcode_clip("bigbuckbunny.mp4", |options| options.crf = 60);
    assert_eq!(result.map(|_| ()).expect_err("fails").code(), ErrorCode::INVALID_OPTIONS);
    let (_out, _work, result) =
        transcode_clip("bigbuckbunny.mp4", |options| options.work_dir = "/nonexistent/work".into());
    assert_eq!(result.map(|_| ()).expect_err("fails").code(), ErrorCode::IO_ERROR);
}

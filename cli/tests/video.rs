//! The `mediaflow` binary on real video clips: `process` writes posters, renditions, HLS and
//! metadata.json with the JSON-lines contract of images, and `probe` prints what a clip holds.
//! Renditions are checked with ffprobe, an independent reading of what was written.
//!
//! Every transcode is asked for one small rendition with x264's fastest preset, so the tests stay
//! quick in debug builds.

mod common;

use std::path::{Path, PathBuf};

use common::{ffprobe, json_lines, line_for, mediaflow};
use serde_json::Value;

/// A clip in media-video's tests/data (see SOURCES.md there).
fn clip(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/media-video/tests/data").join(name)
}

fn photo(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/media-core/tests/data/inputs").join(name)
}

/// `mediaflow process --json` with a small, fast ladder and `extra` options, on `paths`.
fn process(cwd: &Path, extra: &[&str], paths: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["process", "--json", "--renditions", "240", "--preset", "ultrafast", "--out", "out"];
    args.extend_from_slice(extra);
    args.extend_from_slice(paths);
    let (code, stdout, stderr) = mediaflow(&args, cwd);
    (code, json_lines(&stdout), stderr)
}

/// The outputs of a report line as (file name relative to `folder`, output object).
fn outputs<'a>(line: &'a Value, folder: &str) -> Vec<(String, &'a Value)> {
    line["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|output| {
            let path = output["path"].as_str().expect("path");
            let name = path.strip_prefix(folder).unwrap_or_else(|| panic!("{path} not in {folder}"));
            (name.trim_start_matches('/').to_owned(), output)
        })
        .collect()
}

fn streams(probe: &Value, codec_type: &str) -> Vec<Value> {
    probe["streams"]
        .as_array()
        .map(|streams| streams.iter().filter(|s| s["codec_type"] == codec_type).cloned().collect())
        .unwrap_or_default()
}

/// Codec, width and height of the first video stream, as ffprobe reads them.
fn video_stream(path: &Path) -> (String, u64, u64) {
    let video = streams(&ffprobe(path), "video").into_iter().next().expect("a video stream");
    let size = |key: &str| video[key].as_u64().expect(key);
    (video["codec_name"].as_str().expect("codec").to_owned(), size("width"), size("height"))
}

/// Checks that every URI of the playlist at `path` exists, following variant playlists; returns the
/// number of media files (segments and init segments) referenced.
fn check_playlist(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.starts_with("#EXTM3U"), "{text}");
    let dir = path.parent().expect("folder");
    let mut uris: Vec<&str> =
        text.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
    uris.extend(text.lines().filter_map(|line| line.split_once("URI=\"")?.1.split('"').next()));
    assert!(!uris.is_empty(), "{text}");
    let mut media = 0;
    for uri in uris {
        let target = dir.join(uri);
        assert!(target.is_file(), "{uri} of {} is missing", path.display());
        if uri.ends_with(".m3u8") {
            let segments = check_playlist(&target);
            assert!(segments > 0, "{uri} has no segments");
            media += segments;
        } else {
            media += 1;
        }
    }
    media
}

#[test]
fn a_video_gets_posters_renditions_hls_and_its_probe_after_the_images() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let clips = dir.path().join("clips");
    std::fs::create_dir_all(clips.join("films"))?;
    std::fs::copy(clip("bigbuckbunny.mp4"), clips.join("films/bunny.mp4"))?;
    std::fs::copy(photo("photo-camera.jpg"), clips.join("photo.jpg"))?;

    let (code, lines, stderr) = process(dir.path(), &["--jobs", "2", "--sizes", "64,200"], &["clips"]);
    assert_eq!(code, 0, "{lines:?} {stderr}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        (lines[2]["summary"]["ok"].as_u64(), lines[2]["summary"]["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(lines[0]["input"].as_str().is_some_and(|i| i.ends_with("photo.jpg")), "images first: {lines:?}");

    let bunny = line_for(&lines, "bunny.mp4");
    assert_eq!((bunny["status"].as_str(), bunny["kind"].as_str()), (Some("ok"), Some("video")));
    assert!(bunny.get("error").is_none());
    let folder = dir.path().join("out/films/bunny.mp4");
    let outputs = outputs(bunny, "out/films/bunny.mp4");
    let names: Vec<&str> = outputs.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["poster-64.jpg", "poster-200.jpg", "240p.mp4", "hls/master.m3u8"]);
    for (name, output) in &outputs {
        let path = folder.join(name);
        assert_eq!(Some(std::fs::metadata(&path)?.len()), output["bytes"].as_u64(), "{name}");
    }

    // Posters: thumbnails of a 16:9 frame, reported with their real size.
    for (name, output) in &outputs[..2] {
        assert_eq!(output["format"], "jpeg");
        let poster = image::open(folder.join(name))?;
        assert_eq!(
            (Some(u64::from(poster.width())), Some(u64::from(poster.height()))),
            (output["width"].as_u64(), output["height"].as_u64())
        );
    }
    assert_eq!((outputs[1].1["width"].as_u64(), outputs[1].1["height"].as_u64()), (Some(200), Some(113)));

    // 240p of 1280×720: 426×240 (the long edge rounded to an even number), as ffprobe reads it.
    let (_, mp4) = &outputs[2];
    assert_eq!(
        (mp4["format"].as_str(), mp4["width"].as_u64(), mp4["height"].as_u64()),
        (Some("mp4"), Some(426), Some(240))
    );
    assert_eq!(video_stream(&folder.join("240p.mp4")), ("h264".to_owned(), 426, 240));
    let rendition = ffprobe(&folder.join("240p.mp4"));
    assert_eq!(streams(&rendition, "audio")[0]["codec_name"], "aac");

    // HLS: the master playlist is listed without a size, and everything it references exists.
    let (_, master) = &outputs[3];
    assert_eq!(
        (master["format"].as_str(), master["width"].as_u64(), master["height"].as_u64()),
        (Some("m3u8"), None, None)
    );
    assert!(master["width"].is_null() && master["height"].is_null());
    assert!(check_playlist(&folder.join("hls/master.m3u8")) >= 2);

    // metadata.json is the probe.
    let metadata: Value = serde_json::from_slice(&std::fs::read(folder.join("metadata.json"))?)?;
    assert_eq!(metadata["container"], "mp4");
    assert_eq!(
        (metadata["video"][0]["width"].as_u64(), metadata["video"][0]["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert_eq!(metadata["audio"][0]["codec"], "aac");
    // The transcode's staging folder is gone.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))?
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    Ok(())
}

#[test]
fn portrait_audio_only_and_silent_clips_with_no_hls() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    for name in ["rotated-portrait.mov", "audio-only.m4a", "no-audio.webm"] {
        std::fs::copy(clip(name), dir.path().join(name))?;
    }
    let (code, lines, stderr) = process(
        dir.path(),
        &["--jobs", "1", "--no-hls", "--sizes", "128"],
        &["rotated-portrait.mov", "audio-only.m4a", "no-audio.webm"],
    );
    assert_eq!(code, 0, "{lines:?} {stderr}");
    assert!(lines[..3].iter().all(|line| line["status"] == "ok"), "{lines:?}");
    // The M4A's brand says it holds sound only; the others are video containers.
    for (name, kind) in
        [("rotated-portrait.mov", "video"), ("audio-only.m4a", "audio"), ("no-audio.webm", "video")]
    {
        assert_eq!(line_for(&lines, name)["kind"], kind, "{name}");
    }

    // A phone video held upright comes out portrait: the rendition and the poster.
    let portrait = dir.path().join("out/rotated-portrait.mov");
    let names: Vec<String> = outputs(line_for(&lines, "rotated-portrait.mov"), "out/rotated-portrait.mov")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["poster-128.jpg", "240p.mp4"]);
    assert_eq!(video_stream(&portrait.join("240p.mp4")), ("h264".to_owned(), 240, 320));
    let poster = image::open(portrait.join("poster-128.jpg"))?;
    assert_eq!((poster.width(), poster.height()), (96, 128));
    assert!(!portrait.join("hls").exists());
    let metadata: Value = serde_json::from_slice(&std::fs::read(portrait.join("metadata.json"))?)?;
    assert_eq!(metadata["video"][0]["rotation"], 90);

    // Audio only: audio.m4a, no poster, no rendition.
    let audio = line_for(&lines, "audio-only.m4a");
    let audio_outputs = outputs(audio, "out/audio-only.m4a");
    assert_eq!(audio_outputs.len(), 1, "{audio}");
    let (name, output) = &audio_outputs[0];
    assert_eq!((name.as_str(), output["format"].as_str()), ("audio.m4a", Some("m4a")));
    assert!(output["width"].is_null() && output["height"].is_null());
    let m4a = ffprobe(&dir.path().join("out/audio-only.m4a/audio.m4a"));
    assert!(streams(&m4a, "video").is_empty());
    assert_eq!(streams(&m4a, "audio")[0]["codec_name"], "aac");
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("out/audio-only.m4a"))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["audio.m4a", "metadata.json"]);

    // VP9 without audio, 320×180: below the 240 rung, so one rendition at its own size.
    let silent = dir.path().join("out/no-audio.webm");
    assert_eq!(video_stream(&silent.join("180p.mp4")), ("h264".to_owned(), 320, 180));
    assert!(streams(&ffprobe(&silent.join("180p.mp4")), "audio").is_empty());
    assert!(!silent.join("hls").exists());
    Ok(())
}

#[test]
fn a_truncated_or_garbage_video_fails_with_a_code_and_the_good_one_still_succeeds() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bunny = std::fs::read(clip("bigbuckbunny.mp4"))?;
    std::fs::write(dir.path().join("truncated.mp4"), &bunny[..3000])?;
    // A valid `ftyp` box, then noise: sniffed as MP4, unreadable as one.
    let mut garbage = bunny[..32].to_vec();
    let mut state = 0x2545_f491_u32;
    garbage.extend((0..20_000).map(|_| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as u8
    }));
    std::fs::write(dir.path().join("garbage.mp4"), &garbage)?;
    std::fs::copy(clip("rotated-portrait.mov"), dir.path().join("good.mov"))?;

    let (code, lines, stderr) =
        process(dir.path(), &["--jobs", "2"], &["truncated.mp4", "garbage.mp4", "good.mov"]);
    assert_eq!(code, 1, "{lines:?} {stderr}");
    assert_eq!(
        (lines[3]["summary"]["ok"].as_u64(), lines[3]["summary"]["failed"].as_u64()),
        (Some(1), Some(2))
    );
    let truncated = line_for(&lines, "truncated.mp4");
    assert_eq!((truncated["status"].as_str(), truncated["kind"].as_str()), (Some("failed"), Some("video")));
    assert_eq!(truncated["error"]["code"], "truncated-input", "{truncated}");
    let garbage = line_for(&lines, "garbage.mp4");
    assert_eq!((garbage["status"].as_str(), garbage["kind"].as_str()), (Some("failed"), Some("video")));
    let code = garbage["error"]["code"].as_str().expect("code");
    assert!(["corrupt-input", "truncated-input", "unsupported-format"].contains(&code), "{garbage}");
    for failed in [truncated, garbage] {
        assert!(failed["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(failed["outputs"].as_array().map(Vec::len), Some(0));
    }
    assert!(!dir.path().join("out/truncated.mp4").exists() && !dir.path().join("out/garbage.mp4").exists());

    assert_eq!(line_for(&lines, "good.mov")["status"], "ok");
    assert!(dir.path().join("out/good.mov/240p.mp4").is_file());
    assert!(check_playlist(&dir.path().join("out/good.mov/hls/master.m3u8")) > 0);
    Ok(())
}

#[test]
fn probe_prints_json_lines_or_a_summary_with_exit_codes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(clip("bigbuckbunny.mp4"), dir.path().join("bunny.mp4"))?;
    std::fs::write(dir.path().join("notes.mp4"), b"not a video at all")?;

    let (code, stdout, _) = mediaflow(&["probe", "--json", "bunny.mp4"], dir.path());
    assert_eq!(code, 0, "{stdout}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["input"], "bunny.mp4");
    let probe = &lines[0]["probe"];
    assert_eq!(probe["container"], "mp4");
    let video = &probe["video"][0];
    assert_eq!(
        (video["codec"].as_str(), video["width"].as_u64(), video["height"].as_u64()),
        (Some("h264"), Some(1280), Some(720))
    );
    let duration = probe["duration_seconds"].as_f64().expect("duration");
    assert!((duration - 5.3).abs() < 0.05, "{duration}");
    assert_eq!(probe["audio"][0]["codec"], "aac");

    // A bad file among good ones: an error line, the others still probed, exit 1.
    let (code, stdout, _) =
        mediaflow(&["probe", "--json", "notes.mp4", "missing.mp4", "bunny.mp4"], dir.path());
    assert_eq!(code, 1, "{stdout}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["error"]["code"], "unsupported-format", "{}", lines[0]);
    assert_eq!(lines[1]["error"]["code"], "io-error", "{}", lines[1]);
    assert!(lines[0].get("probe").is_none() && lines[2]["probe"].is_object());

    // Without --json: a short summary for people.
    let (code, stdout, _) = mediaflow(&["probe", "bunny.mp4"], dir.path());
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("bunny.mp4: mp4, 5.3"), "{stdout}");
    assert!(stdout.contains("video #0: h264") && stdout.contains("1280x720"), "{stdout}");
    assert!(stdout.contains("audio #1: aac") && stdout.contains("48000 Hz, 6 ch"), "{stdout}");
    let (code, _, stderr) = mediaflow(&["probe", "notes.mp4"], dir.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("notes.mp4: unsupported-format"), "{stderr}");

    assert_eq!(mediaflow(&["probe"], dir.path()).0, 2);
    assert_eq!(mediaflow(&["process", "--renditions", "8", "bunny.mp4"], dir.path()).0, 2);
    assert_eq!(mediaflow(&["process", "--preset", "warp", "bunny.mp4"], dir.path()).0, 2);
    Ok(())
}

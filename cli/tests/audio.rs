//! The `mediaflow` binary on real audio files (media-core's `inputs/audio/`, 1.5 s tones made by the
//! ffmpeg CLI): `process` writes the AAC `audio.m4a` and the probe as `metadata.json`, reported as
//! kind `audio`, and `probe` prints what the file holds. Outputs are checked with ffprobe, an
//! independent reading of what was written.

mod common;

use std::path::Path;

use common::{core_data, ffprobe, json_lines, line_for, mediaflow};
use serde_json::Value;

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn audio_files_get_an_aac_rendition_and_their_probe_beside_an_image() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music)?;
    // Named without their real extensions: the bytes decide.
    let files = [
        ("mp3-id3.mp3", "tone.mp3", "mp3", "mp3"),
        ("flac-stereo.flac", "tone.flac", "flac", "flac"),
        ("wav-pcm.wav", "tone.bin", "wav", "pcm_s16le"),
        ("aac-adts.aac", "tone.aac", "aac", "aac"),
    ];
    for (source, name, _, _) in files {
        std::fs::copy(core_data(&format!("inputs/audio/{source}")), music.join(name))?;
    }
    std::fs::copy(core_data("inputs/photo-camera.jpg"), music.join("cover.jpg"))?;

    let (code, stdout, stderr) = mediaflow(
        &["process", "--json", "--jobs", "2", "--sizes", "64", "--out", "out", "music"],
        dir.path(),
    );
    assert_eq!(code, 0, "{stdout} {stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 6, "{stdout}");
    assert_eq!(
        (lines[5]["summary"]["ok"].as_u64(), lines[5]["summary"]["failed"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(line_for(&lines, "cover.jpg")["kind"], "image");

    for (_, name, container, codec) in files {
        let line = line_for(&lines, name);
        assert_eq!((line["status"].as_str(), line["kind"].as_str()), (Some("ok"), Some("audio")), "{line}");
        let folder = dir.path().join("out").join(name);
        // One output: the AAC rendition, without a picture size. No poster, no video, no HLS.
        let outputs = line["outputs"].as_array().expect("outputs");
        assert_eq!(outputs.len(), 1, "{line}");
        let output = &outputs[0];
        assert_eq!(output["path"].as_str(), Some(format!("out/{name}/audio.m4a").as_str()));
        assert_eq!(output["format"], "m4a");
        assert!(output["width"].is_null() && output["height"].is_null(), "{output}");
        assert_eq!(Some(std::fs::metadata(folder.join("audio.m4a"))?.len()), output["bytes"].as_u64());
        assert_eq!(files_in(&folder), ["audio.m4a", "metadata.json"], "{name}");

        let m4a = ffprobe(&folder.join("audio.m4a"));
        let streams = m4a["streams"].as_array().expect("streams");
        assert_eq!(streams.len(), 1, "{name}: {m4a}");
        assert_eq!(
            (streams[0]["codec_type"].as_str(), streams[0]["codec_name"].as_str()),
            (Some("audio"), Some("aac"))
        );
        let duration: f64 = m4a["format"]["duration"].as_str().expect("duration").parse()?;
        assert!((duration - 1.5).abs() < 0.1, "{name}: {duration} s");

        let metadata: Value = serde_json::from_slice(&std::fs::read(folder.join("metadata.json"))?)?;
        assert_eq!(
            (metadata["container"].as_str(), metadata["audio"][0]["codec"].as_str()),
            (Some(container), Some(codec))
        );
        assert!(metadata["video"].as_array().is_some_and(Vec::is_empty), "{metadata}");
    }
    let mp3: Value = serde_json::from_slice(&std::fs::read(dir.path().join("out/tone.mp3/metadata.json"))?)?;
    assert_eq!((mp3["title"].as_str(), mp3["album"].as_str()), (Some("A 440 Hz tone"), Some("Test tones")));
    Ok(())
}

#[test]
fn a_broken_audio_file_fails_as_audio_with_a_code_and_leaves_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let flac = std::fs::read(core_data("inputs/audio/flac-stereo.flac"))?;
    std::fs::write(dir.path().join("cut.flac"), &flac[..30])?;
    std::fs::copy(core_data("inputs/audio/ogg-opus.opus"), dir.path().join("good.opus"))?;

    let (code, stdout, stderr) =
        mediaflow(&["process", "--json", "--out", "out", "cut.flac", "good.opus"], dir.path());
    assert_eq!(code, 1, "{stdout} {stderr}");
    let lines = json_lines(&stdout);
    let cut = line_for(&lines, "cut.flac");
    assert_eq!((cut["status"].as_str(), cut["kind"].as_str()), (Some("failed"), Some("audio")), "{cut}");
    assert_eq!(cut["error"]["code"], "truncated-input", "{cut}");
    assert!(!dir.path().join("out/cut.flac").exists());
    let good = line_for(&lines, "good.opus");
    assert_eq!((good["status"].as_str(), good["kind"].as_str()), (Some("ok"), Some("audio")), "{good}");
    assert!(dir.path().join("out/good.opus/audio.m4a").is_file());

    // The human form names the kind too.
    let (code, stdout, _) = mediaflow(&["process", "--out", "out2", "good.opus"], dir.path());
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("good.opus  audio  m4a "), "{stdout}");
    Ok(())
}

#[test]
fn probe_prints_an_audio_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(core_data("inputs/audio/ogg-vorbis.ogg"), dir.path().join("tone.ogg"))?;
    let (code, stdout, _) = mediaflow(&["probe", "--json", "tone.ogg"], dir.path());
    assert_eq!(code, 0, "{stdout}");
    let probe = &json_lines(&stdout)[0]["probe"];
    assert_eq!(probe["container"], "ogg");
    assert_eq!(
        (probe["audio"][0]["codec"].as_str(), probe["audio"][0]["channels"].as_u64()),
        (Some("vorbis"), Some(2))
    );
    assert_eq!(probe["artist"], "mediaflow");
    let (code, stdout, _) = mediaflow(&["probe", "tone.ogg"], dir.path());
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("tone.ogg: ogg, 1.50 s"), "{stdout}");
    assert!(stdout.contains("audio #0: vorbis") && stdout.contains("44100 Hz, 2 ch"), "{stdout}");
    assert!(
        stdout.contains("  title \"A 440 Hz tone\", artist \"mediaflow\", album \"Test tones\"\n"),
        "{stdout}"
    );
    Ok(())
}

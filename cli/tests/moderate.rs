//! Content moderation through the `mediaflow` binary with the local open_nsfw model (fetched by
//! `make fixtures`; `MEDIAFLOW_MODEL_PATH` or the default cache): `moderate` and
//! `process --moderate`.

mod common;

use common::{core_data, json_lines, line_for, mediaflow};

fn video(name: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/media-video/tests/data")
        .join(name);
    path.display().to_string()
}

#[test]
fn moderate_prints_one_record_per_input_and_an_error_code_for_bad_ones() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = core_data("inputs/photo-camera.jpg").display().to_string();
    let heic = core_data("inputs/heif/heic-exif-gps.heic").display().to_string();
    let broken = core_data("bad/truncated-photo-camera-600.jpg").display().to_string();
    let song = core_data("inputs/audio/mp3-id3.mp3").display().to_string();
    let clip = video("bigbuckbunny.mp4");
    let args = ["moderate", "--json", &photo, &heic, &clip, &broken, &song];
    let (code, stdout, stderr) = mediaflow(&args, dir.path());
    assert_eq!(code, 1, "a failed input makes the exit status 1: {stdout}{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 5, "{stdout}");
    let mut scores = Vec::new();
    for (name, frames) in [("photo-camera.jpg", 1), ("heic-exif-gps.heic", 1), ("bigbuckbunny.mp4", 5)] {
        let moderation = &line_for(&lines, name)["moderation"];
        assert_eq!(moderation["provider"], "local", "{name}");
        assert_eq!(moderation["model"]["name"], "open_nsfw");
        assert_eq!(moderation["model"]["sha256"].as_str().map(str::len), Some(64));
        assert_eq!(moderation["decision"], "allowed", "{name}: {moderation}");
        assert_eq!(moderation["frames"], frames, "{name}");
        assert!(moderation["ms"].is_u64());
        let confidence = moderation["labels"][0]["confidence"].as_f64().unwrap_or(-1.0);
        assert!((0.0..0.8).contains(&confidence), "{name}: {confidence}");
        assert_eq!(moderation["labels"][0]["name"], "nsfw");
        scores.push(confidence);
    }
    assert!(scores.windows(2).all(|pair| pair[0] != pair[1]), "the model really ran: {scores:?}");
    assert_eq!(line_for(&lines, "truncated-photo-camera-600.jpg")["error"]["code"], "corrupt-input");
    assert_eq!(line_for(&lines, "mp3-id3.mp3")["error"]["code"], "unsupported-format");

    // The threshold is the policy: at 0 every labelled input is flagged.
    let (code, stdout, _) = mediaflow(&["moderate", "--json", "--threshold", "0", &photo], dir.path());
    assert_eq!(code, 0);
    assert_eq!(json_lines(&stdout)[0]["moderation"]["decision"], "flagged");
    assert_eq!(json_lines(&stdout)[0]["moderation"]["threshold"], 0.0);
    let (code, _, stderr) = mediaflow(&["moderate", "--threshold", "1.5", &photo], dir.path());
    assert_eq!(code, 2, "a usage error: {stderr}");
    Ok(())
}

#[test]
fn process_moderate_adds_the_record_to_metadata_json() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("in"))?;
    std::fs::copy(core_data("inputs/photo-camera.jpg"), dir.path().join("in/photo.jpg"))?;
    std::fs::copy(video("rotated-portrait.mov"), dir.path().join("in/clip.mov"))?;
    let args =
        ["process", "--json", "--moderate", "--sizes", "64", "--renditions", "144", "--out", "out", "in"];
    let (code, stdout, stderr) = mediaflow(&args, dir.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(line_for(&json_lines(&stdout), "photo.jpg")["status"], "ok");
    for (name, frames) in [("photo.jpg", 1), ("clip.mov", 5)] {
        let metadata: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(format!("out/{name}/metadata.json")))?)?;
        assert_eq!(metadata["moderation"]["decision"], "allowed", "{name}");
        assert_eq!(metadata["moderation"]["frames"], frames, "{name}");
        assert!(metadata.get("moderation").is_some() && metadata.as_object().is_some_and(|m| m.len() > 3));
    }
    // Without the flag, no record (and no model needed).
    let (code, _, _) =
        mediaflow(&["process", "--json", "--sizes", "64", "--out", "plain", "in/photo.jpg"], dir.path());
    assert_eq!(code, 0);
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plain/photo.jpg/metadata.json"))?)?;
    assert!(metadata.get("moderation").is_none());
    Ok(())
}

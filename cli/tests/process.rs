//! The `mediaflow` binary end to end on real files: outputs on disk, the JSON-lines contract and
//! exit codes.

mod common;

use common::{core_data, json_lines, mediaflow};

#[test]
fn processes_a_folder_reports_each_input_and_fails_only_the_bad_ones() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("holiday/day 1"))?;
    std::fs::copy(core_data("inputs/photo-gps.jpg"), photos.join("holiday/day 1/beach.jpg"))?;
    std::fs::copy(core_data("inputs/png-rgba.png"), photos.join("logo.png"))?;
    // Named like a photo, but a text file: sniffed, not trusted by extension.
    std::fs::copy(core_data("bad/text-as.jpg"), photos.join("notes.jpg"))?;
    std::fs::copy(core_data("inputs/video/clip.mp4"), photos.join("clip.mp4"))?;

    let (code, stdout, _) = mediaflow(
        &[
            "process",
            "--json",
            "--jobs",
            "2",
            "--sizes",
            "64,200",
            "--renditions",
            "240",
            "--preset",
            "ultrafast",
            "--out",
            "out",
            "photos",
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stdout}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 5, "{stdout}");
    let summary = &lines[4]["summary"];
    assert_eq!((summary["ok"].as_u64(), summary["failed"].as_u64()), (Some(3), Some(1)));

    let by_input = |suffix: &str| {
        lines.iter().find(|l| l["input"].as_str().is_some_and(|i| i.ends_with(suffix))).expect(suffix).clone()
    };
    let beach = by_input("beach.jpg");
    assert_eq!((beach["status"].as_str(), beach["kind"].as_str()), (Some("ok"), Some("image")));
    let outputs = beach["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 2);
    for output in outputs {
        let path = dir.path().join(output["path"].as_str().expect("path"));
        let written = image::open(&path)?;
        assert_eq!(Some(u64::from(written.width())), output["width"].as_u64());
        assert_eq!(Some(std::fs::metadata(&path)?.len()), output["bytes"].as_u64());
    }
    let folder = dir.path().join("out/holiday/day 1/beach.jpg");
    assert!(folder.join("thumb-64.jpg").is_file() && folder.join("thumb-200.jpg").is_file());
    let metadata: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("metadata.json"))?)?;
    assert_eq!(metadata["exif"]["make"], "Canon");

    let notes = by_input("notes.jpg");
    assert_eq!(notes["error"]["code"], "unsupported-format");
    assert_eq!(notes["kind"], "unknown");
    // Videos are processed too (after the images), 160×120 capped at its own size.
    let clip = by_input("clip.mp4");
    assert_eq!((clip["kind"].as_str(), clip["status"].as_str()), (Some("video"), Some("ok")));
    assert!(
        dir.path().join("out/clip.mp4/120p.mp4").is_file()
            && dir.path().join("out/clip.mp4/poster-64.jpg").is_file()
    );
    assert_eq!(lines[3]["input"], clip["input"], "the video comes after the images");
    Ok(())
}

#[test]
fn exit_codes_zero_on_success_and_two_on_usage_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(core_data("inputs/photo-camera.jpg"), dir.path().join("a.jpg"))?;
    let (code, stdout, _) =
        mediaflow(&["process", "--jobs", "1", "--format", "webp", "--out", "o", "a.jpg"], dir.path());
    assert_eq!(code, 0, "{stdout}");
    assert!(dir.path().join("o/a.jpg/thumb-256.webp").is_file());
    assert_eq!(mediaflow(&["process", "--quality", "0", "a.jpg"], dir.path()).0, 2);
    assert_eq!(mediaflow(&["process", "--format", "gif", "a.jpg"], dir.path()).0, 2);
    assert_eq!(mediaflow(&["process"], dir.path()).0, 2);
    assert_eq!(mediaflow(&["frobnicate"], dir.path()).0, 2);
    let (code, stdout, _) = mediaflow(&["metadata", "--json", "a.jpg"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(json_lines(&stdout)[0]["metadata"]["width"], 480);
    Ok(())
}

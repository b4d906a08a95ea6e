//! HEIC and AVIF through the `mediaflow` binary, which links libheif: thumbnails on disk and the
//! metadata command.

mod common;

use common::{core_data, json_lines, line_for, mediaflow};

#[test]
fn processes_heic_and_avif_into_upright_thumbnails() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("in"))?;
    std::fs::copy(core_data("inputs/heif/heic-exif-gps.heic"), dir.path().join("in/photo.heic"))?;
    // Stored sideways, turned upright by irot; its EXIF says "rotate" too and must be ignored.
    std::fs::copy(core_data("inputs/heif/avif-irot-exif6.avif"), dir.path().join("in/rotated.avif"))?;

    let (code, stdout, stderr) =
        mediaflow(&["process", "--json", "--sizes", "64,120", "--out", "out", "in"], dir.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines = json_lines(&stdout);
    for name in ["photo.heic", "rotated.avif"] {
        assert_eq!(line_for(&lines, name)["status"], "ok", "{name}: {stdout}");
    }
    let rotated = image::open(dir.path().join("out/rotated.avif/thumb-120.jpg"))?;
    assert_eq!((rotated.width(), rotated.height()), (120, 80), "landscape, as irot makes it");
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/photo.heic/metadata.json"))?)?;
    assert_eq!(
        (metadata["format"].as_str(), metadata["exif"]["make"].as_str()),
        (Some("heif"), Some("Canon"))
    );
    Ok(())
}

#[test]
fn metadata_command_reads_heif() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = core_data("inputs/heif/heic-10bit.heic");
    let (code, stdout, stderr) =
        mediaflow(&["metadata", "--json", file.to_str().expect("utf-8")], dir.path());
    assert_eq!(code, 0, "{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines[0]["metadata"]["bit_depth"], 10, "{stdout}");
}

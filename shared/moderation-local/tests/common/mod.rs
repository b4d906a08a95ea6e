//! What the model tests share: finding the model, the photos and the onnxruntime venv, each from
//! its env var or the project default, failing (never skipping) with the command that fetches it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;
use moderation_local::{OpenNsfw, model_path_from_env};

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
}

fn from_env_or(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).filter(|value| !value.is_empty()).map(PathBuf::from).unwrap_or(default)
}

/// The model, loaded; panics with the fetch command when it is not there.
pub fn model() -> OpenNsfw {
    let path = model_path_from_env();
    assert!(
        path.is_file(),
        "no open_nsfw model at {} (MEDIAFLOW_MODEL_PATH): run `make fixtures`, or scripts/fetch.py model=DIR",
        path.display()
    );
    OpenNsfw::load(&path).expect("load the model")
}

/// The ordinary photos, name and pixels, sorted by name.
pub fn photos() -> Vec<(String, RgbImage)> {
    let dir = from_env_or("MEDIAFLOW_MODERATION_PHOTOS", home().join(".cache/mediaflow/moderation-photos"));
    assert!(
        dir.join(".complete").is_file(),
        "no moderation photos in {} (MEDIAFLOW_MODERATION_PHOTOS): run `make fixtures`, or scripts/fetch.py moderation-photos=DIR",
        dir.display()
    );
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the photos directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "png" || ext == "jpg"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
            (name, load(path))
        })
        .collect()
}

/// JPEGs are decoded by libjpeg-turbo, as Pillow decodes them, so that a comparison with Pillow's
/// preprocessing measures the preprocessing and not two JPEG decoders; PNGs by `image`. Grey
/// pictures become RGB by copying the grey, as Pillow's `convert("RGB")` does.
fn load(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).expect("read a photo");
    if path.extension().is_some_and(|ext| ext == "jpg") {
        let decoded = turbojpeg::decompress(&bytes, turbojpeg::PixelFormat::RGB).expect("decode a JPEG");
        RgbImage::from_raw(decoded.width as u32, decoded.height as u32, decoded.pixels).expect("RGB buffer")
    } else {
        image::load_from_memory(&bytes).expect("decode a PNG").to_rgb8()
    }
}

/// The Python of the venv with pinned onnxruntime, numpy and Pillow.
pub fn python() -> PathBuf {
    let venv = from_env_or("MEDIAFLOW_ONNX_VENV", home().join(".cache/mediaflow/onnx-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "no onnxruntime venv at {} (MEDIAFLOW_ONNX_VENV): run scripts/onnx-venv.sh ~/.cache/mediaflow/onnx-venv",
        venv.display()
    );
    python
}

/// Runs tests/onnxruntime_reference.py with `args` and returns its standard output.
pub fn reference(args: &[&std::ffi::OsStr]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnxruntime_reference.py");
    let output = Command::new(python()).arg(script).args(args).output().expect("run python");
    assert!(
        output.status.success(),
        "onnxruntime_reference.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Writes `values` as raw little-endian f32, the format the Python side reads.
pub fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write a tensor");
}

/// Reads raw little-endian f32.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("read a tensor");
    bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])).collect()
}

/// Parses "NAME SCORE" lines.
pub fn scores(output: &str) -> Vec<(String, f32)> {
    output
        .lines()
        .map(|line| {
            let (name, score) = line.split_once(' ').expect("NAME SCORE");
            (name.to_owned(), score.parse().expect("a score"))
        })
        .collect()
}

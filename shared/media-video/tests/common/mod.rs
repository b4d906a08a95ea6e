//! Helpers shared by the integration tests: the clips in tests/data, and checks of outputs with the
//! ffprobe and ffmpeg command-line tools (an independent reading of what we wrote).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A clip in tests/data.
pub fn clip(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// An audio file of media-core's test data (`inputs/audio/`, see SOURCES.md there): a 1.5 s tone in
/// every audio format, kept in the innermost crate so that every crate's tests can read it.
pub fn audio_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../media-core/tests/data/inputs/audio").join(name)
}

/// A fresh temporary directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `ffprobe -show_format -show_streams` (plus `extra` arguments) as JSON.
pub fn ffprobe(path: &Path, extra: &[&str]) -> Value {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json", "-show_format", "-show_streams"])
        .args(extra)
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        output.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ffprobe JSON")
}

/// The streams of `path` of `codec_type` (`video`, `audio`).
pub fn streams(probe: &Value, codec_type: &str) -> Vec<Value> {
    probe["streams"]
        .as_array()
        .map(|streams| streams.iter().filter(|stream| stream["codec_type"] == codec_type).cloned().collect())
        .unwrap_or_default()
}

/// A number ffprobe prints as a string (`"5.312000"`).
pub fn number(value: &Value) -> f64 {
    value.as_str().and_then(|text| text.parse().ok()).or(value.as_f64()).unwrap_or(f64::NAN)
}

/// The container duration ffprobe reports.
pub fn duration(path: &Path) -> f64 {
    number(&ffprobe(path, &[])["format"]["duration"])
}

/// Decodes every stream of `path` with the ffmpeg CLI, failing on any error message.
pub fn assert_decodes_cleanly(path: &Path) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && errors.trim().is_empty(),
        "decoding {} failed: {errors}",
        path.display()
    );
}

/// Presentation times (seconds) of the video packets of `path`, in presentation order.
pub fn video_packet_times(path: &Path) -> Vec<(f64, bool)> {
    let probe = ffprobe(path, &["-select_streams", "v:0", "-show_packets"]);
    let mut times: Vec<(f64, bool)> = probe["packets"]
        .as_array()
        .expect("packets")
        .iter()
        .map(|packet| (number(&packet["pts_time"]), packet["flags"].as_str().unwrap_or("").starts_with('K')))
        .collect();
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    times
}

/// The first video frame of `path` as RGB24 pixels, decoded by the ffmpeg CLI (which applies any
/// display matrix, as players do), with its width and height.
pub fn first_frame_rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let video = streams(&ffprobe(path, &[]), "video").into_iter().next().expect("a video stream");
    let (mut width, mut height) =
        (video["width"].as_u64().expect("width") as u32, video["height"].as_u64().expect("height") as u32);
    let rotation = video["side_data_list"]
        .as_array()
        .and_then(|list| list.iter().find_map(|side| side["rotation"].as_i64()))
        .unwrap_or(0);
    if rotation.abs() == 90 || rotation.abs() == 270 {
        std::mem::swap(&mut width, &mut height);
    }
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout.len(), (width * height * 3) as usize, "frame size of {}", path.display());
    (width, height, output.stdout)
}

/// The first video frame of `path` as RGB24 through the ffmpeg CLI's filter chain `filters`.
pub fn first_frame_rgb_filtered(path: &Path, filters: &str) -> Vec<u8> {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf", filters, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The tone-mapping chain FFmpeg's documentation gives for HDR to SDR.
pub const FFMPEG_TONE_MAP: &str = "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
    tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p";

/// Mean absolute difference of two pictures of the same size, per sample.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "pictures of different sizes");
    a.iter().zip(b).map(|(x, y)| f64::from(x.abs_diff(*y))).sum::<f64>() / a.len() as f64
}

/// The RGB pixel at (x, y) of a packed RGB24 (`channels` 3) or RGBA (`channels` 4) picture.
pub fn pixel(pixels: &[u8], width: u32, channels: usize, x: u32, y: u32) -> [u8; 3] {
    let at = (y as usize * width as usize + x as usize) * channels;
    [pixels[at], pixels[at + 1], pixels[at + 2]]
}

/// Whether `rgb` is close to pure red / blue (lossy codecs shift colours a little).
pub fn is_red(rgb: [u8; 3]) -> bool {
    rgb[0] > 200 && rgb[1] < 60 && rgb[2] < 60
}

/// See [`is_red`].
pub fn is_blue(rgb: [u8; 3]) -> bool {
    rgb[0] < 60 && rgb[1] < 60 && rgb[2] > 200
}

/// The top-level ISO BMFF box types of `path`, in order.
pub fn top_level_boxes(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("read");
    let mut boxes = Vec::new();
    let mut offset = 0usize;
    while offset + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes")) as usize;
        boxes.push(String::from_utf8_lossy(&bytes[offset + 4..offset + 8]).into_owned());
        if size < 8 {
            break;
        }
        offset += size;
    }
    boxes
}

/// Writes the first `keep` bytes of `source` to a file in `dir` and returns its path.
pub fn truncated_copy(source: &Path, dir: &Path, keep: usize) -> PathBuf {
    let bytes = std::fs::read(source).expect("read");
    let path = dir.join(format!("truncated-{}", source.file_name().expect("name").to_string_lossy()));
    std::fs::write(&path, &bytes[..keep.min(bytes.len())]).expect("write");
    path
}

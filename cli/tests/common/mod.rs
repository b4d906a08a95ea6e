//! Helpers shared by the CLI's integration tests: the test data of the media crates, running the
//! `mediaflow` binary, its JSON-lines reports, and ffprobe (an independent reading of what it wrote).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A file of media-core's test data (see SOURCES.md there).
pub fn core_data(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/media-core/tests/data").join(relative)
}

/// Runs `mediaflow` in `cwd`: exit code, stdout, stderr. Fails the test if it panicked.
pub fn mediaflow(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_mediaflow")).args(args).current_dir(cwd).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// The lines of a `--json` report, each parsed.
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))).collect()
}

/// The report line of the input whose path ends with `suffix`.
pub fn line_for<'a>(lines: &'a [Value], suffix: &str) -> &'a Value {
    lines.iter().find(|l| l["input"].as_str().is_some_and(|i| i.ends_with(suffix))).expect(suffix)
}

/// `ffprobe -show_format -show_streams` as JSON.
pub fn ffprobe(path: &Path) -> Value {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json", "-show_format", "-show_streams"])
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

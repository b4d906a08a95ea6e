//! FFmpeg's own log lines arrive in `tracing` under the target `ffmpeg`, one event per line.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use media_core::ErrorCode;
use media_video::VideoLimits;

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn ffmpeg_errors_are_tracing_events_with_their_component() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("ffmpeg=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    // Big Buck Bunny cut before its index: FFmpeg's mov demuxer complains, we return a typed error.
    let dir = common::temp_dir();
    let cut = common::truncated_copy(&common::clip("bigbuckbunny.mp4"), dir.path(), 200_000);
    let error = media_video::probe(&cut, &VideoLimits::default()).expect_err("fails");
    assert_eq!(error.code(), ErrorCode::TRUNCATED_INPUT);

    let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("UTF-8");
    let line = log
        .lines()
        .find(|line| line.contains("moov atom not found"))
        .unwrap_or_else(|| panic!("no FFmpeg line in:\n{log}"));
    assert!(line.contains("ERROR") && line.contains("ffmpeg:"), "{line}");
    assert!(line.contains("component=\"mov,mp4,m4a,3gp,3g2,mj2\""), "{line}");
    // Every event is one line: FFmpeg's trailing newlines are not passed on.
    assert!(!log.contains("\n\n"), "{log}");
}

//! No input makes a decoder panic. `process_image` catches panics as a last line of defence, but a
//! panic is still a bug: under `panic = "abort"` it kills the process, and a caught one leaves the
//! decoder's state unknown. So this binary counts every panic with a panic hook (it is its own test
//! binary, with one test, so no other test's assertion is counted) while it feeds every committed
//! input, every bad file (the tiled planar TIFF that tiff 0.11.3 panicked on among them), and cut
//! and damaged variants of each input.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use media_core::ErrorCode;
use media_core::{Limits, ThumbnailOptions, process_image};

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("test data folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|ext| ext != "md" && ext != "sh") {
            out.push(path);
        }
    }
}

/// Deterministic variants of `bytes`: cut at a spread of lengths, and with bytes flipped at a
/// stride through the middle.
fn variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        [1, 8, 30, 100, 300].iter().map(|&cut| bytes[..cut.min(bytes.len())].to_vec()).collect();
    for fraction in 1..8 {
        out.push(bytes[..bytes.len() * fraction / 8].to_vec());
    }
    for stride in [7usize, 61, 499] {
        let mut damaged = bytes.to_vec();
        for i in (damaged.len() / 4..damaged.len()).step_by(stride) {
            damaged[i] ^= 0xA5;
        }
        out.push(damaged);
    }
    out
}

#[test]
fn no_input_makes_a_decoder_panic() {
    std::panic::set_hook(Box::new(|info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        eprintln!("panic: {info}");
    }));
    let mut paths = Vec::new();
    for dir in ["inputs", "bad"] {
        files(&common::data_path(dir), &mut paths);
    }
    // Audio and video files are sniffed and refused as not images: no decoder sees them.
    paths.retain(|path| !path.components().any(|c| c.as_os_str() == "video" || c.as_os_str() == "audio"));
    assert!(paths.len() > 40, "found {} files", paths.len());
    let options = ThumbnailOptions { sizes: vec![32], ..ThumbnailOptions::default() };
    let mut runs = 0;
    for path in &paths {
        let bytes = std::fs::read(path).expect("read");
        for input in std::iter::once(bytes.clone()).chain(variants(&bytes)) {
            runs += 1;
            if let Err(error) = process_image(&input, &options, &Limits::default()) {
                assert!(
                    [
                        ErrorCode::UNSUPPORTED_FORMAT,
                        ErrorCode::CORRUPT_INPUT,
                        ErrorCode::TRUNCATED_INPUT,
                        ErrorCode::TOO_LARGE
                    ]
                    .contains(&error.code()),
                    "{}: {error}",
                    path.display()
                );
            }
        }
    }
    let _ = std::panic::take_hook();
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "panics in {runs} runs over {} files", paths.len());
}

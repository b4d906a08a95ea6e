//! Prints where the time goes for each JPEG given: raw libjpeg-turbo 1/8 decode, SHA-256, the
//! metadata-only path and the full 256 px thumbnail path. `cargo run --release --example stage_times -- FILE...`

use std::time::Instant;

use media_core::{Limits, ThumbnailOptions, process_image, read_metadata, sha256_hex};

fn millis<T>(runs: u32, mut f: impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(f());
    }
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() -> anyhow::Result<()> {
    let limits = Limits::default();
    let options = ThumbnailOptions { sizes: vec![256], ..ThumbnailOptions::default() };
    println!(
        "{:<40} {:>8} {:>9} {:>8} {:>9} {:>9}",
        "file", "MB", "tj 1/8", "sha256", "metadata", "thumb256"
    );
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        let header = turbojpeg::read_header(&bytes)?;
        let mut decompressor = turbojpeg::Decompressor::new()?;
        decompressor.set_scaling_factor(turbojpeg::ScalingFactor::ONE_EIGHTH)?;
        let scaled = header.scaled(turbojpeg::ScalingFactor::ONE_EIGHTH);
        let mut pixels = vec![0u8; scaled.width * scaled.height * 3];
        let decode = millis(5, || {
            let image = turbojpeg::Image {
                pixels: pixels.as_mut_slice(),
                width: scaled.width,
                pitch: scaled.width * 3,
                height: scaled.height,
                format: turbojpeg::PixelFormat::RGB,
            };
            decompressor.decompress(&bytes, image)
        });
        let sha = millis(5, || sha256_hex(&bytes));
        let metadata = millis(5, || read_metadata(&bytes, &limits));
        let thumbnail = millis(5, || process_image(&bytes, &options, &limits));
        let name = std::path::Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name:<40} {:>8.1} {decode:>7.1}ms {sha:>6.1}ms {metadata:>7.1}ms {thumbnail:>7.1}ms",
            bytes.len() as f64 / 1e6
        );
    }
    Ok(())
}

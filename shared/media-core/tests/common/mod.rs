//! Helpers shared by the media-core integration tests: test data paths and pixel comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

use image::{DynamicImage, RgbImage};

/// `tests/data/<relative>`.
pub fn data_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(relative)
}

/// The bytes of `tests/data/<relative>`.
pub fn data(relative: &str) -> Vec<u8> {
    let path = data_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A camera photo with an embedded preview, fetched by `make fixtures` into
/// `MEDIAFLOW_PREVIEW_PHOTOS` (default `~/.cache/mediaflow/preview-photos`; `make unit` fetches it
/// and sets the variable). Too large to commit, and one is GPL. Panics with the command that
/// fetches them when they are not there.
pub fn preview_photo(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("MEDIAFLOW_PREVIEW_PHOTOS")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/mediaflow/preview-photos")
        });
    assert!(
        dir.join(".complete").is_file(),
        "no preview photos in {} (MEDIAFLOW_PREVIEW_PHOTOS): run `make fixtures`, or scripts/fetch.py preview-photos={0}",
        dir.display()
    );
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Decodes an encoded image (a thumbnail) to RGB8 with an independent decoder (the `image` crate).
pub fn decode_rgb(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).expect("output decodes").to_rgb8()
}

/// Peak signal-to-noise ratio in dB between two same-sized RGB images (infinite when equal).
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "comparing images of different sizes");
    let sum: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    let mse = sum / a.as_raw().len() as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0 * 255.0 / mse).log10() }
}

/// Resizes `image` to `width`×`height` with a plain triangle filter, for comparing outputs whose
/// sizes differ by a rounding pixel.
pub fn resized(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    DynamicImage::ImageRgb8(image.clone())
        .resize_exact(width, height, image::imageops::FilterType::Triangle)
        .to_rgb8()
}

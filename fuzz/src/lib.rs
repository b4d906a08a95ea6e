//! What the fuzz targets share: every decoder the functions link (HEIF and AVIF included), and
//! small limits that keep each run fast and catch over-allocation.

use std::sync::LazyLock;

use media_core::{ImageDecoders, Limits};

/// The decoders of the `thumbnail` and `metadata` functions.
pub static DECODERS: LazyLock<ImageDecoders> = LazyLock::new(media_heif::image_decoders);

/// 4 MP at most, so that a run takes milliseconds.
pub static LIMITS: LazyLock<Limits> = LazyLock::new(|| Limits {
    max_pixels: 4_000_000,
    max_width: 8_000,
    max_height: 8_000,
    ..Limits::default()
});

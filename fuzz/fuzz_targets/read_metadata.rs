//! `read_metadata` with every decoder the functions link (HEIF and AVIF included): metadata or a
//! coded error, never a panic. Small limits keep each run fast and catch over-allocation.
#![no_main]

use std::sync::LazyLock;

use media_core::{ImageDecoders, Limits};

static DECODERS: LazyLock<ImageDecoders> = LazyLock::new(media_heif::image_decoders);
static LIMITS: LazyLock<Limits> = LazyLock::new(|| Limits {
    max_pixels: 4_000_000,
    max_width: 8_000,
    max_height: 8_000,
    ..Limits::default()
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(error) = DECODERS.read_metadata(data, &LIMITS) {
        assert!(!error.to_string().contains("panicked"), "{error}");
    }
});

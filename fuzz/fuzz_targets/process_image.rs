//! `process_image` (decode, resize, encode) with every decoder the functions link: thumbnails or a
//! coded error, never a panic (process_image's own catch_unwind would hide one, so its message is
//! checked too).
#![no_main]

use std::sync::LazyLock;

use media_core::ThumbnailOptions;
use mediaflow_fuzz::{DECODERS, LIMITS};

static OPTIONS: LazyLock<ThumbnailOptions> =
    LazyLock::new(|| ThumbnailOptions { sizes: vec![48, 96], ..ThumbnailOptions::default() });

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match DECODERS.process_image(data, &OPTIONS, &LIMITS) {
        Ok(processed) => assert_eq!(processed.thumbnails.len(), 2),
        Err(error) => assert!(!error.to_string().contains("panicked"), "{error}"),
    }
});

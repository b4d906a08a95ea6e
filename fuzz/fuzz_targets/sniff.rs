//! `sniff` on any bytes: a format or `None`, never a panic, never a read past the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(format) = media_core::sniff(data) {
        // A format's name and MIME type exist for whatever was sniffed.
        assert!(!format.name().is_empty() && !format.mime_type().is_empty());
    }
});

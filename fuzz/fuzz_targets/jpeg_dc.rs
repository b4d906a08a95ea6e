//! The DC-only 1/8-scale JPEG decode against libjpeg-turbo, the decoder it stands in for: whenever
//! the DC path takes an input, libjpeg-turbo must decode it too, at the same size, and no channel
//! may differ by more than 1. Anything the DC path refuses goes to libjpeg-turbo in production, so
//! refusing is always allowed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Both decoders get the header repairs production makes first (what libjpeg only warns about).
    let data = &*media_core::jpeg_segments::with_repaired_header(data);
    let Some(ours) = media_core::jpeg_dc::decode_eighth(data) else { return };
    let theirs = media_core::jpeg_dc::libjpeg_turbo_eighth(data)
        .expect("the DC path took a JPEG libjpeg-turbo refuses");
    assert_eq!(ours.dimensions(), theirs.dimensions());
    let worst = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
    assert!(worst <= 1, "a channel differs by {worst} from libjpeg-turbo's 1/8 decode");
});

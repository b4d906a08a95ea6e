//! The DC-only 1/8-scale JPEG decode against libjpeg-turbo, the decoder it stands in for: whenever
//! the DC path takes an input, libjpeg-turbo must decode it too, at the same size, and no channel
//! may differ by more than 1. Anything the DC path refuses goes to libjpeg-turbo in production, so
//! refusing is always allowed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Both decoders get the header repairs production makes first (what libjpeg only warns about).
    let data = &*media_core::jpeg_segments::with_repaired_header(data);
    let Some(ours) = media_core::jpeg_dc::decode_eighth(data) else { return };
    let mut decompressor = turbojpeg::Decompressor::new().expect("decompressor");
    let header = decompressor.read_header(data).expect("the DC path took a JPEG libjpeg-turbo cannot read");
    decompressor.set_scaling_factor(turbojpeg::ScalingFactor::ONE_EIGHTH).expect("1/8");
    let (width, height) = (header.width.div_ceil(8), header.height.div_ceil(8));
    assert_eq!((ours.width() as usize, ours.height() as usize), (width, height));
    let mut pixels = vec![0u8; width * height * 3];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    match decompressor.decompress(data, image) {
        // Bytes after the scan: libjpeg warns once every pixel is decoded; production accepts it.
        Err(turbojpeg::Error::TurboJpegError(message)) if message.contains("extraneous bytes") => {}
        result => result.expect("the DC path took a JPEG libjpeg-turbo refuses"),
    }
    let worst = ours.as_raw().iter().zip(&pixels).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
    assert!(worst <= 1, "a channel differs by {worst} from libjpeg-turbo's 1/8 decode");
});

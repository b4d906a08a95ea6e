//! Bad input must give the right typed error, never a panic and never a large allocation.

mod common;

use media_core::ErrorCode;
use media_core::{Limits, MediaError, ThumbnailOptions, process_image, read_metadata};

fn error_code(bytes: &[u8]) -> ErrorCode {
    match process_image(bytes, &ThumbnailOptions::default(), &Limits::default()) {
        Ok(_) => panic!("{} bytes were accepted", bytes.len()),
        Err(error) => error.code(),
    }
}

/// A deterministic pseudo-random byte stream (xorshift), so failures reproduce.
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    chunk.extend_from_slice(&hasher.finalize().to_be_bytes());
    chunk
}

/// A valid PNG signature and IHDR claiming `width`×`height` RGBA, with a few bytes of IDAT.
fn png_header_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1A\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A JPEG whose SOF0 claims `width`×`height`, with almost no image data.
fn jpeg_header_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    // SOF0: length 17, precision 8, height, width, 3 components.
    jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    jpeg.extend_from_slice(&height.to_be_bytes());
    jpeg.extend_from_slice(&width.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    // SOS for the three components, then a few bytes of "entropy-coded data".
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0x00, 0x3F, 0x00]);
    jpeg.extend_from_slice(&[0x12, 0x34, 0x56, 0xFF, 0xD9]);
    jpeg
}

fn gif_header_bomb() -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00]);
    gif.extend_from_slice(&[
        0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]);
    gif
}

#[test]
fn empty_and_random_bytes_are_unsupported() {
    assert_eq!(error_code(b""), ErrorCode::UNSUPPORTED_FORMAT);
    for seed in 1..20 {
        assert_eq!(error_code(&noise(4096, seed)), ErrorCode::UNSUPPORTED_FORMAT, "seed {seed}");
    }
}

#[test]
fn header_bombs_are_too_large_before_any_allocation() {
    for bomb in [png_header_bomb(100_000, 100_000), jpeg_header_bomb(65_000, 65_000), gif_header_bomb()] {
        let error = process_image(&bomb, &ThumbnailOptions::default(), &Limits::default()).expect_err("bomb");
        assert!(matches!(error, MediaError::TooLarge { .. }), "{error:?}");
    }
    // Just over the default 100 MP pixel-area limit, with each side under the width/height limit.
    let error = read_metadata(&png_header_bomb(10_001, 10_000), &Limits::default()).expect_err("over 100 MP");
    assert_eq!(error.code(), ErrorCode::TOO_LARGE);
}

#[test]
fn configured_limits_apply() {
    let small = Limits { max_input_bytes: 10, ..Limits::default() };
    let error = read_metadata(&png_header_bomb(10, 10), &small).expect_err("input over 10 bytes");
    assert_eq!(error.code(), ErrorCode::TOO_LARGE);
    let narrow = Limits { max_width: 9, ..Limits::default() };
    let error = read_metadata(&png_header_bomb(10, 10), &narrow).expect_err("wider than 9");
    assert_eq!(error.code(), ErrorCode::TOO_LARGE);
}

#[test]
fn videos_and_heif_are_recognised_but_not_images() {
    let mut mp4 = vec![0, 0, 0, 24];
    mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let error = process_image(&mp4, &ThumbnailOptions::default(), &Limits::default()).expect_err("video");
    assert!(matches!(
        error,
        MediaError::UnsupportedFormat { format: Some(media_core::MediaFormat::Mp4), .. }
    ));
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    assert_eq!(error_code(&heic), ErrorCode::UNSUPPORTED_FORMAT);
}

#[test]
fn every_prefix_and_corruption_of_a_real_jpeg_and_png_fails_cleanly() {
    for name in [
        "inputs/photo-camera.jpg",
        "inputs/png-rgba.png",
        "inputs/gif-animated.gif",
        "inputs/webp-lossy.webp",
    ] {
        let bytes = common::data(name);
        // Cut at many points: inside the signature, the header, and the compressed data (a PNG cut only
        // in its trailing IEND chunk still has every pixel, so the last cut is well inside the data).
        let cuts = [1usize, 3, 8, 20, 64, 200, bytes.len() / 4, bytes.len() / 2, bytes.len() * 9 / 10];
        for cut in cuts.into_iter().filter(|&cut| cut < bytes.len()) {
            match process_image(&bytes[..cut], &ThumbnailOptions::default(), &Limits::default()) {
                Ok(processed) => {
                    // libjpeg-turbo pads a truncated scan with grey and says so only as a warning; we
                    // must not accept truncated input silently.
                    panic!("{name} cut at {cut} of {} was accepted: {:?}", bytes.len(), processed.thumbnails)
                }
                Err(error) => assert!(
                    [ErrorCode::TRUNCATED_INPUT, ErrorCode::CORRUPT_INPUT, ErrorCode::UNSUPPORTED_FORMAT]
                        .contains(&error.code()),
                    "{name} cut at {cut}: {error:?}"
                ),
            }
        }
        // Flip bytes in the middle: damaged entropy data may still decode (JPEG has no checksum) or
        // fail with an input code, but must not reach a decoder panic, which process_image would
        // only catch and relabel (and which kills a process built with panic = "abort").
        let mut damaged = bytes.clone();
        for i in (damaged.len() / 3..damaged.len() * 2 / 3).step_by(97) {
            damaged[i] ^= 0x5A;
        }
        match process_image(&damaged, &ThumbnailOptions::default(), &Limits::default()) {
            Ok(processed) => assert!(!processed.thumbnails.is_empty(), "{name}: no thumbnails"),
            Err(error) => {
                assert!(
                    [ErrorCode::CORRUPT_INPUT, ErrorCode::TRUNCATED_INPUT].contains(&error.code()),
                    "{name}: {error:?}"
                );
                assert!(!error.to_string().contains("decoder panicked"), "{name}: {error}");
            }
        }
    }
}

#[test]
fn committed_bad_files_give_their_documented_codes() {
    let expectations = [
        ("bad/empty.bin", ErrorCode::UNSUPPORTED_FORMAT),
        ("bad/random.bin", ErrorCode::UNSUPPORTED_FORMAT),
        ("bad/text-as.jpg", ErrorCode::UNSUPPORTED_FORMAT),
        ("bad/pdf-as.png", ErrorCode::UNSUPPORTED_FORMAT),
        ("bad/png-header-bomb.png", ErrorCode::TOO_LARGE),
        ("bad/jpeg-header-bomb.jpg", ErrorCode::TOO_LARGE),
        ("bad/gif-header-bomb.gif", ErrorCode::TOO_LARGE),
    ];
    for (name, code) in expectations {
        assert_eq!(error_code(&common::data(name)), code, "{name}");
    }
    for entry in std::fs::read_dir(common::data_path("bad")).expect("bad/ exists") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.starts_with("truncated-") {
            let code = error_code(&std::fs::read(&path).expect("read"));
            assert!([ErrorCode::TRUNCATED_INPUT, ErrorCode::CORRUPT_INPUT].contains(&code), "{name}: {code}");
        }
    }
}

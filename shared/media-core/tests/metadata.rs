//! Metadata of real files: EXIF and GPS, ICC, animation, colour, hashes and placeholders.

mod common;

use common::data;
use media_core::ErrorCode;
use media_core::{ColorModel, Limits, MediaFormat, read_metadata, sha256_hex};

fn metadata(name: &str) -> media_core::ImageMetadata {
    read_metadata(&data(&format!("inputs/{name}")), &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn colour_models_and_bit_depths() {
    let cases = [
        ("png-rgb.png", ColorModel::Rgb, 8, false),
        ("png-rgba.png", ColorModel::Rgba, 8, true),
        ("png-gray.png", ColorModel::Gray, 8, false),
        ("png-gray16.png", ColorModel::Gray, 16, false),
        ("png-rgb16.png", ColorModel::Rgb, 16, false),
        ("png-palette.png", ColorModel::Palette, 8, true),
        ("jpeg-gray.jpg", ColorModel::Gray, 8, false),
        ("jpeg-cmyk.jpg", ColorModel::Cmyk, 8, false),
        ("tiff-lab.tif", ColorModel::Lab, 8, false),
        ("tiff-signed16.tif", ColorModel::Gray, 16, false),
        ("photo-camera.jpg", ColorModel::Rgb, 8, false),
    ];
    for (name, color_model, bit_depth, has_alpha) in cases {
        let metadata = metadata(name);
        assert_eq!(
            (metadata.color_model, metadata.bit_depth, metadata.has_alpha),
            (color_model, bit_depth, has_alpha),
            "{name}"
        );
    }
}

#[test]
fn animations_report_their_frame_count() {
    for (name, format) in [
        ("gif-animated.gif", MediaFormat::Gif),
        ("webp-animated.webp", MediaFormat::Webp),
        ("apng-animated.png", MediaFormat::Png),
    ] {
        let metadata = metadata(name);
        assert_eq!(metadata.format, format);
        assert!(metadata.animated && metadata.frame_count >= 3, "{name}: {} frames", metadata.frame_count);
    }
    let still = metadata("gif-static.gif");
    assert!(!still.animated);
    assert_eq!(still.frame_count, 1);
}

#[test]
fn hashes_and_placeholders() {
    let bytes = data("inputs/photo-camera.jpg");
    let metadata = read_metadata(&bytes, &Limits::default()).expect("metadata");
    assert_eq!(metadata.sha256, sha256_hex(&bytes));
    assert_eq!(metadata.sha256.len(), 64);
    assert_eq!(metadata.perceptual_hash.len(), 16);
    assert!(metadata.perceptual_hash.chars().all(|c| c.is_ascii_hexdigit()));
    // A 4x3-component BlurHash is 28 characters.
    assert_eq!(metadata.blurhash.len(), 28, "{}", metadata.blurhash);
    assert!(metadata.dominant_color.starts_with('#') && metadata.dominant_color.len() == 7);
}

fn hamming(a: &str, b: &str) -> u32 {
    let a = u64::from_str_radix(a, 16).expect("hex");
    let b = u64::from_str_radix(b, 16).expect("hex");
    (a ^ b).count_ones()
}

#[test]
fn perceptual_hash_finds_near_duplicates_and_tells_different_photos_apart() {
    // The same photo re-encoded and re-oriented: near; a different photo: far.
    let reference = metadata("orientation/orient-1.jpg").perceptual_hash;
    for orientation in 2..=8 {
        let other = metadata(&format!("orientation/orient-{orientation}.jpg")).perceptual_hash;
        assert!(hamming(&reference, &other) <= 8, "orientation {orientation}: {reference} vs {other}");
    }
    let different = metadata("png-rgb.png").perceptual_hash;
    assert!(hamming(&reference, &different) > 12, "{reference} vs {different}");
}

#[test]
fn camera_exif_gps_and_icc_fields() {
    let camera = metadata("photo-camera.jpg");
    let exif = camera.exif.expect("the Canon photo has EXIF");
    assert_eq!(exif.make.as_deref(), Some("Canon"));
    assert_eq!(exif.model.as_deref(), Some("Canon PowerShot S40"));
    assert_eq!(exif.date_time_original.as_deref(), Some("2003-12-14T12:01:44"));
    assert_eq!(exif.exposure_time_s, Some(0.002));
    assert_eq!(exif.f_number, Some(4.9));
    assert_eq!(exif.focal_length_mm, Some(21.3125));
    assert!(exif.gps.is_none());

    let gps = metadata("photo-gps.jpg").exif.and_then(|exif| exif.gps).expect("GPS");
    // 54° 59' 22.80" N, 1° 54' 51.00" W.
    assert!((gps.latitude - 54.989_666).abs() < 1e-5, "{gps:?}");
    assert!((gps.longitude + 1.914_166).abs() < 1e-5, "{gps:?}");

    assert_eq!(metadata("jpeg-icc.jpg").icc_profile.as_deref(), Some("sRGB IEC61966-2.1"));
    assert_eq!(camera.icc_profile, None);
}

#[test]
fn sniffing_recognises_every_container_from_its_bytes() {
    let cases = [
        ("photo-camera.jpg", MediaFormat::Jpeg),
        ("png-rgb.png", MediaFormat::Png),
        ("gif-static.gif", MediaFormat::Gif),
        ("webp-lossy.webp", MediaFormat::Webp),
        ("tiff-rgb.tif", MediaFormat::Tiff),
        ("bmp-rgb.bmp", MediaFormat::Bmp),
        ("heic-photo.heic", MediaFormat::Heif),
        ("avif-photo.avif", MediaFormat::Avif),
        ("video/clip.mp4", MediaFormat::Mp4),
        ("video/clip.mov", MediaFormat::Mov),
        ("video/clip.mkv", MediaFormat::Matroska),
        ("video/clip.webm", MediaFormat::Webm),
        ("video/clip.avi", MediaFormat::Avi),
        ("video/clip.ts", MediaFormat::MpegTs),
        ("audio/mp3-id3.mp3", MediaFormat::Mp3),
        ("audio/mp3-frames.mp3", MediaFormat::Mp3),
        ("audio/wav-pcm.wav", MediaFormat::Wav),
        ("audio/flac-stereo.flac", MediaFormat::Flac),
        ("audio/ogg-vorbis.ogg", MediaFormat::Ogg),
        ("audio/ogg-opus.opus", MediaFormat::Ogg),
        ("audio/m4a-aac.m4a", MediaFormat::M4a),
        ("audio/aac-adts.aac", MediaFormat::Aac),
    ];
    for (name, format) in cases {
        let bytes = data(&format!("inputs/{name}"));
        // A prefix is enough: the pipeline sniffs a ranged GET of the first bytes.
        let prefix = &bytes[..bytes.len().min(media_core::SNIFF_LEN)];
        assert_eq!(media_core::sniff(prefix), Some(format), "{name}");
    }
    for name in ["heic-photo.heic", "avif-photo.avif", "audio/mp3-id3.mp3", "audio/wav-pcm.wav"] {
        let error = read_metadata(&data(&format!("inputs/{name}")), &Limits::default()).expect_err(name);
        assert_eq!(error.code(), ErrorCode::UNSUPPORTED_FORMAT);
    }
}

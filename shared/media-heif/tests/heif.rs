//! HEIF and AVIF on real encoder output (libheif's heif-enc with x265, libavif's avifenc with aom;
//! see media-core's tests/data/SOURCES.md), compared with the upright original or with an
//! independent decode by heif-convert.

use std::path::PathBuf;

use image::{DynamicImage, RgbImage};
use media_core::{
    ColorModel, ErrorCode, ImageDecoders, Limits, LinkedDecoder, MediaFormat, ThumbnailOptions,
};
use media_heif::HeifDecoder;

fn data(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../media-core/tests/data").join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn png(relative: &str) -> DynamicImage {
    image::load_from_memory(&data(relative)).expect("golden decodes")
}

/// Decodes `relative` with the HEIF decoder alone, as the core would hand it over.
fn decode(relative: &str) -> DynamicImage {
    let bytes = data(relative);
    let decoder = HeifDecoder::new();
    let format = media_core::sniff(&bytes).expect("sniffed");
    let header = decoder.read_header(&bytes, format, &Limits::default()).expect("header");
    let decoded = decoder.decode(&bytes, &header, &Limits::default()).expect("decodes");
    assert_eq!((decoded.image.width(), decoded.image.height()), (header.width, header.height));
    decoded.image
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "same size");
    let mse =
        a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0 * 255.0 / mse).log10() }
}

fn rgb_psnr(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()), "same dimensions");
    psnr(a.to_rgb8().as_raw(), b.to_rgb8().as_raw())
}

#[test]
fn every_rotation_and_mirroring_comes_out_upright() {
    let upright = png("inputs/orientation/upright.png");
    for n in 1..=8 {
        let decoded = decode(&format!("inputs/heif/avif-orient-{n}.avif"));
        let quality = rgb_psnr(&decoded, &upright);
        assert!(quality > 30.0, "avif-orient-{n}: {quality:.1} dB against the upright original");
    }
}

#[test]
fn exif_orientation_inside_heif_is_not_applied_a_second_time() {
    // irot already turns the stored 160x240 pixels upright; the EXIF says "rotate 90° CW" too.
    let bytes = data("inputs/heif/avif-irot-exif6.avif");
    let decoded = decode("inputs/heif/avif-irot-exif6.avif");
    assert!(rgb_psnr(&decoded, &png("inputs/orientation/upright.png")) > 30.0);
    let metadata = media_heif::image_decoders().read_metadata(&bytes, &Limits::default()).expect("metadata");
    assert_eq!((metadata.display_width, metadata.display_height), (240, 160));
    assert_eq!(metadata.orientation, 1);
    let exif = metadata.exif.expect("the file's EXIF is read");
    assert_eq!(exif.make.as_deref(), Some("Canon"));
}

#[test]
fn grid_images_are_assembled() {
    let decoded = decode("inputs/heif/avif-grid.avif");
    assert!(rgb_psnr(&decoded, &png("inputs/orientation/upright.png")) > 30.0);
}

#[test]
fn decodes_match_heif_convert() {
    for name in ["heic-exif-gps.heic", "heic-10bit.heic", "avif-10bit.avif", "avif-gray.avif"] {
        let decoded = decode(&format!("inputs/heif/{name}"));
        let golden = png(&format!("golden/heif/{name}.png"));
        let quality = rgb_psnr(&decoded, &golden);
        assert!(quality > 40.0, "{name}: {quality:.1} dB against heif-convert");
    }
    for name in ["heic-alpha.heic", "avif-alpha.avif"] {
        let decoded = decode(&format!("inputs/heif/{name}"));
        let golden = png(&format!("golden/heif/{name}.png"));
        assert!(matches!(decoded, DynamicImage::ImageRgba8(_)), "{name} keeps its alpha");
        let alpha = |image: &DynamicImage| image.to_rgba8().pixels().map(|p| p[3]).collect::<Vec<_>>();
        let alpha_quality = psnr(&alpha(&decoded), &alpha(&golden));
        assert!(alpha_quality > 40.0, "{name}: alpha {alpha_quality:.1} dB against heif-convert");
        let quality = psnr(decoded.to_rgba8().as_raw(), golden.to_rgba8().as_raw());
        assert!(quality > 40.0, "{name}: {quality:.1} dB against heif-convert");
    }
}

#[test]
fn metadata_reports_depth_alpha_colour_and_exif() {
    let images = media_heif::image_decoders();
    let read = |name: &str| {
        images.read_metadata(&data(&format!("inputs/heif/{name}")), &Limits::default()).expect(name)
    };
    let photo = read("heic-exif-gps.heic");
    assert_eq!(photo.format, MediaFormat::Heif);
    assert_eq!((photo.bit_depth, photo.color_model, photo.has_alpha), (8, ColorModel::Rgb, false));
    let exif = photo.exif.expect("EXIF from the HEIF metadata item");
    assert_eq!(exif.make.as_deref(), Some("Canon"));
    let gps = exif.gps.expect("GPS");
    assert!((gps.latitude - 54.9897).abs() < 0.001 && (gps.longitude + 1.9142).abs() < 0.001, "{gps:?}");

    assert_eq!(read("heic-10bit.heic").bit_depth, 10);
    assert_eq!(read("avif-10bit.avif").bit_depth, 10);
    let alpha = read("avif-alpha.avif");
    assert_eq!(
        (alpha.format, alpha.color_model, alpha.has_alpha),
        (MediaFormat::Avif, ColorModel::Rgba, true)
    );
    assert_eq!(read("avif-gray.avif").color_model, ColorModel::Gray);
}

#[test]
fn display_p3_is_converted_to_srgb() {
    // The same coded pixels, declared Display P3 and sRGB: converted, P3's are more saturated.
    let saturation = |image: &RgbImage| {
        image
            .pixels()
            .map(|p| f64::from(p.0.iter().max().unwrap_or(&0) - p.0.iter().min().unwrap_or(&0)))
            .sum::<f64>()
            / f64::from(image.width() * image.height())
    };
    let p3 = decode("inputs/heif/avif-p3.avif").to_rgb8();
    let srgb = decode("inputs/heif/avif-srgb.avif").to_rgb8();
    let (p3_saturation, srgb_saturation) = (saturation(&p3), saturation(&srgb));
    assert!(p3_saturation > srgb_saturation * 1.05, "P3 {p3_saturation:.1} vs sRGB {srgb_saturation:.1}");
}

#[test]
fn thumbnails_are_made_from_heic() {
    let options = ThumbnailOptions { sizes: vec![64, 128], ..ThumbnailOptions::default() };
    let processed = media_heif::image_decoders()
        .process_image(&data("inputs/heif/heic-exif-gps.heic"), &options, &Limits::default())
        .expect("processes");
    let sizes: Vec<_> = processed.thumbnails.iter().map(|t| (t.size, t.width.max(t.height))).collect();
    assert_eq!(sizes, vec![(64, 64), (128, 128)]);
    let thumbnail = image::load_from_memory(&processed.thumbnails[1].bytes).expect("a JPEG");
    let golden =
        png("golden/heif/heic-exif-gps.heic.png").thumbnail_exact(thumbnail.width(), thumbnail.height());
    assert!(rgb_psnr(&thumbnail, &golden) > 25.0);
}

#[test]
fn broken_files_get_coded_errors() {
    let images = media_heif::image_decoders();
    for (name, codes) in [
        ("truncated-heic-exif-gps.heic", &[ErrorCode::TRUNCATED_INPUT, ErrorCode::CORRUPT_INPUT][..]),
        ("truncated-heic-header.heic", &[ErrorCode::TRUNCATED_INPUT, ErrorCode::CORRUPT_INPUT]),
        // Zeroed coded data: libde265 reads zero-length units and runs out of data.
        ("corrupt-heic-mdat.heic", &[ErrorCode::CORRUPT_INPUT, ErrorCode::TRUNCATED_INPUT]),
        ("truncated-avif-alpha.avif", &[ErrorCode::TRUNCATED_INPUT, ErrorCode::CORRUPT_INPUT]),
    ] {
        let error = images
            .process_image(
                &data(&format!("bad/heif/{name}")),
                &ThumbnailOptions::default(),
                &Limits::default(),
            )
            .expect_err(name);
        assert!(codes.contains(&error.code()), "{name}: {} ({error})", error.code());
        assert!(!error.to_string().contains("panicked"), "{name}: {error}");
    }
}

#[test]
fn limits_apply_before_decoding() {
    let small = Limits { max_pixels: 100 * 100, ..Limits::default() };
    let error = media_heif::image_decoders()
        .process_image(&data("inputs/heif/heic-exif-gps.heic"), &ThumbnailOptions::default(), &small)
        .expect_err("over the pixel limit");
    assert_eq!(error.code(), ErrorCode::TOO_LARGE);
}

#[test]
fn without_the_linked_decoder_heif_is_unsupported() {
    let bytes = data("inputs/heif/heic-exif-gps.heic");
    let error = ImageDecoders::default().read_metadata(&bytes, &Limits::default()).expect_err("no libheif");
    assert_eq!(error.code(), ErrorCode::UNSUPPORTED_FORMAT);
    assert!(!ImageDecoders::default().decodes(MediaFormat::Heif));
    assert!(media_heif::image_decoders().decodes(MediaFormat::Avif));
}

#[test]
fn cut_and_damaged_heif_fail_with_codes() {
    // libheif and its decoders are C and C++: a bad file must come back as a coded error, and must
    // not crash this process (which would fail the whole test binary).
    let images = media_heif::image_decoders();
    let options = ThumbnailOptions { sizes: vec![32], ..ThumbnailOptions::default() };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../media-core/tests/data/inputs/heif");
    for entry in std::fs::read_dir(&dir).expect("inputs/heif").flatten() {
        let bytes = std::fs::read(entry.path()).expect("read");
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut variants: Vec<Vec<u8>> =
            (1..16).map(|sixteenth| bytes[..bytes.len() * sixteenth / 16].to_vec()).collect();
        for stride in [13usize, 101] {
            let mut damaged = bytes.clone();
            for i in (damaged.len() / 3..damaged.len()).step_by(stride) {
                damaged[i] ^= 0xA5;
            }
            variants.push(damaged);
        }
        for (i, variant) in variants.iter().enumerate() {
            if let Err(error) = images.process_image(variant, &options, &Limits::default()) {
                let code = error.code();
                let expected = [
                    ErrorCode::CORRUPT_INPUT,
                    ErrorCode::TRUNCATED_INPUT,
                    ErrorCode::UNSUPPORTED_FORMAT,
                    ErrorCode::TOO_LARGE,
                ];
                assert!(expected.contains(&code), "{name} variant {i}: {error}");
                assert!(!error.to_string().contains("panicked"), "{name} variant {i}: {error}");
            }
        }
    }
}

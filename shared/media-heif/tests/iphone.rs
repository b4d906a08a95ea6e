//! Real iPhone photos: 12 MP HEIC in grid tiles with a Display P3 profile, depth and EXIF with GPS,
//! and one stored sideways with both `irot` and an EXIF orientation. Too large to commit, they are
//! fetched from pillow-heif's sdist by `make fixtures` into the folder named by
//! `MEDIAFLOW_SAMPLE_PHOTOS` (`make unit` does both).

use std::path::PathBuf;

use image::DynamicImage;
use media_core::{ImageMetadata, Limits, ProcessedImage, ThumbnailOptions};

fn photo(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("MEDIAFLOW_SAMPLE_PHOTOS").unwrap_or_else(|| {
        panic!(
            "MEDIAFLOW_SAMPLE_PHOTOS is not set: run `make unit`, or \
             scripts/fetch.py sample-photos=DIR and MEDIAFLOW_SAMPLE_PHOTOS=DIR cargo test"
        )
    });
    let path = PathBuf::from(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (`make fixtures` fetches it)", path.display()))
}

fn golden(name: &str) -> DynamicImage {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../media-core/tests/data/golden/heif").join(name);
    image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn process(name: &str) -> ProcessedImage {
    let options = ThumbnailOptions { sizes: vec![256, 1024], ..ThumbnailOptions::default() };
    media_heif::image_decoders().process_image(&photo(name), &options, &Limits::default()).expect(name)
}

/// PSNR of our 256 px thumbnail against vipsthumbnail's (libvips with Debian's libheif), in dB.
fn psnr_against_vips(processed: &ProcessedImage, golden_name: &str) -> f64 {
    let ours = image::load_from_memory(&processed.thumbnails[0].bytes).expect("a JPEG").to_rgb8();
    let reference = golden(golden_name).to_rgb8();
    assert_eq!(ours.dimensions(), reference.dimensions(), "{golden_name}: same thumbnail size as vips");
    let mse = ours
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum::<f64>()
        / ours.as_raw().len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

fn dimensions(metadata: &ImageMetadata) -> (u32, u32, u32, u32) {
    (metadata.width, metadata.height, metadata.display_width, metadata.display_height)
}

#[test]
fn iphone_grid_photo_with_gps() {
    let processed = process("iphone13-grid-gps.heic");
    let metadata = &processed.metadata;
    assert_eq!(dimensions(metadata), (4032, 3024, 4032, 3024));
    assert_eq!(metadata.icc_profile.as_deref(), Some("Display P3"));
    let exif = metadata.exif.as_ref().expect("EXIF");
    assert_eq!((exif.make.as_deref(), exif.model.as_deref()), (Some("Apple"), Some("iPhone 13 Pro")));
    assert_eq!(exif.date_time_original.as_deref(), Some("2023-02-21T14:33:08+03:00"));
    let gps = exif.gps.expect("GPS");
    assert!((gps.latitude - 44.8505).abs() < 1e-3 && (gps.longitude - 34.9766).abs() < 1e-3, "{gps:?}");
    let sizes: Vec<_> = processed.thumbnails.iter().map(|t| (t.width, t.height)).collect();
    assert_eq!(sizes, vec![(256, 192), (1024, 768)]);
    let quality = psnr_against_vips(&processed, "iphone13-grid-gps.heic.png");
    assert!(quality > 30.0, "{quality:.1} dB against vipsthumbnail");
}

#[test]
fn iphone_photo_with_irot_and_exif_orientation_is_rotated_once() {
    let processed = process("iphone8-rotated.heic");
    // Stored 4032x3024; irot 270° makes it portrait. The EXIF orientation (6) says the same thing
    // again and is not applied: that would turn it back to landscape.
    assert_eq!(dimensions(&processed.metadata), (3024, 4032, 3024, 4032));
    assert_eq!(processed.metadata.orientation, 1);
    let sizes: Vec<_> = processed.thumbnails.iter().map(|t| (t.width, t.height)).collect();
    assert_eq!(sizes, vec![(192, 256), (768, 1024)]);
    let quality = psnr_against_vips(&processed, "iphone8-rotated.heic.png");
    assert!(quality > 30.0, "{quality:.1} dB against vipsthumbnail");
}

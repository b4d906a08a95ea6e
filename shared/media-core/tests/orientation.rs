//! EXIF orientation: all eight values give the same upright thumbnail.

mod common;

use common::{data, decode_rgb, psnr};
use media_core::{Limits, ThumbnailOptions, process_image};

#[test]
fn all_eight_orientations_come_out_upright() {
    let upright =
        image::open(common::data_path("inputs/orientation/upright.png")).expect("reference").to_rgb8();
    let options = ThumbnailOptions { sizes: vec![128], ..ThumbnailOptions::default() };
    for orientation in 1..=8u8 {
        let bytes = data(&format!("inputs/orientation/orient-{orientation}.jpg"));
        let processed = process_image(&bytes, &options, &Limits::default()).expect("process");
        let metadata = &processed.metadata;
        assert_eq!(metadata.orientation, orientation);
        assert_eq!(
            (metadata.display_width, metadata.display_height),
            upright.dimensions(),
            "orientation {orientation}"
        );
        if orientation >= 5 {
            assert_eq!((metadata.width, metadata.height), (upright.height(), upright.width()));
        }
        let thumbnail = decode_rgb(&processed.thumbnails[0].bytes);
        let reference = common::resized(&upright, thumbnail.width(), thumbnail.height());
        let score = psnr(&thumbnail, &reference);
        assert!(score > 25.0, "orientation {orientation}: PSNR {score:.1} dB against the upright reference");
        // A wrong rotation or mirror of an asymmetric photo scores far lower: make sure the check can fail.
        let mirrored = image::imageops::flip_horizontal(&reference);
        assert!(
            psnr(&thumbnail, &mirrored) < score - 3.0,
            "orientation {orientation}: the test photo is too symmetric"
        );
    }
}

#[test]
fn webp_and_png_exif_with_a_jpeg_style_header_still_rotate() {
    // Their EXIF chunk starts with "Exif\0\0" before the TIFF structure, as some writers make it.
    let upright =
        image::open(common::data_path("inputs/orientation/upright.png")).expect("reference").to_rgb8();
    let options = ThumbnailOptions { sizes: vec![128], ..ThumbnailOptions::default() };
    for name in ["orient-6-exif-header.webp", "orient-6-exif-header.png"] {
        let bytes = data(&format!("inputs/orientation/{name}"));
        let processed = process_image(&bytes, &options, &Limits::default()).expect(name);
        assert_eq!(processed.metadata.orientation, 6, "{name}");
        let thumbnail = decode_rgb(&processed.thumbnails[0].bytes);
        assert_eq!(thumbnail.dimensions(), (128, 85), "{name}: landscape once rotated");
        let score = psnr(&thumbnail, &common::resized(&upright, 128, 85));
        assert!(score > 25.0, "{name}: PSNR {score:.1} dB against the upright reference");
    }
}

#[test]
fn render_upright_turns_every_orientation_upright_within_the_box() {
    // What the moderation classifiers see: the same upright picture whatever the EXIF orientation.
    let upright =
        image::open(common::data_path("inputs/orientation/upright.png")).expect("reference").to_rgb8();
    for orientation in 1..=8u8 {
        let bytes = data(&format!("inputs/orientation/orient-{orientation}.jpg"));
        let rendered = media_core::ImageDecoders::default()
            .render_upright(&bytes, &Limits::default(), 96)
            .expect("render");
        assert!(rendered.width().max(rendered.height()) == 96, "orientation {orientation}");
        let reference = common::resized(&upright, rendered.width(), rendered.height());
        let score = psnr(&rendered, &reference);
        assert!(score > 25.0, "orientation {orientation}: PSNR {score:.1} dB against the upright reference");
        let mirrored = image::imageops::flip_horizontal(&reference);
        assert!(psnr(&rendered, &mirrored) < score - 3.0, "orientation {orientation}");
    }
    // Never enlarged: a box larger than the image gives the image's own upright size.
    let bytes = data("inputs/orientation/orient-6.jpg");
    let rendered = media_core::ImageDecoders::default()
        .render_upright(&bytes, &Limits::default(), 10_000)
        .expect("render");
    assert_eq!(rendered.dimensions(), upright.dimensions());
}

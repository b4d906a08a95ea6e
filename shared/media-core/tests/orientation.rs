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

//! Thumbnails from a camera's embedded preview (a Multi-Picture Format "large thumbnail"), on real
//! files: a Sony whose full-HD preview must serve 1024 px thumbnails and match the ones made from
//! its 24 MP main image; an edited Nikon and a stereo pair whose second images must never serve;
//! cut and corrupted variants that must fall back to the main image or fail cleanly; and JPEGs
//! without an index, which must come out exactly as they do with previews turned off.

mod common;

use common::{data, decode_rgb, preview_photo, psnr};
use media_core::ErrorCode;
use media_core::{
    EmbeddedPreviews, ImageDecoders, Limits, MediaError, ProcessedImage, ThumbnailOptions, ThumbnailSource,
    geometry::fit_within,
};
use proptest::prelude::*;

const SONY_PREVIEW: ThumbnailSource = ThumbnailSource::EmbeddedPreview { width: 1616, height: 1080 };

/// Where the Sony's preview starts (its MPF entry 1; 1112 zero bytes after the main image's end).
const SONY_PREVIEW_START: usize = 5_969_920;

fn process(bytes: &[u8], sizes: &[u32], previews: EmbeddedPreviews) -> Result<ProcessedImage, MediaError> {
    let options = ThumbnailOptions { sizes: sizes.to_vec(), ..ThumbnailOptions::default() };
    ImageDecoders::default().with_embedded_previews(previews).process_image(
        bytes,
        &options,
        &Limits::default(),
    )
}

fn processed(bytes: &[u8], sizes: &[u32], previews: EmbeddedPreviews) -> ProcessedImage {
    process(bytes, sizes, previews).unwrap_or_else(|e| panic!("{sizes:?} {previews:?}: {e}"))
}

fn thumbnail_bytes(processed: &ProcessedImage) -> Vec<&[u8]> {
    processed.thumbnails.iter().map(|thumbnail| thumbnail.bytes.as_slice()).collect()
}

fn sony() -> Vec<u8> {
    preview_photo("sony-ilce6000.jpg")
}

fn u16_le(bytes: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

fn u32_le(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
}

/// Where the entry (12 bytes) of `tag` is in the little-endian IFD at `tiff + offset`.
fn ifd_entry(bytes: &[u8], tiff: usize, ifd_offset: usize, tag: usize) -> usize {
    let ifd = tiff + ifd_offset;
    (0..u16_le(bytes, ifd)).map(|i| ifd + 2 + 12 * i).find(|&at| u16_le(bytes, at) == tag).expect("the tag")
}

/// Where the Sony's MP Entry tag is in its MPF index (its table's offset at +8), and where its
/// entry `n` is (attribute, then size at +4, offset at +8): found by walking the structure
/// independently of the code under test.
fn sony_mpf_entry(sony: &[u8], n: usize) -> (usize, usize) {
    let signature = sony[..64 * 1024].windows(4).position(|w| w == b"MPF\0").expect("an MPF segment");
    let tiff = signature + 4;
    let tag = ifd_entry(sony, tiff, u32_le(sony, tiff + 4), 0xB002);
    (tag, tiff + u32_le(sony, tag + 8) + 16 * n)
}

fn with_u32(bytes: &[u8], at: usize, value: u32) -> Vec<u8> {
    let mut copy = bytes.to_vec();
    copy[at..at + 4].copy_from_slice(&value.to_le_bytes());
    copy
}

#[test]
fn the_sony_preview_serves_1024_px_and_matches_the_main_image() {
    let sony = sony();
    let via_preview = processed(&sony, &[1024], EmbeddedPreviews::WhenSafe);
    let via_main = processed(&sony, &[1024], EmbeddedPreviews::Never);
    assert_eq!(via_preview.metadata.thumbnail_source, SONY_PREVIEW);
    assert_eq!(via_preview.metadata.embedded_preview_declined, None);
    assert_eq!(via_main.metadata.thumbnail_source, ThumbnailSource::MainImage);
    assert_eq!(via_main.metadata.embedded_preview_declined, None, "turned off: nothing was considered");

    // The same size as from the main image: 6000x4000 fitted, not the preview's 1616x1080.
    let (ours, reference) = (&via_preview.thumbnails[0], &via_main.thumbnails[0]);
    assert_eq!((ours.width, ours.height), (1024, 683));
    assert_eq!((reference.width, reference.height), (1024, 683));
    let score = psnr(&decode_rgb(&ours.bytes), &decode_rgb(&reference.bytes));
    println!("sony 1024 px: preview vs main image thumbnail PSNR {score:.2} dB");
    assert!(score >= 30.0, "PSNR {score:.2} dB between the preview's thumbnail and the main image's");

    // The rest of the record describes the main image either way.
    let (a, b) = (&via_preview.metadata, &via_main.metadata);
    assert_eq!((a.width, a.height, a.display_width, a.orientation), (6000, 4000, 6000, 1));
    assert_eq!((a.width, a.height, &a.exif, &a.sha256), (b.width, b.height, &b.exif, &b.sha256));
    let hash = |hex: &str| u64::from_str_radix(hex, 16).expect("hex");
    let distance = (hash(&a.perceptual_hash) ^ hash(&b.perceptual_hash)).count_ones();
    println!("sony perceptual hash distance preview vs main image: {distance} bits of 64");
    assert!(
        distance <= 4,
        "perceptual hashes {} and {} are {distance} bits apart",
        a.perceptual_hash,
        b.perceptual_hash
    );

    let json = serde_json::to_value(&via_preview.metadata).expect("serialises");
    assert_eq!(
        json["thumbnail_source"],
        serde_json::json!({"kind": "embedded-preview", "width": 1616, "height": 1080})
    );
    assert!(json.get("embedded_preview_declined").is_none());
    let json = serde_json::to_value(&via_main.metadata).expect("serialises");
    assert_eq!(json["thumbnail_source"], serde_json::json!({"kind": "main-image"}));
    // Records stored before the field existed read as the main image.
    let mut old = json.clone();
    old.as_object_mut().expect("an object").remove("thumbnail_source");
    let old: media_core::ImageMetadata = serde_json::from_value(old).expect("deserialises");
    assert_eq!(old.thumbnail_source, ThumbnailSource::MainImage);
}

#[test]
fn the_sony_preview_serves_the_metadata_job_and_several_sizes_in_one_decode() {
    let sony = sony();
    let metadata = ImageDecoders::default().read_metadata(&sony, &Limits::default()).expect("metadata");
    assert_eq!(metadata.thumbnail_source, SONY_PREVIEW);
    let processed = processed(&sony, &[64, 1024, 256, 1616], EmbeddedPreviews::WhenSafe);
    assert_eq!(processed.metadata.thumbnail_source, SONY_PREVIEW);
    let sizes: Vec<(u32, u32, u32)> =
        processed.thumbnails.iter().map(|t| (t.size, t.width, t.height)).collect();
    assert_eq!(sizes, vec![(64, 64, 43), (1024, 1024, 683), (256, 256, 171), (1616, 1616, 1077)]);
}

#[test]
fn sizes_larger_than_the_preview_decode_the_main_image() {
    let sony = sony();
    for sizes in [&[2048][..], &[256, 2048], &[1617]] {
        let processed = processed(&sony, sizes, EmbeddedPreviews::WhenSafe);
        assert_eq!(processed.metadata.thumbnail_source, ThumbnailSource::MainImage, "{sizes:?}");
        assert_eq!(processed.metadata.embedded_preview_declined.as_deref(), Some("preview-too-small"));
        for thumbnail in &processed.thumbnails {
            assert_eq!((thumbnail.width, thumbnail.height), fit_within(6000, 4000, thumbnail.size));
        }
    }
}

/// The main image's EXIF says orientation 6 (stored sideways): the preview, stored like the main
/// image and declaring no orientation of its own, is turned the same way.
#[test]
fn the_main_image_orientation_applies_to_the_preview() {
    let sony = sony();
    let tiff = 12; // SOI, APP1 marker and length, "Exif\0\0"
    assert_eq!(&sony[tiff..tiff + 4], b"II*\0");
    let orientation = ifd_entry(&sony, tiff, u32_le(&sony, tiff + 4), 0x0112);
    let mut sideways = sony.clone();
    sideways[orientation + 8..orientation + 10].copy_from_slice(&6u16.to_le_bytes());
    let via_preview = processed(&sideways, &[1024], EmbeddedPreviews::WhenSafe);
    let via_main = processed(&sideways, &[1024], EmbeddedPreviews::Never);
    assert_eq!(via_preview.metadata.thumbnail_source, SONY_PREVIEW);
    assert_eq!((via_preview.metadata.display_width, via_preview.metadata.display_height), (4000, 6000));
    let (ours, reference) = (&via_preview.thumbnails[0], &via_main.thumbnails[0]);
    assert_eq!((ours.width, ours.height), (683, 1024));
    let score = psnr(&decode_rgb(&ours.bytes), &decode_rgb(&reference.bytes));
    assert!(score >= 30.0, "PSNR {score:.2} dB, turned differently?");
}

#[test]
fn the_edited_nikon_never_uses_its_previews() {
    let nikon = preview_photo("nikon-d5300-edited.jpg");
    for sizes in [&[256][..], &[1024], &[64, 640]] {
        let processed = processed(&nikon, sizes, EmbeddedPreviews::WhenSafe);
        assert_eq!(processed.metadata.thumbnail_source, ThumbnailSource::MainImage, "{sizes:?}");
        assert_eq!(processed.metadata.embedded_preview_declined.as_deref(), Some("edited-after-capture"));
    }
    let metadata = ImageDecoders::default().read_metadata(&nikon, &Limits::default()).expect("metadata");
    assert_eq!(metadata.thumbnail_source, ThumbnailSource::MainImage);
}

/// Moderation judges what viewers see: the preview the thumbnails come from is rendered for the
/// classifier as the main image is (same box, upright, close to it), and only when the thumbnails
/// do come from it.
#[test]
fn the_preview_a_thumbnail_comes_from_is_rendered_for_the_classifier() {
    let (decoders, limits) = (ImageDecoders::default(), Limits::default());
    let options = |size| ThumbnailOptions { sizes: vec![size], ..ThumbnailOptions::default() };
    let sony = sony();
    let preview = decoders.render_thumbnail_preview(&sony, &options(1024), &limits, 512).expect("rendered");
    let preview = preview.expect("the 1024 px thumbnails come from the preview");
    let main = decoders.render_upright(&sony, &limits, 512).expect("main image");
    assert_eq!(preview.dimensions(), main.dimensions());
    let score = psnr(&preview, &main);
    assert!(score >= 30.0, "PSNR {score:.2} dB: not the same picture?");
    // When the thumbnails come from the main image, there is nothing else to judge.
    for (bytes, size) in [(sony.clone(), 2048), (preview_photo("nikon-d5300-edited.jpg"), 1024)] {
        let none = decoders.render_thumbnail_preview(&bytes, &options(size), &limits, 512).expect("answered");
        assert!(none.is_none(), "{size}");
    }
    let never = decoders.clone().with_embedded_previews(EmbeddedPreviews::Never);
    assert!(never.render_thumbnail_preview(&sony, &options(1024), &limits, 512).expect("answered").is_none());
}

/// Nintendo 3DS stereo pair (Pillow's `sugarshack.mpo`): the second image, the other eye, is as
/// large as the first, unedited and of the same aspect ratio; only its MP type keeps it out.
#[test]
fn the_other_eye_of_a_stereo_pair_never_serves_as_a_preview() {
    let stereo = data("inputs/mpo-stereo.mpo");
    let with = processed(&stereo, &[256], EmbeddedPreviews::WhenSafe);
    let without = processed(&stereo, &[256], EmbeddedPreviews::Never);
    assert_eq!(with.metadata.thumbnail_source, ThumbnailSource::MainImage);
    assert_eq!(with.metadata.embedded_preview_declined.as_deref(), Some("no-large-thumbnail"));
    assert_eq!(thumbnail_bytes(&with), thumbnail_bytes(&without));
}

#[test]
fn jpegs_without_an_index_come_out_exactly_as_with_previews_off() {
    for name in [
        "photo-camera.jpg",
        "photo-gps.jpg",
        "jpeg-progressive.jpg",
        "jpeg-cmyk.jpg",
        "orientation/orient-6.jpg",
    ] {
        let bytes = data(&format!("inputs/{name}"));
        let with = processed(&bytes, &[64, 256], EmbeddedPreviews::WhenSafe);
        let without = processed(&bytes, &[64, 256], EmbeddedPreviews::Never);
        assert_eq!(with.metadata, without.metadata, "{name}");
        assert_eq!(with.metadata.thumbnail_source, ThumbnailSource::MainImage, "{name}");
        assert_eq!(with.metadata.embedded_preview_declined, None, "{name}");
        assert_eq!(thumbnail_bytes(&with), thumbnail_bytes(&without), "{name}");
    }
}

/// Damage to the index or the preview leaves the main image's thumbnails, exactly; a file cut
/// inside its main image is an error, as it was before.
#[test]
fn cut_or_corrupt_mpf_data_falls_back_to_the_main_image_or_fails_cleanly() {
    let sony = sony();
    let reference = processed(&sony, &[1024], EmbeddedPreviews::Never);
    let (tag, entry) = sony_mpf_entry(&sony, 1);
    assert_eq!(u32_le(&sony, entry) & 0xFF_FFFF, 0x01_0002, "entry 1 is the full-HD preview");
    let mut preview_sof_huge = sony.clone();
    let sof = SONY_PREVIEW_START
        + sony[SONY_PREVIEW_START..].windows(2).position(|w| w == [0xFF, 0xC0]).expect("SOF");
    preview_sof_huge[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("cut inside the preview", sony[..SONY_PREVIEW_START + 300_000].to_vec(), "preview-not-found"),
        ("cut before the preview", sony[..SONY_PREVIEW_START - 500].to_vec(), "preview-not-found"),
        ("offset past the end", with_u32(&sony, entry + 8, u32::MAX - 16), "preview-not-found"),
        ("offset to the main image", with_u32(&sony, entry + 8, 0), "preview-not-found"),
        ("size too short", with_u32(&sony, entry + 4, 200_000), "preview-undecodable"),
        ("a stereo type", with_u32(&sony, entry, 0x0002_0002), "no-large-thumbnail"),
        ("a table past the segment", with_u32(&sony, tag + 8, 0xFFFF), "malformed-mpf-index"),
        ("the preview's SOF 65535x65535", preview_sof_huge, "preview-header-unreadable"),
    ];
    for (what, bytes, declined) in cases {
        let fallback = processed(&bytes, &[1024], EmbeddedPreviews::WhenSafe);
        assert_eq!(fallback.metadata.thumbnail_source, ThumbnailSource::MainImage, "{what}");
        assert_eq!(fallback.metadata.embedded_preview_declined.as_deref(), Some(declined), "{what}");
        assert_eq!(thumbnail_bytes(&fallback), thumbnail_bytes(&reference), "{what}");
    }
    for cut in [3_000_000, 48_000, 46_700] {
        let error =
            process(&sony[..cut], &[1024], EmbeddedPreviews::WhenSafe).expect_err("cut in the main image");
        assert!(
            matches!(error.code(), ErrorCode::TRUNCATED_INPUT | ErrorCode::CORRUPT_INPUT),
            "cut at {cut}: {error}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random damage to the index and the preview's first bytes: thumbnails of the right size from
    /// the preview or the main image, never a panic (`process_image` would turn one into an error).
    #[test]
    fn damaged_mpf_bytes_give_right_sized_thumbnails(
        damage in proptest::collection::vec((0usize..470, any::<u8>()), 1..5),
        at_preview in proptest::collection::vec((0usize..700, any::<u8>()), 0..3),
    ) {
        static SONY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(sony);
        let mut jpeg = SONY.clone();
        let segment = jpeg[..64 * 1024].windows(4).position(|w| w == b"MPF\0").expect("MPF") - 4;
        for (at, value) in damage {
            // The APP2 marker and length are left alone: damage there is the header walk's
            // business (and tested with every other segment), not the index's.
            jpeg[segment + 4 + at] = value;
        }
        for (at, value) in at_preview {
            jpeg[SONY_PREVIEW_START + at] = value;
        }
        let processed = process(&jpeg, &[1024], EmbeddedPreviews::WhenSafe).expect("the main image is intact");
        prop_assert_eq!((processed.thumbnails[0].width, processed.thumbnails[0].height), (1024, 683));
    }
}

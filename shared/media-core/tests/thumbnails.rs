//! Thumbnails of real files: every format and colour type, sizes, alpha, goldens and privacy.

mod common;

use common::{data, decode_rgb, psnr, resized};
use media_core::{Limits, OutputFormat, ThumbnailOptions, geometry::fit_within, process_image};

/// Every still and animated input the core must read, with the PSNR its 256 px thumbnail must
/// reach against the independent reference made by vipsthumbnail (`tests/data/make-goldens.sh`).
const INPUTS: &[(&str, f64)] = &[
    ("photo-camera.jpg", 30.0),
    ("jpeg-progressive.jpg", 30.0),
    ("jpeg-gray.jpg", 30.0),
    ("jpeg-icc.jpg", 30.0),
    // Stray bytes between header segments, which TurboJPEG alone refuses (see jpeg_segments.rs).
    ("jpeg-stray-bytes.jpg", 30.0),
    // A dark red photo: 4:2:0 chroma differences weigh more (Pillow's thumbnail scores 27.6 too).
    ("jpeg-short-app14.jpg", 27.0),
    // An ICC segment after the start of frame as well as before it (dropped, see jpeg_segments.rs).
    ("jpeg-icc-after-sof.jpg", 30.0),
    // An Adobe YCCK JPEG without a profile; the reference is ImageMagick's plain conversion.
    ("jpeg-cmyk.jpg", 28.0),
    ("png-rgb.png", 30.0),
    ("png-rgba.png", 28.0),
    ("png-gray.png", 30.0),
    ("png-gray16.png", 30.0),
    ("png-rgb16.png", 30.0),
    ("png-palette.png", 28.0),
    ("gif-static.gif", 28.0),
    ("gif-animated.gif", 28.0),
    ("webp-lossy.webp", 30.0),
    ("webp-lossless-alpha.webp", 28.0),
    ("webp-animated.webp", 28.0),
    ("apng-animated.png", 28.0),
    ("tiff-rgb.tif", 30.0),
    // 2 and 4 bits per grey sample, which only the `tiff` crate reads (see tiff_direct.rs). Their
    // hard 4- and 16-level edges ring in a JPEG thumbnail; an inverted decode scores about 4 dB.
    ("tiff-gray2-lsb-first.tif", 25.0),
    ("tiff-gray4-white-is-zero.tif", 25.0),
    // Palette TIFFs (read as indices by `vendor/tiff`): 8-bit, and a 3-page 1-bit one (first page).
    ("tiff-palette.tif", 28.0),
    ("tiff-multipage-palette.tif", 28.0),
    // 8-bit CIELab (signed a* and b*) and JPEG-compressed 2x2-subsampled YCbCr in tiles, which the
    // `image` crate refuses; converted to sRGB in tiff_direct.rs.
    ("tiff-lab.tif", 30.0),
    ("tiff-tiled-ycbcr-jpeg.tif", 30.0),
    ("bmp-rgb.bmp", 30.0),
];

fn process(name: &str, options: &ThumbnailOptions) -> media_core::ProcessedImage {
    let bytes = data(&format!("inputs/{name}"));
    process_image(&bytes, options, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_format_gives_correctly_sized_thumbnails_that_match_the_reference() {
    for &(name, min_psnr) in INPUTS {
        let processed = process(name, &ThumbnailOptions::default());
        let metadata = &processed.metadata;
        assert_eq!(processed.thumbnails.len(), 2, "{name}");
        for thumbnail in &processed.thumbnails {
            let expected = fit_within(metadata.display_width, metadata.display_height, thumbnail.size);
            assert_eq!((thumbnail.width, thumbnail.height), expected, "{name} at {}", thumbnail.size);
            let decoded = decode_rgb(&thumbnail.bytes);
            assert_eq!(decoded.dimensions(), expected, "{name}: encoded size");
        }
        let golden = image::open(common::data_path(&format!("golden/{name}.png")))
            .unwrap_or_else(|e| panic!("golden for {name}: {e} (run tests/data/make-goldens.sh)"));
        let golden = flatten_on_white(golden);
        let ours = decode_rgb(&processed.thumbnails[0].bytes);
        // vips and we may round the short side differently by a pixel.
        let golden = resized(&golden, ours.width(), ours.height());
        let score = psnr(&ours, &golden);
        assert!(score >= min_psnr, "{name}: PSNR {score:.1} dB against vipsthumbnail, want {min_psnr}");
    }
}

fn flatten_on_white(image: image::DynamicImage) -> image::RgbImage {
    let rgba = image.to_rgba8();
    let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
    for (out, pixel) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = f32::from(pixel[3]) / 255.0;
        for channel in 0..3 {
            out[channel] = (f32::from(pixel[channel]) * alpha + 255.0 * (1.0 - alpha)).round() as u8;
        }
    }
    rgb
}

#[test]
fn small_images_are_never_upscaled() {
    let processed =
        process("png-rgb.png", &ThumbnailOptions { sizes: vec![10_000], ..ThumbnailOptions::default() });
    let metadata = &processed.metadata;
    assert_eq!(
        (processed.thumbnails[0].width, processed.thumbnails[0].height),
        (metadata.width, metadata.height)
    );
}

#[test]
fn jpeg_output_composites_alpha_on_white_and_webp_keeps_it() {
    let jpeg = process("png-rgba.png", &ThumbnailOptions { sizes: vec![256], ..ThumbnailOptions::default() });
    let webp = process(
        "png-rgba.png",
        &ThumbnailOptions { sizes: vec![256], format: OutputFormat::Webp, quality: 80 },
    );
    let webp_image = image::load_from_memory(&webp.thumbnails[0].bytes).expect("webp decodes").to_rgba8();
    let transparent: Vec<(u32, u32)> =
        webp_image.enumerate_pixels().filter(|(_, _, p)| p[3] < 8).map(|(x, y, _)| (x, y)).collect();
    assert!(!transparent.is_empty(), "the WebP thumbnail lost its alpha channel");
    let jpeg_image = decode_rgb(&jpeg.thumbnails[0].bytes);
    let whiteish =
        transparent.iter().filter(|&&(x, y)| jpeg_image.get_pixel(x, y).0.iter().all(|&c| c > 235)).count();
    assert!(whiteish * 10 >= transparent.len() * 9, "transparent areas are not white in the JPEG");
}

#[test]
fn one_call_serves_every_size_in_the_requested_order() {
    let options = ThumbnailOptions { sizes: vec![64, 512, 128], format: OutputFormat::Webp, quality: 70 };
    let processed = process("photo-camera.jpg", &options);
    let sizes: Vec<u32> = processed.thumbnails.iter().map(|t| t.size).collect();
    assert_eq!(sizes, vec![64, 512, 128]);
    for thumbnail in &processed.thumbnails {
        assert!(thumbnail.bytes.starts_with(b"RIFF") && &thumbnail.bytes[8..12] == b"WEBP");
        // The photo is 480x360: boxes past 480 leave it at its own size.
        assert_eq!(thumbnail.width.max(thumbnail.height), thumbnail.size.min(480));
    }
}

/// JPEG segments other than the ones every baseline JPEG needs.
fn metadata_segments(jpeg: &[u8]) -> Vec<u8> {
    let mut found = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            break;
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        // APP1..APP15 (EXIF, XMP, ICC, Photoshop IPTC, ...) and COM.
        if (0xE1..=0xEF).contains(&marker) || marker == 0xFE {
            found.push(marker);
        }
        at += 2 + length;
    }
    found
}

#[test]
fn derivatives_carry_no_exif_gps_xmp_icc_or_comments() {
    let source = data("inputs/photo-gps.jpg");
    assert!(!metadata_segments(&source).is_empty(), "the source photo should carry EXIF");
    let processed =
        process_image(&source, &ThumbnailOptions::default(), &Limits::default()).expect("process");
    assert!(processed.metadata.exif.as_ref().and_then(|e| e.gps).is_some(), "the source has GPS");
    for thumbnail in &processed.thumbnails {
        assert_eq!(
            metadata_segments(&thumbnail.bytes),
            Vec::<u8>::new(),
            "thumbnail {} has metadata",
            thumbnail.size
        );
        let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&thumbnail.bytes));
        assert!(exif.is_err(), "thumbnail {} has EXIF", thumbnail.size);
    }
    let webp = process_image(
        &source,
        &ThumbnailOptions { format: OutputFormat::Webp, ..ThumbnailOptions::default() },
        &Limits::default(),
    )
    .expect("process");
    for thumbnail in &webp.thumbnails {
        for chunk in [b"EXIF", b"XMP ", b"ICCP"] {
            assert!(!thumbnail.bytes.windows(4).any(|w| w == chunk), "WebP thumbnail has a {chunk:?} chunk");
        }
    }
}

#[test]
fn progressive_jpegs_are_decoded_and_flagged() {
    let progressive = process("jpeg-progressive.jpg", &ThumbnailOptions::default());
    assert!(progressive.metadata.progressive);
    assert!(!process("photo-camera.jpg", &ThumbnailOptions::default()).metadata.progressive);
}

/// A tiled TIFF with one plane per channel (tiff 0.11.3 panicked on these: image-rs/image-tiff#403,
/// fixed in `vendor/tiff`) and a BigTIFF (64-bit offsets, which the sniffer once missed) must
/// decode to exactly the pixels of the same image in a classic TIFF with strips.
#[test]
fn tiled_planar_and_big_tiffs_decode_like_their_classic_twin() {
    let options = ThumbnailOptions::default();
    let thumbnails =
        |name: &str| match process_image(&data(&format!("inputs/{name}")), &options, &Limits::default()) {
            Ok(processed) => {
                processed.thumbnails.into_iter().map(|thumbnail| thumbnail.bytes).collect::<Vec<_>>()
            }
            Err(error) => panic!("{name}: {error}"),
        };
    let classic = thumbnails("tiff-rgb.tif");
    assert_eq!(classic.len(), options.sizes.len());
    for twin in ["tiff-tiled-planar.tif", "tiff-bigtiff.tif"] {
        assert_eq!(thumbnails(twin), classic, "{twin}: the same pixels, so the same thumbnails");
    }
}

/// GIFs whose first frame has no colour table, global or local: shown as greys (index N is grey N),
/// as browsers and Pillow show them, instead of refused.
#[test]
fn gifs_without_any_palette_decode_as_greys() {
    for (name, grey) in [("gif-no-palette.gif", "#000000"), ("gif-no-palette-after-rgb.gif", "#010101")] {
        let processed = process(name, &ThumbnailOptions { sizes: vec![16], ..ThumbnailOptions::default() });
        assert_eq!(processed.metadata.dominant_color, grey, "{name}");
        assert_eq!((processed.thumbnails[0].width, processed.thumbnails[0].height), (1, 1), "{name}");
    }
}

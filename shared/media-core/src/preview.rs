//! Thumbnails from a camera's embedded preview instead of its main image, where that is safe.
//!
//! Sony, Fujifilm, Nikon and other cameras store a second JPEG of the same picture after the main
//! image, listed in the file's Multi-Picture Format index ([`crate::mpf`]) as a "large thumbnail"
//! of VGA or full-HD size. Decoding its 1616×1080 pixels instead of the main image's 6000×4000
//! makes a 1024 px thumbnail several times cheaper. But a preview is a copy made when the photo was
//! taken, and nothing forces it to match what the main image shows now, so one is used only when
//! all of these hold:
//! - (a) its MP type is a large thumbnail (0x010001 or 0x010002) in JPEG: never the file's own
//!   first entry, a stereo or multi-angle view, a panorama frame, or an untyped entry such as an
//!   HDR gain map;
//! - (b) it covers the largest requested thumbnail of the main image (the main image's size fitted
//!   into the box) in both dimensions, so thumbnails come out exactly as large as before;
//! - (c) its aspect ratio is the main image's within 1 % (Sony's 1616×1080 of 6000×4000 is 0.25 %
//!   off; a letterboxed 16:9 preview of a 3:2 photo is 15 % off), its colour model is the main
//!   image's, and it declares no EXIF orientation other than the main image's (it normally declares
//!   none and is stored like the main image, whose orientation then applies to both);
//! - (d) the file shows no sign of editing after capture ([`crate::edit_history`]);
//! - (e) it decodes.
//!
//! Otherwise the main image is decoded as before. The metadata says which was used
//! ([`ThumbnailSource`]). Callers that must never use a preview turn them off with
//! [`EmbeddedPreviews::Never`].

use image::DynamicImage;

use crate::decode::decode_jpeg_covering;
use crate::edit_history::{EditSign, first_edit_sign};
use crate::exif_fields::ExifData;
use crate::geometry::fit_within;
use crate::header::{ImageHeader, read_header};
use crate::jpeg_segments::segments;
use crate::mpf::{LARGE_THUMBNAIL_FULL_HD, LARGE_THUMBNAIL_VGA, MpEntry, MpfError, read_index};
use crate::{Limits, MediaFormat};

/// How far a preview's aspect ratio may be from its main image's, as a fraction of the latter.
const ASPECT_TOLERANCE: f64 = 0.01;

/// Whether [`ImageDecoders`](crate::ImageDecoders) may make a JPEG's thumbnails and fingerprints
/// from the full-HD-class preview that cameras such as Sony's and Nikon's embed after the main
/// image (a "large thumbnail" in the file's Multi-Picture Format index): several times cheaper than
/// decoding a 24 MP main image. [`ImageDecoders::render_upright`](crate::ImageDecoders::render_upright)
/// never uses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbeddedPreviews {
    /// Use a preview when it covers the largest thumbnail in both dimensions, has the main image's
    /// aspect ratio (within 1 %), colour model and orientation, the file shows no sign of editing
    /// after capture (`DateTime` equal to `DateTimeOriginal`, no editor in `Software` or XMP, EXIF
    /// present) and the preview decodes; the main image otherwise. The default.
    #[default]
    WhenSafe,
    /// Always decode the main image.
    Never,
}

/// Which pixels an image's thumbnails and fingerprints were made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ThumbnailSource {
    /// The image itself (every format; JPEGs without a usable embedded preview).
    #[default]
    MainImage,
    /// The camera's embedded preview of the image, of this stored size.
    EmbeddedPreview {
        /// The preview's stored width in pixels.
        width: u32,
        /// The preview's stored height in pixels.
        height: u32,
    },
}

/// Why a JPEG's thumbnails are not made from an embedded preview. The main image is decoded
/// instead, so none of these is an error of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PreviewRejection {
    /// No index, or one that does not parse.
    #[error(transparent)]
    Index(#[from] MpfError),
    /// The index lists no large thumbnail (rule a).
    #[error("the index lists no large thumbnail")]
    NoLargeThumbnail,
    /// The file shows a sign of editing (rule d).
    #[error("edited after capture: {0}")]
    Edited(EditSign),
    /// The entry's bytes are not inside the file, start before the main image's data, or hold no JPEG.
    #[error("entry {index}: no JPEG where the index says")]
    NotFound {
        /// The entry's position in the index.
        index: usize,
    },
    /// The preview's header does not parse or is over the limits.
    #[error("entry {index}: header unreadable ({code})")]
    BadHeader {
        /// The entry's position in the index.
        index: usize,
        /// The code of the header's error.
        code: &'static str,
    },
    /// Smaller than the largest thumbnail needs (rule b).
    #[error("entry {index}: {width}x{height} does not cover {needed_width}x{needed_height}")]
    TooSmall {
        /// The entry's position in the index.
        index: usize,
        /// The preview's width.
        width: u32,
        /// The preview's height.
        height: u32,
        /// The width the largest thumbnail needs.
        needed_width: u32,
        /// The height the largest thumbnail needs.
        needed_height: u32,
    },
    /// A different aspect ratio, colour model or orientation from the main image (rule c).
    #[error("entry {index}: {width}x{height} is not the same picture geometry as the main image")]
    Mismatch {
        /// The entry's position in the index.
        index: usize,
        /// The preview's width.
        width: u32,
        /// The preview's height.
        height: u32,
    },
    /// Decoding the preview failed (rule e).
    #[error("entry {index}: does not decode ({code})")]
    Undecodable {
        /// The entry's position in the index.
        index: usize,
        /// The code of the decoder's error.
        code: &'static str,
    },
}

impl PreviewRejection {
    /// The stable, kebab-case code of this reason.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            PreviewRejection::Index(error) => error.code(),
            PreviewRejection::NoLargeThumbnail => "no-large-thumbnail",
            PreviewRejection::Edited(_) => "edited-after-capture",
            PreviewRejection::NotFound { .. } => "preview-not-found",
            PreviewRejection::BadHeader { .. } => "preview-header-unreadable",
            PreviewRejection::TooSmall { .. } => "preview-too-small",
            PreviewRejection::Mismatch { .. } => "preview-mismatch",
            PreviewRejection::Undecodable { .. } => "preview-undecodable",
        }
    }
}

/// An embedded preview that passed rules (a) to (d).
pub(crate) struct Preview<'a> {
    /// Its entry's position in the index.
    pub index: usize,
    /// Its bytes, from its start of image.
    pub bytes: &'a [u8],
    /// Its header.
    pub header: ImageHeader,
}

/// An embedded preview, decoded no smaller than the thumbnails need.
pub(crate) struct DecodedPreview {
    /// The pixels, in stored orientation (the main image's orientation applies).
    pub image: DynamicImage,
    /// Where they came from.
    pub source: ThumbnailSource,
}

/// Decodes the smallest embedded preview of the JPEG `jpeg` (whose main image has `main` and
/// `main_exif`) that may stand in for its main image when the largest output fits a
/// `largest_box`×`largest_box` box. `Err` says why none may, and the caller decodes the main image.
pub(crate) fn decode_embedded_preview(
    jpeg: &[u8],
    main: &ImageHeader,
    main_exif: &ExifData,
    limits: &Limits,
    largest_box: u32,
) -> Result<DecodedPreview, PreviewRejection> {
    let target = fit_within(main.width, main.height, largest_box);
    let mut failure = None;
    for preview in usable_previews(jpeg, main, main_exif, limits, target)? {
        let index = preview.index;
        match decode_jpeg_covering(preview.bytes, &preview.header, target) {
            Ok(image) if image.width() >= target.0 && image.height() >= target.1 => {
                let source = ThumbnailSource::EmbeddedPreview {
                    width: preview.header.width,
                    height: preview.header.height,
                };
                return Ok(DecodedPreview { image, source });
            }
            Ok(_) => {
                failure = failure.or(Some(PreviewRejection::Undecodable { index, code: "decoded-size" }))
            }
            Err(error) => {
                failure =
                    failure.or(Some(PreviewRejection::Undecodable { index, code: error.code().as_str() }))
            }
        }
    }
    Err(failure.unwrap_or(PreviewRejection::NoLargeThumbnail))
}

/// Every embedded preview of `jpeg` that passes rules (a) to (d) for thumbnails that need at least
/// `target` (width, height) of the main image, smallest first (the cheapest to decode); the reason
/// the first candidate failed when none passes.
pub(crate) fn usable_previews<'a>(
    jpeg: &'a [u8],
    main: &ImageHeader,
    main_exif: &ExifData,
    limits: &Limits,
    target: (u32, u32),
) -> Result<Vec<Preview<'a>>, PreviewRejection> {
    let header = segments(jpeg).ok_or(MpfError::Absent)?;
    let entries = read_index(&header)?;
    let large_thumbnails: Vec<&MpEntry> = entries
        .iter()
        .filter(|entry| {
            entry.index > 0
                && entry.is_jpeg
                && matches!(entry.mp_type, LARGE_THUMBNAIL_VGA | LARGE_THUMBNAIL_FULL_HD)
        })
        .collect();
    if large_thumbnails.is_empty() {
        return Err(PreviewRejection::NoLargeThumbnail);
    }
    if let Some(sign) = first_edit_sign(&header, main_exif) {
        return Err(PreviewRejection::Edited(sign));
    }
    let mut usable = Vec::new();
    let mut first_failure = None;
    for entry in large_thumbnails {
        match check_preview(jpeg, entry, header.scan_start, main, main_exif, limits, target) {
            Ok(preview) => usable.push(preview),
            Err(rejection) => first_failure = first_failure.or(Some(rejection)),
        }
    }
    if usable.is_empty() {
        return Err(first_failure.unwrap_or(PreviewRejection::NoLargeThumbnail));
    }
    usable.sort_by_key(|preview| u64::from(preview.header.width) * u64::from(preview.header.height));
    Ok(usable)
}

/// Rules (b) and (c) for one large thumbnail `entry` of `jpeg`, whose main image's scan starts at
/// `main_scan_start`: a preview must lie after it (an offset into the header would find the small
/// EXIF thumbnail there).
fn check_preview<'a>(
    jpeg: &'a [u8],
    entry: &MpEntry,
    main_scan_start: usize,
    main: &ImageHeader,
    main_exif: &ExifData,
    limits: &Limits,
    target: (u32, u32),
) -> Result<Preview<'a>, PreviewRejection> {
    let index = entry.index;
    let (_, bytes) = entry
        .bytes(jpeg)
        .filter(|&(start, _)| start > main_scan_start)
        .ok_or(PreviewRejection::NotFound { index })?;
    let header = read_header(bytes, MediaFormat::Jpeg, limits)
        .map_err(|error| PreviewRejection::BadHeader { index, code: error.code().as_str() })?;
    let (width, height) = (header.width, header.height);
    if width < target.0 || height < target.1 {
        let (needed_width, needed_height) = target;
        return Err(PreviewRejection::TooSmall { index, width, height, needed_width, needed_height });
    }
    let own_orientation = ExifData::read(bytes, MediaFormat::Jpeg).declared_orientation();
    let same_geometry = same_aspect_ratio((width, height), (main.width, main.height))
        && header.color_model == main.color_model
        && own_orientation.is_none_or(|orientation| orientation == main_exif.orientation());
    if !same_geometry {
        return Err(PreviewRejection::Mismatch { index, width, height });
    }
    Ok(Preview { index, bytes, header })
}

/// Whether two (non-zero) sizes have the same aspect ratio within [`ASPECT_TOLERANCE`].
fn same_aspect_ratio((width, height): (u32, u32), (main_width, main_height): (u32, u32)) -> bool {
    let ratio = f64::from(width) / f64::from(height.max(1));
    let main_ratio = f64::from(main_width) / f64::from(main_height.max(1));
    (ratio / main_ratio - 1.0).abs() <= ASPECT_TOLERANCE
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;

    /// A photo fetched by `make fixtures` into `MEDIAFLOW_PREVIEW_PHOTOS` (default
    /// `~/.cache/mediaflow/preview-photos`); panics with the command that fetches it.
    pub(crate) fn preview_photo(name: &str) -> Vec<u8> {
        let dir = std::env::var_os("MEDIAFLOW_PREVIEW_PHOTOS")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/mediaflow/preview-photos")
            });
        assert!(
            dir.join(".complete").is_file(),
            "no preview photos in {} (MEDIAFLOW_PREVIEW_PHOTOS): run `make fixtures`, or scripts/fetch.py preview-photos={0}",
            dir.display()
        );
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    static SONY: LazyLock<Vec<u8>> = LazyLock::new(|| preview_photo("sony-ilce6000.jpg"));

    /// Where the Sony's MPF segment (its TIFF header) and its preview's entry (entry 1) are.
    const SONY_MPF_TIFF: usize = 46_636;
    const SONY_PREVIEW_START: usize = 5_969_920;

    fn previews_of(jpeg: &[u8], largest_box: u32) -> Result<Vec<(usize, u32, u32)>, PreviewRejection> {
        let limits = Limits::default();
        let main = read_header(jpeg, MediaFormat::Jpeg, &limits).expect("main header");
        let exif = ExifData::read(jpeg, MediaFormat::Jpeg);
        let target = fit_within(main.width, main.height, largest_box);
        let previews = usable_previews(jpeg, &main, &exif, &limits, target)?;
        Ok(previews.iter().map(|p| (p.index, p.header.width, p.header.height)).collect())
    }

    /// Where entry `n` of the Sony's MP Entry table is: its attribute there, its size 4 bytes on,
    /// its offset 8 bytes on (little endian). Walks the IFD independently of `read_index`.
    fn entry_at(jpeg: &[u8], n: usize) -> usize {
        let u16_at = |at: usize| usize::from(u16::from_le_bytes([jpeg[at], jpeg[at + 1]]));
        let u32_at = |at: usize| u32::from_le_bytes(jpeg[at..at + 4].try_into().expect("4 bytes")) as usize;
        assert_eq!(&jpeg[SONY_MPF_TIFF..SONY_MPF_TIFF + 4], b"II*\0");
        let ifd = SONY_MPF_TIFF + u32_at(SONY_MPF_TIFF + 4);
        let table = (0..u16_at(ifd))
            .map(|i| ifd + 2 + 12 * i)
            .find(|&at| u16_at(at) == 0xB002)
            .map(|at| SONY_MPF_TIFF + u32_at(at + 8))
            .expect("an MP Entry tag");
        table + 16 * n
    }

    fn with_u32(jpeg: &[u8], at: usize, value: u32) -> Vec<u8> {
        let mut copy = jpeg.to_vec();
        copy[at..at + 4].copy_from_slice(&value.to_le_bytes());
        copy
    }

    #[test]
    fn aspect_ratios_within_one_percent_match() {
        assert!(same_aspect_ratio((1616, 1080), (6000, 4000)));
        assert!(same_aspect_ratio((1620, 1080), (6000, 4000)));
        assert!(!same_aspect_ratio((1920, 1080), (6000, 4000)), "16:9 letterboxed in 3:2");
        assert!(!same_aspect_ratio((1080, 1616), (6000, 4000)), "rotated");
        assert!(same_aspect_ratio((1, 1), (u32::MAX, u32::MAX)));
    }

    #[test]
    fn the_sony_preview_serves_up_to_its_own_size() {
        let sony = &*SONY;
        assert_eq!(sony[SONY_PREVIEW_START..SONY_PREVIEW_START + 2], [0xFF, 0xD8]);
        assert_eq!(previews_of(sony, 1024), Ok(vec![(1, 1616, 1080)]));
        assert_eq!(previews_of(sony, 64), Ok(vec![(1, 1616, 1080)]));
        // 1616 px: the main image fitted is 1616x1077, inside 1616x1080.
        assert_eq!(previews_of(sony, 1616), Ok(vec![(1, 1616, 1080)]));
        let too_small = previews_of(sony, 1617).expect_err("larger than the preview");
        assert_eq!(too_small.code(), "preview-too-small");
        assert_eq!(previews_of(sony, 2048).map_err(|e| e.code()), Err("preview-too-small"));
    }

    #[test]
    fn the_nikon_is_refused_for_its_edits_although_its_previews_would_fit() {
        let nikon = preview_photo("nikon-d5300-edited.jpg");
        let rejection = previews_of(&nikon, 1024).expect_err("edited");
        assert!(
            matches!(&rejection, PreviewRejection::Edited(EditSign::DateTimeChanged { modified, original })
                if modified == "2015:02:13 20:46:51" && original == "2015:02:13 13:51:35"),
            "{rejection}"
        );
        // Without the edit check, its full-HD preview (entry 2, exactly 3:2) would serve 1024 px
        // and its VGA one 256 px: the edit rule alone keeps them out.
        let limits = Limits::default();
        let main = read_header(&nikon, MediaFormat::Jpeg, &limits).expect("main header");
        let exif = ExifData::read(&nikon, MediaFormat::Jpeg);
        let header = segments(&nikon).expect("header");
        let entries = read_index(&header).expect("index");
        let types: Vec<u32> = entries.iter().map(|e| e.mp_type).collect();
        assert_eq!(types, vec![0x03_0000, LARGE_THUMBNAIL_VGA, LARGE_THUMBNAIL_FULL_HD]);
        let fits = |n: usize, size: u32| {
            let target = fit_within(main.width, main.height, size);
            check_preview(&nikon, &entries[n], header.scan_start, &main, &exif, &limits, target)
                .map(|p| (p.header.width, p.header.height))
                .map_err(|e| e.code())
        };
        assert_eq!(fits(2, 1024), Ok((1620, 1080)));
        assert_eq!(fits(1, 256), Ok((640, 424)));
        assert_eq!(fits(1, 1024), Err("preview-too-small"));
    }

    #[test]
    fn an_offset_into_the_padding_before_the_preview_still_finds_it() {
        let sony = &*SONY;
        let offset_at = entry_at(sony, 1) + 8;
        let declared = u32::from_le_bytes(sony[offset_at..offset_at + 4].try_into().expect("4 bytes"));
        assert_eq!(declared as usize + SONY_MPF_TIFF, SONY_PREVIEW_START);
        // 1112 zero bytes precede the preview: point 500 into them (and count them in the size).
        let size_at = entry_at(sony, 1) + 4;
        let size = u32::from_le_bytes(sony[size_at..size_at + 4].try_into().expect("4 bytes"));
        let shifted = with_u32(&with_u32(sony, offset_at, declared - 500), size_at, size + 500);
        assert_eq!(previews_of(&shifted, 1024), Ok(vec![(1, 1616, 1080)]));
    }

    #[test]
    fn bad_offsets_sizes_and_types_fall_back_with_a_reason() {
        let sony = &*SONY;
        let entry = entry_at(sony, 1);
        let code = |jpeg: &[u8]| previews_of(jpeg, 1024).map(|_| ()).map_err(|e| e.code());
        assert_eq!(code(&with_u32(sony, entry + 8, u32::MAX)), Err("preview-not-found"), "past the end");
        assert_eq!(code(&with_u32(sony, entry + 8, 8)), Err("preview-not-found"), "into the header");
        assert_eq!(code(&with_u32(sony, entry + 8, 0)), Err("preview-not-found"), "the main image itself");
        assert_eq!(code(&with_u32(sony, entry + 4, u32::MAX)), Err("preview-not-found"), "size past the end");
        assert_eq!(code(&with_u32(sony, entry, 0x0002_0002)), Err("no-large-thumbnail"), "stereo");
        assert_eq!(code(&with_u32(sony, entry, 0x0000_0000)), Err("no-large-thumbnail"), "untyped");
        assert_eq!(code(&with_u32(sony, entry, 0x0301_0002)), Err("no-large-thumbnail"), "not JPEG");
        assert_eq!(code(&sony[..SONY_PREVIEW_START + 300_000]), Err("preview-not-found"), "cut");
        let mut no_mpf = sony.to_vec();
        no_mpf[SONY_MPF_TIFF - 4..SONY_MPF_TIFF].copy_from_slice(b"XYZ\0");
        assert_eq!(code(&no_mpf), Err("no-mpf-index"));
        let mut wrong_order = sony.to_vec();
        wrong_order[SONY_MPF_TIFF] = b'X';
        assert_eq!(code(&wrong_order), Err("malformed-mpf-index"));
    }

    #[test]
    fn a_preview_cut_short_is_undecodable() {
        let sony = &*SONY;
        let size_at = entry_at(sony, 1) + 4;
        let cut = with_u32(sony, size_at, 300_000);
        let limits = Limits::default();
        let main = read_header(&cut, MediaFormat::Jpeg, &limits).expect("main header");
        let exif = ExifData::read(&cut, MediaFormat::Jpeg);
        let rejection = decode_embedded_preview(&cut, &main, &exif, &limits, 1024).err().map(|e| e.code());
        assert_eq!(rejection, Some("preview-undecodable"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Damage anywhere in the Sony's MPF segment or at its preview's start gives previews
        /// inside the file or a reason, never a panic.
        #[test]
        fn damaged_mpf_data_never_panics(
            damage in proptest::collection::vec((0usize..480, any::<u8>()), 1..6),
            at_preview in proptest::collection::vec((0usize..200, any::<u8>()), 0..3),
        ) {
            let mut jpeg = SONY.clone();
            for (at, value) in damage {
                jpeg[SONY_MPF_TIFF - 8 + at] = value;
            }
            for (at, value) in at_preview {
                jpeg[SONY_PREVIEW_START + at] = value;
            }
            let limits = Limits::default();
            let main = read_header(&jpeg, MediaFormat::Jpeg, &limits);
            if let Ok(main) = main {
                let exif = ExifData::read(&jpeg, MediaFormat::Jpeg);
                let target = fit_within(main.width, main.height, 1024);
                if let Ok(previews) = usable_previews(&jpeg, &main, &exif, &limits, target) {
                    for preview in previews {
                        prop_assert!(preview.header.width >= target.0 && preview.header.height >= target.1);
                        let start = preview.bytes.as_ptr() as usize - jpeg.as_ptr() as usize;
                        prop_assert!(start > 0 && start + preview.bytes.len() <= jpeg.len());
                    }
                }
            }
        }
    }
}

//! The metadata record of an image: what it is, how it is stored, where it was taken, and
//! fingerprints for search and placeholders.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, RgbImage};
use sha2::{Digest, Sha256};

use crate::exif_fields::ExifSummary;
use crate::header::{ColorModel, ImageHeader};
use crate::{MediaFormat, ThumbnailSource};

/// Everything mediaflow records about an image. Serialised as-is into `metadata.json` and DynamoDB.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageMetadata {
    /// Container format, from magic bytes.
    pub format: MediaFormat,
    /// Input size in bytes.
    pub bytes: u64,
    /// Stored width in pixels.
    pub width: u32,
    /// Stored height in pixels.
    pub height: u32,
    /// Width as displayed, after EXIF orientation.
    pub display_width: u32,
    /// Height as displayed, after EXIF orientation.
    pub display_height: u32,
    /// EXIF orientation, 1–8 (1 when absent).
    pub orientation: u8,
    /// Bits per channel sample.
    pub bit_depth: u8,
    /// How colour is stored.
    pub color_model: ColorModel,
    /// Whether the image has transparency.
    pub has_alpha: bool,
    /// Whether the image has more than one frame.
    pub animated: bool,
    /// Number of frames (1 for still images).
    pub frame_count: u32,
    /// Whether the image is progressive (JPEG) or interlaced (PNG, GIF).
    pub progressive: bool,
    /// The embedded ICC profile's description, if there is a profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icc_profile: Option<String>,
    /// Camera, capture and GPS facts from EXIF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif: Option<ExifSummary>,
    /// SHA-256 of the input bytes, lowercase hex: exact-duplicate search.
    pub sha256: String,
    /// 64-bit gradient hash of the displayed image, 16 hex digits: near-duplicate search by
    /// Hamming distance.
    pub perceptual_hash: String,
    /// A BlurHash (4×3 components) placeholder of the displayed image.
    pub blurhash: String,
    /// The most common colour of the displayed image, `#rrggbb`.
    pub dominant_color: String,
    /// Which pixels the thumbnails and fingerprints were made from: the image itself, or a camera's
    /// embedded preview of it (see [`EmbeddedPreviews`](crate::EmbeddedPreviews)). Records written
    /// before this field existed read as the image itself.
    #[serde(default)]
    pub thumbnail_source: ThumbnailSource,
    /// Why a JPEG with a Multi-Picture Format index (as cameras that embed a preview write) had its
    /// thumbnails made from the main image after all: a stable code such as `edited-after-capture`,
    /// `preview-too-small` or `no-large-thumbnail`. Absent for every other image, and when
    /// [`EmbeddedPreviews::Never`](crate::EmbeddedPreviews::Never) turned previews off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_preview_declined: Option<String>,
}

/// The edge of the small image the fingerprints are computed from.
pub(crate) const FINGERPRINT_BOX: u32 = 64;

/// Fingerprints of the displayed image, computed from a copy at most [`FINGERPRINT_BOX`] wide.
pub(crate) struct Fingerprints {
    pub perceptual_hash: String,
    pub blurhash: String,
    pub dominant_color: String,
}

impl Fingerprints {
    /// Computes all fingerprints of `small` (upright, RGB, at most [`FINGERPRINT_BOX`] on a side).
    pub(crate) fn of(small: &RgbImage) -> Fingerprints {
        let hasher = image_hasher::HasherConfig::new()
            .hash_alg(image_hasher::HashAlg::Gradient)
            .hash_size(8, 8)
            .to_hasher();
        let hash = hasher.hash_image(&DynamicImage::ImageRgb8(small.clone()));
        let rgba: Vec<u8> = small.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
        let blurhash = blurhash::encode(4, 3, small.width(), small.height(), &rgba).unwrap_or_default();
        Fingerprints {
            perceptual_hash: hex(hash.as_bytes()),
            blurhash,
            dominant_color: dominant_color(small),
        }
    }
}

/// The mean of the most populated 4-bit-per-channel colour bucket. A full median-cut quantiser
/// (the `color_thief` approach) buys nothing for one colour on a 64 px image, so this is hand-written.
fn dominant_color(image: &RgbImage) -> String {
    let bucket = |p: &image::Rgb<u8>| {
        (usize::from(p[0] >> 4) << 8) | (usize::from(p[1] >> 4) << 4) | usize::from(p[2] >> 4)
    };
    let mut counts = vec![0u32; 4096];
    for pixel in image.pixels() {
        counts[bucket(pixel)] += 1;
    }
    let Some((best, _)) =
        counts.iter().enumerate().max_by_key(|&(index, count)| (*count, std::cmp::Reverse(index)))
    else {
        return "#000000".into();
    };
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for pixel in image.pixels().filter(|p| bucket(p) == best) {
        for (total, &channel) in sum.iter_mut().zip(pixel.0.iter()) {
            *total += u64::from(channel);
        }
        n += 1;
    }
    let n = n.max(1);
    format!("#{:02x}{:02x}{:02x}", sum[0] / n, sum[1] / n, sum[2] / n)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The ICC profile embedded in an image the core decodes itself, if it has one.
pub(crate) fn embedded_icc_profile(bytes: &[u8], header: &ImageHeader) -> Option<Vec<u8>> {
    match header.format {
        MediaFormat::Jpeg => {
            let header = crate::jpeg_segments::header_only(bytes);
            image::codecs::jpeg::JpegDecoder::new(Cursor::new(header)).ok()?.icc_profile().ok()?
        }
        MediaFormat::Png | MediaFormat::Webp | MediaFormat::Tiff => {
            let reader = image::ImageReader::with_format(
                Cursor::new(bytes),
                crate::header::image_format(header.format),
            );
            reader.into_decoder().ok()?.icc_profile().ok()?
        }
        _ => None,
    }
}

/// The description of an ICC profile, if it parses and has one.
fn icc_profile_description(icc: &[u8]) -> Option<String> {
    let profile = moxcms::ColorProfile::new_from_slice(icc).ok()?;
    let text = match profile.description? {
        moxcms::ProfileText::PlainString(text) => text,
        moxcms::ProfileText::Localizable(strings) => strings.into_iter().next()?.value,
        moxcms::ProfileText::Description(description) => description.ascii_string,
    };
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string();
    (!text.is_empty()).then_some(text)
}

/// What the metadata record is built from, besides the input's bytes and header.
pub(crate) struct MetadataParts<'a> {
    /// EXIF orientation, 1–8.
    pub orientation: u8,
    /// The EXIF fields reported.
    pub exif: Option<ExifSummary>,
    /// The embedded ICC profile.
    pub icc_profile: Option<&'a [u8]>,
    /// Fingerprints of the displayed image.
    pub fingerprints: Fingerprints,
    /// Which pixels the thumbnails and fingerprints were made from.
    pub thumbnail_source: ThumbnailSource,
    /// Why an embedded preview was not used, when there was one to consider.
    pub embedded_preview_declined: Option<String>,
}

/// Builds the metadata record from its parts.
pub(crate) fn assemble(bytes: &[u8], header: &ImageHeader, parts: MetadataParts<'_>) -> ImageMetadata {
    let MetadataParts {
        orientation,
        exif,
        icc_profile,
        fingerprints,
        thumbnail_source,
        embedded_preview_declined,
    } = parts;
    let swaps_axes = orientation >= 5;
    let (display_width, display_height) =
        if swaps_axes { (header.height, header.width) } else { (header.width, header.height) };
    ImageMetadata {
        format: header.format,
        bytes: bytes.len() as u64,
        width: header.width,
        height: header.height,
        display_width,
        display_height,
        orientation,
        bit_depth: header.bit_depth,
        color_model: header.color_model,
        has_alpha: header.has_alpha,
        animated: header.is_animated(),
        frame_count: header.frame_count,
        progressive: header.progressive,
        icc_profile: icc_profile.and_then(icc_profile_description),
        exif,
        sha256: sha256_hex(bytes),
        perceptual_hash: fingerprints.perceptual_hash,
        blurhash: fingerprints.blurhash,
        dominant_color: fingerprints.dominant_color,
        thumbnail_source,
        embedded_preview_declined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_colour_is_the_majority_colour() {
        let mut image = RgbImage::from_pixel(10, 10, image::Rgb([200, 30, 40]));
        for x in 0..10 {
            image.put_pixel(x, 0, image::Rgb([0, 0, 255]));
        }
        assert_eq!(dominant_color(&image), "#c81e28");
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

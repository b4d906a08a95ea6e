//! The entry points: one decode of an image serves its thumbnails and its metadata.

use std::panic::AssertUnwindSafe;

use image::DynamicImage;

use crate::decode::{decode_for_box, flatten_on_white};
use crate::exif_fields::ExifData;
use crate::header::{ImageHeader, read_header};
use crate::metadata::{FINGERPRINT_BOX, Fingerprints, ImageMetadata, assemble};
use crate::thumbnail::{Thumbnail, ThumbnailOptions, encode_thumbnail, orient, resize_cascade};
use crate::{Limits, MediaError, MediaFormat, MediaKind, sniff};

/// The result of processing one image.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    /// What the image is.
    pub metadata: ImageMetadata,
    /// One thumbnail per requested size, in the order requested.
    pub thumbnails: Vec<Thumbnail>,
}

/// Sniffs `bytes`, checks them against `limits`, and reads the image header. Videos, audio,
/// HEIF/AVIF and unknown bytes give `unsupported-format`.
pub fn inspect_image(bytes: &[u8], limits: &Limits) -> Result<ImageHeader, MediaError> {
    limits.check_input_bytes(bytes.len() as u64)?;
    let format = sniff(bytes).ok_or_else(|| MediaError::UnsupportedFormat {
        format: None,
        reason: if bytes.is_empty() { "empty input".into() } else { "unrecognised content".into() },
    })?;
    if format.kind() != MediaKind::Image {
        return Err(MediaError::UnsupportedFormat { format: Some(format), reason: "not an image".into() });
    }
    read_header(bytes, format, limits)
}

/// Makes every thumbnail in `options` and the metadata of the image in `bytes`, decoding it once.
///
/// A panic inside a third-party decoder on hostile bytes is caught and reported as `corrupt-input`,
/// so one bad file cannot take down a worker that is processing others.
pub fn process_image(
    bytes: &[u8],
    options: &ThumbnailOptions,
    limits: &Limits,
) -> Result<ProcessedImage, MediaError> {
    std::panic::catch_unwind(AssertUnwindSafe(|| process_image_unguarded(bytes, options, limits)))
        .unwrap_or_else(|panic| {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let reason = format!("decoder panicked: {reason}");
            Err(match sniff(bytes) {
                Some(format) => MediaError::CorruptInput { format, reason },
                None => MediaError::UnsupportedFormat { format: None, reason },
            })
        })
}

fn process_image_unguarded(
    bytes: &[u8],
    options: &ThumbnailOptions,
    limits: &Limits,
) -> Result<ProcessedImage, MediaError> {
    options.validate()?;
    let header = inspect_image(bytes, limits)?;
    let exif = ExifData::read(bytes);
    let orientation = exif.orientation();
    let decode_box = options.largest_size().max(FINGERPRINT_BOX);
    let decoded = decode_for_box(bytes, &header, limits, decode_box)?;

    let mut sizes = options.sizes.clone();
    sizes.push(FINGERPRINT_BOX);
    let mut resized = resize_cascade(&decoded, header.width, header.height, &sizes)?;
    drop(decoded);
    let fingerprint_image = resized.pop().map(|(_, image)| image).unwrap_or_default();
    let fingerprints = fingerprints_of(fingerprint_image, orientation);
    let thumbnails = resized
        .into_iter()
        .map(|(size, image)| encode_thumbnail(size, image, orientation, options))
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = assemble(bytes, &header, orientation, exif.summary(), fingerprints);
    Ok(ProcessedImage { metadata, thumbnails })
}

/// The metadata of the image in `bytes` (decoded only at the small size the fingerprints need).
pub fn read_metadata(bytes: &[u8], limits: &Limits) -> Result<ImageMetadata, MediaError> {
    let no_thumbnails = ThumbnailOptions { sizes: Vec::new(), ..ThumbnailOptions::default() };
    Ok(process_image(bytes, &no_thumbnails, limits)?.metadata)
}

fn fingerprints_of(mut image: DynamicImage, orientation: u8) -> Fingerprints {
    orient(&mut image, orientation);
    let rgb = match image {
        DynamicImage::ImageRgba8(rgba) => flatten_on_white(&rgba),
        other => other.into_rgb8(),
    };
    Fingerprints::of(&rgb)
}

/// Whether `format` is an image format the core decodes (HEIF and AVIF are only recognised).
pub fn is_decodable_image(format: MediaFormat) -> bool {
    format.kind() == MediaKind::Image && !matches!(format, MediaFormat::Heif | MediaFormat::Avif)
}

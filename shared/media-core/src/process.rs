//! The entry points: one decode of an image serves its thumbnails and its metadata.

use std::panic::AssertUnwindSafe;

use image::{DynamicImage, RgbImage};

use crate::decode::{decode_for_box, flatten_on_white};
use crate::exif_fields::ExifData;
use crate::header::{ImageHeader, checked, read_header};
use crate::linked::{ImageDecoders, LinkedImage};
use crate::metadata::{
    FINGERPRINT_BOX, Fingerprints, ImageMetadata, MetadataParts, assemble, embedded_icc_profile,
};
use crate::mpf::MpfError;
use crate::preview::{PreviewRejection, decode_embedded_preview};
use crate::thumbnail::{Thumbnail, ThumbnailOptions, encode_thumbnail, orient, resize_cascade};
use crate::{EmbeddedPreviews, Limits, MediaError, MediaFormat, MediaKind, ThumbnailSource, sniff};

/// The result of processing one image.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    /// What the image is.
    pub metadata: ImageMetadata,
    /// One thumbnail per requested size, in the order requested.
    pub thumbnails: Vec<Thumbnail>,
}

/// Sniffs `bytes`, checks them against `limits`, and reads the image header, with the core's own
/// decoders (HEIF and AVIF need [`ImageDecoders::inspect_image`] with a linked decoder).
pub fn inspect_image(bytes: &[u8], limits: &Limits) -> Result<ImageHeader, MediaError> {
    ImageDecoders::default().inspect_image(bytes, limits)
}

/// [`ImageDecoders::process_image`] with the core's own decoders.
pub fn process_image(
    bytes: &[u8],
    options: &ThumbnailOptions,
    limits: &Limits,
) -> Result<ProcessedImage, MediaError> {
    ImageDecoders::default().process_image(bytes, options, limits)
}

/// [`ImageDecoders::read_metadata`] with the core's own decoders.
pub fn read_metadata(bytes: &[u8], limits: &Limits) -> Result<ImageMetadata, MediaError> {
    ImageDecoders::default().read_metadata(bytes, limits)
}

impl ImageDecoders {
    /// Sniffs `bytes`, checks them against `limits`, and reads the image header. Videos, audio,
    /// unknown bytes, and HEIF/AVIF without a linked decoder give `unsupported-format`.
    pub fn inspect_image(&self, bytes: &[u8], limits: &Limits) -> Result<ImageHeader, MediaError> {
        limits.check_input_bytes(bytes.len() as u64)?;
        let format = sniff(bytes).ok_or_else(|| MediaError::UnsupportedFormat {
            format: None,
            reason: if bytes.is_empty() { "empty input".into() } else { "unrecognised content".into() },
        })?;
        if format.kind() != MediaKind::Image {
            return Err(MediaError::UnsupportedFormat {
                format: Some(format),
                reason: "not an image".into(),
            });
        }
        let Some(linked) = self.linked_for(format) else {
            return read_header(bytes, format, limits);
        };
        checked(linked.read_header(bytes, format, limits)?, limits)
    }

    /// Makes every thumbnail in `options` and the metadata of the image in `bytes`, decoding it once.
    ///
    /// A panic inside a third-party decoder on hostile bytes is caught and reported as
    /// `corrupt-input`, so one bad file cannot take down a worker that is processing others. This
    /// is the last line of defence: the panics found so far are fixed where they happen (see
    /// `tests/no_panics.rs`).
    pub fn process_image(
        &self,
        bytes: &[u8],
        options: &ThumbnailOptions,
        limits: &Limits,
    ) -> Result<ProcessedImage, MediaError> {
        guarded(bytes, || self.process_image_unguarded(bytes, options, limits))
    }

    /// The image in `bytes` upright and opaque (alpha flattened on white), fitted within a
    /// `side`×`side` box (never enlarged): what a classifier looks at. Decodes no larger than the
    /// box needs, so a 12 MP JPEG is read at 1/8 scale for a 256 px box. Never from an embedded
    /// preview, whatever [`EmbeddedPreviews`] says: a classifier must judge the pixels a viewer
    /// opens, and a preview is the one part of a file that can differ from them unseen. Panics in a
    /// decoder are caught as in [`process_image`](ImageDecoders::process_image).
    pub fn render_upright(&self, bytes: &[u8], limits: &Limits, side: u32) -> Result<RgbImage, MediaError> {
        guarded(bytes, || {
            let header = self.inspect_image(bytes, limits)?;
            let (decoded, orientation) = match self.linked_for(header.format) {
                Some(linked) => (linked.decode(bytes, &header, limits)?.image, 1),
                None => (
                    decode_for_box(bytes, &header, limits, side)?,
                    ExifData::read(bytes, header.format).orientation(),
                ),
            };
            upright_in_box(decoded, &header, orientation, side)
        })
    }

    /// The embedded preview that [`process_image`](ImageDecoders::process_image) would make
    /// `options`' thumbnails from, upright and opaque in a `side`×`side` box as
    /// [`render_upright`](ImageDecoders::render_upright) renders the main image; `None` when the
    /// thumbnails come from the main image (nearly every file). For moderation: the rules only
    /// catch honest edits, and a file can be built whose preview shows something else than its
    /// main image, so a classifier that judges the main image must judge this too.
    pub fn render_thumbnail_preview(
        &self,
        bytes: &[u8],
        options: &ThumbnailOptions,
        limits: &Limits,
        side: u32,
    ) -> Result<Option<RgbImage>, MediaError> {
        guarded(bytes, || {
            let header = self.inspect_image(bytes, limits)?;
            if header.format != MediaFormat::Jpeg
                || self.embedded_previews() != EmbeddedPreviews::WhenSafe
                || self.linked_for(header.format).is_some()
            {
                return Ok(None);
            }
            let exif = ExifData::read(bytes, header.format);
            let decode_box = options.largest_size().max(FINGERPRINT_BOX);
            match decode_embedded_preview(bytes, &header, &exif, limits, decode_box) {
                Ok(preview) => upright_in_box(preview.image, &header, exif.orientation(), side).map(Some),
                Err(_) => Ok(None),
            }
        })
    }

    /// The metadata of the image in `bytes` (decoded only at the small size the fingerprints need).
    pub fn read_metadata(&self, bytes: &[u8], limits: &Limits) -> Result<ImageMetadata, MediaError> {
        let no_thumbnails = ThumbnailOptions { sizes: Vec::new(), ..ThumbnailOptions::default() };
        Ok(self.process_image(bytes, &no_thumbnails, limits)?.metadata)
    }

    fn process_image_unguarded(
        &self,
        bytes: &[u8],
        options: &ThumbnailOptions,
        limits: &Limits,
    ) -> Result<ProcessedImage, MediaError> {
        options.validate()?;
        let header = self.inspect_image(bytes, limits)?;
        let (decoded, exif, orientation, icc_profile, source) = match self.linked_for(header.format) {
            // The container's transformations are already applied: its EXIF orientation is not.
            Some(linked) => {
                let LinkedImage { image, icc_profile, exif } = linked.decode(bytes, &header, limits)?;
                let exif = exif.map(ExifData::from_tiff).unwrap_or_default();
                (image, exif, 1, icc_profile, PixelSource::default())
            }
            None => {
                let exif = ExifData::read(bytes, header.format);
                let orientation = exif.orientation();
                let decode_box = options.largest_size().max(FINGERPRINT_BOX);
                let (decoded, source) =
                    self.decode_for_thumbnails(bytes, &header, &exif, limits, decode_box)?;
                (decoded, exif, orientation, embedded_icc_profile(bytes, &header), source)
            }
        };

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
        let parts = MetadataParts {
            orientation,
            exif: exif.summary(),
            icc_profile: icc_profile.as_deref(),
            fingerprints,
            thumbnail_source: source.thumbnail_source,
            embedded_preview_declined: source.embedded_preview_declined,
        };
        Ok(ProcessedImage { metadata: assemble(bytes, &header, parts), thumbnails })
    }

    /// The image in `bytes` (decoded by the core), no smaller than a `decode_box` box needs: from
    /// its embedded preview when these decoders allow one and the file passes every rule of
    /// `preview.rs`, from the image itself otherwise (whatever the reason, which is not the input's
    /// fault). The thumbnails are sized from the main image's header either way.
    fn decode_for_thumbnails(
        &self,
        bytes: &[u8],
        header: &ImageHeader,
        exif: &ExifData,
        limits: &Limits,
        decode_box: u32,
    ) -> Result<(DynamicImage, PixelSource), MediaError> {
        let mut source = PixelSource::default();
        if header.format == MediaFormat::Jpeg && self.embedded_previews() == EmbeddedPreviews::WhenSafe {
            match decode_embedded_preview(bytes, header, exif, limits, decode_box) {
                Ok(preview) => {
                    source.thumbnail_source = preview.source;
                    return Ok((preview.image, source));
                }
                // Nearly every JPEG: nothing was declined.
                Err(PreviewRejection::Index(MpfError::Absent)) => {}
                Err(rejection) => source.embedded_preview_declined = Some(rejection.code().to_string()),
            }
        }
        Ok((decode_for_box(bytes, header, limits, decode_box)?, source))
    }
}

/// `decoded` (of the image `header` describes) fitted in a `side`×`side` box, turned upright by
/// its EXIF `orientation`, alpha flattened on white: what a classifier is handed.
fn upright_in_box(
    decoded: DynamicImage,
    header: &ImageHeader,
    orientation: u8,
    side: u32,
) -> Result<RgbImage, MediaError> {
    let mut resized = resize_cascade(&decoded, header.width, header.height, &[side])?;
    drop(decoded);
    let mut image = resized.pop().map(|(_, image)| image).unwrap_or_default();
    orient(&mut image, orientation);
    Ok(match image {
        DynamicImage::ImageRgba8(rgba) => flatten_on_white(&rgba),
        other => other.into_rgb8(),
    })
}

/// Where the decoded pixels came from, for the metadata.
#[derive(Default)]
struct PixelSource {
    thumbnail_source: ThumbnailSource,
    embedded_preview_declined: Option<String>,
}

/// Runs `work` on `bytes`, turning a panic inside a third-party decoder into `corrupt-input` (or
/// `unsupported-format` for bytes nothing recognises).
fn guarded<T>(bytes: &[u8], work: impl FnOnce() -> Result<T, MediaError>) -> Result<T, MediaError> {
    std::panic::catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
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

fn fingerprints_of(mut image: DynamicImage, orientation: u8) -> Fingerprints {
    orient(&mut image, orientation);
    let rgb = match image {
        DynamicImage::ImageRgba8(rgba) => flatten_on_white(&rgba),
        other => other.into_rgb8(),
    };
    Fingerprints::of(&rgb)
}

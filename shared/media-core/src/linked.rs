//! Still formats whose decoder lives outside the core: HEIF/HEIC and AVIF, decoded by libheif in
//! the `media-heif` crate. Only the binaries that make thumbnails or read image metadata link that
//! crate (libheif, libde265 and dav1d add megabytes a function like `ingest` has no use for), so the
//! core knows the decoder only through [`LinkedDecoder`] and callers hand it in with
//! [`ImageDecoders`].

use std::sync::Arc;

use image::DynamicImage;

use crate::{EmbeddedPreviews, ImageHeader, Limits, MediaError, MediaFormat};

/// A decoder for formats the core recognises but does not decode itself.
pub trait LinkedDecoder: Send + Sync {
    /// Whether this decoder reads `format`.
    fn decodes(&self, format: MediaFormat) -> bool;

    /// The header of the primary image, with its size *as displayed*: the container's own
    /// rotation, mirroring and crop are applied by [`decode`](LinkedDecoder::decode), so the EXIF
    /// orientation inside such a file must not be applied again. Allocates nothing in proportion
    /// to the claimed size; the caller checks the result against `limits`.
    fn read_header(
        &self,
        bytes: &[u8],
        format: MediaFormat,
        limits: &Limits,
    ) -> Result<ImageHeader, MediaError>;

    /// Decodes the primary image upright, in sRGB, to 8-bit RGB (RGBA when `header.has_alpha`,
    /// not premultiplied), at `header`'s size.
    fn decode(&self, bytes: &[u8], header: &ImageHeader, limits: &Limits) -> Result<LinkedImage, MediaError>;
}

/// What a [`LinkedDecoder`] decoded.
#[derive(Debug, Clone)]
pub struct LinkedImage {
    /// The pixels: upright, sRGB, 8-bit RGB or RGBA.
    pub image: DynamicImage,
    /// The ICC profile the file declared (described in the metadata; the pixels are already sRGB).
    pub icc_profile: Option<Vec<u8>>,
    /// The EXIF block as a TIFF structure (starting with `II*\0` or `MM\0*`), for camera, time and GPS.
    pub exif: Option<Vec<u8>>,
}

/// The decoders an image is processed with: the core's own, plus a [`LinkedDecoder`] in the
/// binaries that link one, and whether JPEG thumbnails may come from a camera's embedded preview
/// (by default when safe). Cheap to clone.
#[derive(Clone, Default)]
pub struct ImageDecoders {
    linked: Option<Arc<dyn LinkedDecoder>>,
    embedded_previews: EmbeddedPreviews,
}

impl std::fmt::Debug for ImageDecoders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageDecoders")
            .field("linked", &self.linked.is_some())
            .field("embedded_previews", &self.embedded_previews)
            .finish()
    }
}

impl ImageDecoders {
    /// The core's decoders and `linked`.
    pub fn with_linked(linked: Arc<dyn LinkedDecoder>) -> ImageDecoders {
        ImageDecoders { linked: Some(linked), ..ImageDecoders::default() }
    }

    /// These decoders with `previews` deciding whether thumbnails and fingerprints of a JPEG may be
    /// made from its embedded preview. [`EmbeddedPreviews::Never`] decodes every main image, for
    /// callers whose thumbnails must come from exactly the pixels a viewer opens.
    pub fn with_embedded_previews(self, previews: EmbeddedPreviews) -> ImageDecoders {
        ImageDecoders { embedded_previews: previews, ..self }
    }

    /// Whether thumbnails may come from embedded previews.
    pub fn embedded_previews(&self) -> EmbeddedPreviews {
        self.embedded_previews
    }

    /// The linked decoder for `format`, when there is one that reads it.
    pub(crate) fn linked_for(&self, format: MediaFormat) -> Option<&dyn LinkedDecoder> {
        self.linked.as_deref().filter(|decoder| decoder.decodes(format))
    }

    /// Whether images in `format` are decoded (by the core, or by the linked decoder).
    pub fn decodes(&self, format: MediaFormat) -> bool {
        match format {
            MediaFormat::Heif | MediaFormat::Avif => self.linked_for(format).is_some(),
            other => other.kind() == crate::MediaKind::Image,
        }
    }
}

//! HEIF/HEIC and AVIF stills for mediaflow's image core.
//!
//! libheif reads the container and hands the coded images to libde265 (HEVC: iPhone HEIC) or dav1d
//! (AV1: AVIF); all three are built by `scripts/build-static-libs.sh` and linked statically. The
//! core only knows this crate through [`media_core::LinkedDecoder`]: the binaries that make
//! thumbnails or read image metadata pass [`image_decoders`] to it, and the others (`ingest`,
//! `reconcile`) do not carry libheif at all.
//!
//! libheif applies the container's transformations (`irot`, `imir`, `clap`) while decoding, so the
//! image comes out upright and an EXIF orientation inside the file is ignored, as Apple's and
//! libheif's own viewers do; grid images (iPhone photos are 512 px tiles) are assembled, and the
//! primary image is what is decoded from bursts and sequences, not their depth or auxiliary images.

mod color;
mod error;

use std::sync::Arc;

use image::{DynamicImage, RgbImage, RgbaImage};
use libheif_rs::{ColorSpace, HeifContext, ImageHandle, ItemId, LibHeif, RgbChroma};
use media_core::{
    ColorModel, ImageDecoders, ImageHeader, Limits, LinkedDecoder, LinkedImage, MediaError, MediaFormat,
};

use crate::error::heif_error;

/// The core's decoders plus HEIF and AVIF.
pub fn image_decoders() -> ImageDecoders {
    ImageDecoders::with_linked(Arc::new(HeifDecoder::new()))
}

/// HEIF and AVIF through libheif.
pub struct HeifDecoder {
    // Keeps libheif initialised (its decoder plugins registered) for as long as the decoder lives.
    lib: LibHeif,
}

impl HeifDecoder {
    /// Initialises libheif.
    pub fn new() -> HeifDecoder {
        HeifDecoder { lib: LibHeif::new() }
    }
}

impl Default for HeifDecoder {
    fn default() -> Self {
        HeifDecoder::new()
    }
}

impl LinkedDecoder for HeifDecoder {
    fn decodes(&self, format: MediaFormat) -> bool {
        matches!(format, MediaFormat::Heif | MediaFormat::Avif)
    }

    fn read_header(
        &self,
        bytes: &[u8],
        format: MediaFormat,
        limits: &Limits,
    ) -> Result<ImageHeader, MediaError> {
        let context = open(bytes, format, limits)?;
        let handle = context.primary_image_handle().map_err(|e| heif_error(format, limits, e))?;
        let monochrome = matches!(handle.preferred_decoding_colorspace(), Ok(ColorSpace::Monochrome));
        let has_alpha = handle.has_alpha_channel();
        let color_model = match (monochrome, has_alpha) {
            (true, false) => ColorModel::Gray,
            (true, true) => ColorModel::GrayAlpha,
            (false, false) => ColorModel::Rgb,
            (false, true) => ColorModel::Rgba,
        };
        Ok(ImageHeader {
            format,
            // The size after the container's transformations, from `ispe` and the transformation
            // properties: nothing is decoded yet.
            width: handle.width(),
            height: handle.height(),
            bit_depth: handle.luma_bits_per_pixel(),
            color_model,
            has_alpha,
            frame_count: 1,
            progressive: false,
        })
    }

    fn decode(&self, bytes: &[u8], header: &ImageHeader, limits: &Limits) -> Result<LinkedImage, MediaError> {
        let format = header.format;
        let context = open(bytes, format, limits)?;
        let handle = context.primary_image_handle().map_err(|e| heif_error(format, limits, e))?;
        // Interleaved 8-bit output: libheif converts YCbCr with the file's matrix, upsamples chroma
        // and scales 10- and 12-bit samples down.
        let chroma = if header.has_alpha { RgbChroma::Rgba } else { RgbChroma::Rgb };
        let decoded = self
            .lib
            .decode(&handle, ColorSpace::Rgb(chroma), None)
            .map_err(|e| heif_error(format, limits, e))?;
        let plane = decoded.planes().interleaved.ok_or_else(|| MediaError::CorruptInput {
            format,
            reason: "libheif returned no interleaved RGB plane".into(),
        })?;
        let channels = if header.has_alpha { 4 } else { 3 };
        let (width, height) = (plane.width, plane.height);
        let row_bytes = width as usize * channels;
        if (width, height) != (header.width, header.height) || plane.stride < row_bytes {
            return Err(MediaError::CorruptInput {
                format,
                reason: format!(
                    "decoded {width}x{height}, the header says {}x{}",
                    header.width, header.height
                ),
            });
        }
        let mut pixels = Vec::with_capacity(row_bytes * height as usize);
        for row in plane.data.chunks(plane.stride).take(height as usize) {
            pixels.extend_from_slice(&row[..row_bytes]);
        }
        drop(decoded);

        if header.has_alpha && handle.is_premultiplied_alpha() {
            color::unpremultiply(&mut pixels);
        }
        let icc_profile = handle.color_profile_raw().map(|profile| profile.data);
        let pixels =
            color::to_srgb(pixels, header.has_alpha, icc_profile.as_deref(), handle.color_profile_nclx());
        let image = if header.has_alpha {
            RgbaImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgba8)
        } else {
            RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
        }
        .ok_or_else(|| MediaError::CorruptInput { format, reason: "decoded size mismatch".into() })?;
        Ok(LinkedImage { image, icc_profile, exif: exif_block(&handle) })
    }
}

/// Parses the container (nothing is decoded yet), with libheif's memory budget set to ours. The
/// claimed size is checked by the core against `limits` after [`LinkedDecoder::read_header`].
fn open<'a>(bytes: &'a [u8], format: MediaFormat, limits: &Limits) -> Result<HeifContext<'a>, MediaError> {
    let mut context = HeifContext::new().map_err(|e| heif_error(format, limits, e))?;
    let mut security = context.security_limits();
    security.set_max_total_memory(limits.max_decoder_alloc());
    context.set_security_limits(&security).map_err(|e| heif_error(format, limits, e))?;
    context.read_bytes(bytes).map_err(|e| heif_error(format, limits, e))?;
    Ok(context)
}

/// The primary image's EXIF block as a TIFF structure. HEIF stores it behind a 4-byte big-endian
/// offset to the TIFF header (usually 6, skipping `Exif\0\0`).
fn exif_block(handle: &ImageHandle) -> Option<Vec<u8>> {
    let mut ids: [ItemId; 1] = [0];
    if handle.metadata_block_ids(&mut ids, b"Exif") == 0 {
        return None;
    }
    let block = handle.metadata(ids[0]).ok()?;
    let offset = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    block.get(4usize.checked_add(offset)?..).map(<[u8]>::to_vec)
}

//! Decoding to 8-bit RGB or RGBA, at the smallest size that still serves the largest output.
//!
//! JPEGs go through libjpeg-turbo (SIMD, run-time dispatch), which scales by 1/2, 1/4 or 1/8 in the
//! DCT domain: a 12 MP photo that only needs a 256 px thumbnail is decoded as 0.19 MP; at 1/8,
//! baseline JPEGs take the DC-only path of `jpeg_dc` instead. Everything else goes through the
//! `image` crate. The result stays in stored orientation; callers rotate the (much smaller)
//! outputs.

use std::cell::RefCell;
use std::io::Cursor;

use image::{DynamicImage, RgbImage, RgbaImage};

use crate::error::decode_error;
use crate::geometry::{fit_within, jpeg_scale_denominator};
use crate::header::{ColorModel, ImageHeader, image_format, image_limits, with_grey_global_palette};
use crate::jpeg_segments::with_repaired_header;
use crate::{Limits, MediaError, MediaFormat};

/// The most progressive scans a JPEG may have. Real encoders write about ten; the limit stops the
/// "many tiny scans" denial-of-service described by libjpeg-turbo's maintainers.
const MAX_JPEG_SCANS: u32 = 256;

thread_local! {
    // A decompressor holds libjpeg state worth reusing across the images one thread decodes.
    static JPEG_DECOMPRESSOR: RefCell<Option<turbojpeg::Decompressor>> = const { RefCell::new(None) };
}

/// Decodes `bytes` (already checked by [`read_header`](crate::read_header)) into an 8-bit RGB image,
/// or RGBA when `header.has_alpha`, no smaller than needed to fit `largest_box`×`largest_box`.
pub fn decode_for_box(
    bytes: &[u8],
    header: &ImageHeader,
    limits: &Limits,
    largest_box: u32,
) -> Result<DynamicImage, MediaError> {
    match header.format {
        MediaFormat::Jpeg => {
            decode_jpeg_covering(bytes, header, fit_within(header.width, header.height, largest_box))
        }
        MediaFormat::Gif => decode_with_image_crate(&with_grey_global_palette(bytes), header, limits),
        MediaFormat::Tiff => crate::tiff_direct::decode(bytes, header, limits)
            .unwrap_or_else(|| decode_with_image_crate(bytes, header, limits)),
        _ => decode_with_image_crate(bytes, header, limits),
    }
}

/// Decodes a JPEG (already checked by [`read_header`](crate::read_header)) to 8-bit RGB at the
/// strongest DCT scale that still leaves it at least `target` (width, height). An embedded preview
/// is decoded with the target of its main image, whose aspect ratio may differ from its own by a
/// rounding pixel.
pub(crate) fn decode_jpeg_covering(
    bytes: &[u8],
    header: &ImageHeader,
    target: (u32, u32),
) -> Result<DynamicImage, MediaError> {
    decode_jpeg(&with_repaired_header(bytes), header, target)
}

fn decode_jpeg(
    bytes: &[u8],
    header: &ImageHeader,
    (target_width, target_height): (u32, u32),
) -> Result<DynamicImage, MediaError> {
    let denominator = jpeg_scale_denominator(header.width, header.height, target_width, target_height);
    let scaling = turbojpeg::ScalingFactor::new(1, denominator as usize);
    let width = header.width.div_ceil(denominator);
    let height = header.height.div_ceil(denominator);
    let cmyk = header.color_model == ColorModel::Cmyk;
    // At 1/8 scale a baseline JPEG needs only its DC coefficients: the same pixels as
    // libjpeg-turbo's, without decoding the AC ones (see jpeg_dc.rs). What that path does not
    // reproduce exactly is left to libjpeg-turbo.
    if denominator == 8 && !cmyk {
        let image =
            crate::jpeg_dc::decode_eighth(bytes).filter(|image| image.dimensions() == (width, height));
        if let Some(image) = image {
            return Ok(DynamicImage::ImageRgb8(image));
        }
    }
    // libjpeg cannot convert CMYK/YCCK to RGB, so those are decoded to CMYK and converted here.
    let (format, channels) =
        if cmyk { (turbojpeg::PixelFormat::CMYK, 4) } else { (turbojpeg::PixelFormat::RGB, 3) };
    let mut pixels = vec![0u8; width as usize * height as usize * channels];
    let jpeg_error = |e: turbojpeg::Error| MediaError::from_decoder(MediaFormat::Jpeg, e);
    JPEG_DECOMPRESSOR.with_borrow_mut(|slot| -> Result<(), MediaError> {
        let decompressor = match slot {
            Some(decompressor) => decompressor,
            None => slot.insert(turbojpeg::Decompressor::new().map_err(jpeg_error)?),
        };
        decompressor.set_scan_limit(MAX_JPEG_SCANS).map_err(jpeg_error)?;
        decompressor.set_scaling_factor(scaling).map_err(jpeg_error)?;
        let image = turbojpeg::Image {
            pixels: pixels.as_mut_slice(),
            width: width as usize,
            pitch: width as usize * channels,
            height: height as usize,
            format,
        };
        match decompressor.decompress(bytes, image) {
            // libjpeg reports stray bytes between segments as a warning after decoding every pixel;
            // many cameras and editors write them, and every viewer shows those files.
            Err(turbojpeg::Error::TurboJpegError(message)) if message.contains("extraneous bytes") => Ok(()),
            result => result.map_err(jpeg_error),
        }
    })?;
    let rgb = if cmyk { cmyk_to_srgb(bytes, &pixels) } else { pixels };
    RgbImage::from_raw(width, height, rgb).map(DynamicImage::ImageRgb8).ok_or_else(|| {
        MediaError::CorruptInput { format: MediaFormat::Jpeg, reason: "decoded size mismatch".into() }
    })
}

/// Converts decoded CMYK to sRGB through the JPEG's embedded CMYK ICC profile when it has one (as
/// print-ready files from Photoshop do), and with the plain formula otherwise.
fn cmyk_to_srgb(jpeg: &[u8], inverted_cmyk: &[u8]) -> Vec<u8> {
    use image::ImageDecoder;
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};
    let icc = image::codecs::jpeg::JpegDecoder::new(Cursor::new(crate::jpeg_segments::header_only(jpeg)))
        .ok()
        .and_then(|mut d| d.icc_profile().ok()?);
    let transform = icc
        .and_then(|icc| ColorProfile::new_from_slice(&icc).ok())
        .filter(|profile| profile.color_space == DataColorSpace::Cmyk)
        .and_then(|profile| {
            let srgb = ColorProfile::new_srgb();
            profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, TransformOptions::default()).ok()
        });
    let Some(transform) = transform else {
        return inverted_cmyk_to_rgb(inverted_cmyk);
    };
    // ICC CMYK counts ink (0 = none); the JPEG stores it inverted.
    let ink: Vec<u8> = inverted_cmyk.iter().map(|&v| 255 - v).collect();
    let mut rgb = vec![0u8; inverted_cmyk.len() / 4 * 3];
    match transform.transform(&ink, &mut rgb) {
        Ok(()) => rgb,
        Err(_) => inverted_cmyk_to_rgb(inverted_cmyk),
    }
}

/// Adobe applications (and every other common writer) store CMYK JPEGs inverted, so a stored
/// value is 255 minus the ink; RGB is then simply `C'·K'/255` per channel.
fn inverted_cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for pixel in cmyk.chunks_exact(4) {
        let k = u16::from(pixel[3]);
        for &ink in &pixel[..3] {
            rgb.push(((u16::from(ink) * k + 127) / 255) as u8);
        }
    }
    rgb
}

fn decode_with_image_crate(
    bytes: &[u8],
    header: &ImageHeader,
    limits: &Limits,
) -> Result<DynamicImage, MediaError> {
    let max_alloc = limits.max_decoder_alloc();
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(header.format));
    reader.limits(image_limits(limits));
    // For animations this is the first frame, composited onto the canvas.
    let decoded = reader.decode().map_err(|e| decode_error(header.format, e, max_alloc))?;
    Ok(to_rgb8_or_rgba8(decoded, header.has_alpha))
}

/// Converts any decoded image to 8-bit RGB, or RGBA when it has alpha, without copying when it already is.
pub(crate) fn to_rgb8_or_rgba8(image: DynamicImage, keep_alpha: bool) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) if !keep_alpha => image,
        DynamicImage::ImageRgba8(_) if keep_alpha || image.color().has_alpha() => image,
        other if keep_alpha || other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// Flattens RGBA onto white, for outputs and measurements that have no alpha.
pub(crate) fn flatten_on_white(image: &RgbaImage) -> RgbImage {
    let mut rgb = Vec::with_capacity(image.width() as usize * image.height() as usize * 3);
    for pixel in image.as_raw().chunks_exact(4) {
        let alpha = u16::from(pixel[3]);
        for &channel in &pixel[..3] {
            rgb.push(((u16::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(image.width(), image.height(), rgb).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_cmyk_maps_to_the_expected_rgb() {
        // No ink (stored 255) is white; full black (K stored 0) is black; full cyan is (0, 255, 255).
        assert_eq!(inverted_cmyk_to_rgb(&[255, 255, 255, 255]), vec![255, 255, 255]);
        assert_eq!(inverted_cmyk_to_rgb(&[255, 255, 255, 0]), vec![0, 0, 0]);
        assert_eq!(inverted_cmyk_to_rgb(&[0, 255, 255, 255]), vec![0, 255, 255]);
    }

    #[test]
    fn flattening_blends_with_white() {
        let image = RgbaImage::from_raw(2, 1, vec![0, 0, 0, 0, 0, 0, 0, 255]).expect("2x1");
        assert_eq!(flatten_on_white(&image).as_raw(), &vec![255, 255, 255, 0, 0, 0]);
    }
}

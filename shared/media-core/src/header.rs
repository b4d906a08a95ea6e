//! Reading what an image claims about itself (size, colour, frames) without decoding its pixels.
//!
//! TIFF headers are read by [`crate::tiff_direct`], which also decodes the TIFFs the `image`
//! crate refuses; it returns this module's [`ImageHeader`]. The two stay together on purpose: a
//! TIFF's header and its direct decode must agree on which files `tiff_direct` takes, and a
//! separate types module would only move the same two-way dependency.

use std::borrow::Cow;
use std::io::Cursor;

use crate::error::decode_error;
use crate::jpeg_segments::with_repaired_header;
use crate::{Limits, MediaError, MediaFormat};

/// How an image stores colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColorModel {
    /// One luma channel.
    Gray,
    /// Luma and alpha.
    GrayAlpha,
    /// Red, green, blue (or YCbCr in a JPEG).
    Rgb,
    /// RGB and alpha.
    Rgba,
    /// Indexed colours from a palette.
    Palette,
    /// Print colours (CMYK or YCCK JPEG).
    Cmyk,
    /// CIE L*a*b* (TIFF), device-independent.
    Lab,
}

/// What an image's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// The sniffed container format.
    pub format: MediaFormat,
    /// Stored width, before orientation.
    pub width: u32,
    /// Stored height, before orientation.
    pub height: u32,
    /// Bits per channel sample.
    pub bit_depth: u8,
    /// How colour is stored.
    pub color_model: ColorModel,
    /// Whether the image has an alpha channel or transparent palette entries.
    pub has_alpha: bool,
    /// Number of frames (1 for still images).
    pub frame_count: u32,
    /// Whether the image is a progressive JPEG (or interlaced PNG/GIF).
    pub progressive: bool,
}

impl ImageHeader {
    /// Whether the image has more than one frame.
    pub fn is_animated(&self) -> bool {
        self.frame_count > 1
    }
}

/// Reads and checks the header of an image in `format` against `limits`, allocating nothing in
/// proportion to the claimed size.
pub fn read_header(bytes: &[u8], format: MediaFormat, limits: &Limits) -> Result<ImageHeader, MediaError> {
    limits.check_input_bytes(bytes.len() as u64)?;
    let header = match format {
        MediaFormat::Jpeg => jpeg_header(&with_repaired_header(bytes))?,
        MediaFormat::Png => png_header(bytes, limits)?,
        MediaFormat::Gif => gif_header(&with_grey_global_palette(bytes), limits)?,
        MediaFormat::Webp => webp_header(bytes)?,
        MediaFormat::Tiff => match crate::tiff_direct::header(bytes, limits) {
            Some(header) => header,
            None => generic_header(bytes, format, limits)?,
        },
        MediaFormat::Bmp => generic_header(bytes, format, limits)?,
        MediaFormat::Heif | MediaFormat::Avif => {
            return Err(MediaError::UnsupportedFormat {
                format: Some(format),
                reason: "HEIF and AVIF need the decoder in media-heif, which this binary does not link"
                    .into(),
            });
        }
        other => {
            return Err(MediaError::UnsupportedFormat { format: Some(other), reason: "not an image".into() });
        }
    };
    checked(header, limits)
}

/// `header` if its size and frame count are within `limits` (and not zero), from whichever
/// decoder read it.
pub(crate) fn checked(header: ImageHeader, limits: &Limits) -> Result<ImageHeader, MediaError> {
    if header.width == 0 || header.height == 0 {
        return Err(MediaError::CorruptInput {
            format: header.format,
            reason: "zero width or height".into(),
        });
    }
    limits.check_dimensions(header.width, header.height)?;
    limits.check_frames(header.frame_count)?;
    Ok(header)
}

fn jpeg_header(bytes: &[u8]) -> Result<ImageHeader, MediaError> {
    let header = turbojpeg::read_header(bytes).map_err(|e| MediaError::from_decoder(MediaFormat::Jpeg, e))?;
    let color_model = match header.colorspace {
        turbojpeg::Colorspace::Gray => ColorModel::Gray,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK => ColorModel::Cmyk,
        turbojpeg::Colorspace::RGB | turbojpeg::Colorspace::YCbCr => ColorModel::Rgb,
    };
    Ok(ImageHeader {
        format: MediaFormat::Jpeg,
        width: dimension(header.width, MediaFormat::Jpeg)?,
        height: dimension(header.height, MediaFormat::Jpeg)?,
        bit_depth: 8,
        color_model,
        has_alpha: false,
        frame_count: 1,
        progressive: header.is_progressive,
    })
}

fn dimension(value: usize, format: MediaFormat) -> Result<u32, MediaError> {
    u32::try_from(value)
        .map_err(|_| MediaError::CorruptInput { format, reason: format!("dimension {value} overflows") })
}

fn png_header(bytes: &[u8], limits: &Limits) -> Result<ImageHeader, MediaError> {
    let png_limits = png::Limits { bytes: usize::try_from(limits.max_decoder_alloc()).unwrap_or(usize::MAX) };
    let decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png_limits);
    // `read_info` stops at the first IDAT, after the chunks we need (tRNS, acTL). Its row buffers
    // are one row wide, bounded by the width limit.
    let reader = decoder.read_info().map_err(|e| MediaError::from_decoder(MediaFormat::Png, e))?;
    let info = reader.info();
    limits.check_dimensions(info.width, info.height)?;
    let has_trns = info.trns.is_some();
    let (color_model, has_alpha) = match info.color_type {
        png::ColorType::Grayscale if has_trns => (ColorModel::GrayAlpha, true),
        png::ColorType::Grayscale => (ColorModel::Gray, false),
        png::ColorType::GrayscaleAlpha => (ColorModel::GrayAlpha, true),
        png::ColorType::Rgb => (ColorModel::Rgb, has_trns),
        png::ColorType::Rgba => (ColorModel::Rgba, true),
        png::ColorType::Indexed => (ColorModel::Palette, has_trns),
    };
    Ok(ImageHeader {
        format: MediaFormat::Png,
        width: info.width,
        height: info.height,
        bit_depth: info.bit_depth as u8,
        color_model,
        has_alpha,
        frame_count: info.animation_control().map_or(1, |actl| actl.num_frames.max(1)),
        progressive: info.interlaced,
    })
}

/// `gif` with a global colour table of 256 greys when it has none. The `gif` crate refuses a frame
/// that has no colour table of its own and finds no global one; browsers and Pillow show its
/// indices as greys, which this table makes the `gif` crate do too. Frames with their own table are
/// unaffected, and a GIF with a global table is returned as it is.
pub(crate) fn with_grey_global_palette(gif: &[u8]) -> Cow<'_, [u8]> {
    // "GIF89a", then the logical screen descriptor: width, height, flags (bit 7: a global table
    // follows; bits 0-2: its size as 2^(n+1) entries), background index, aspect ratio.
    const SCREEN_END: usize = 13;
    match gif.get(10) {
        Some(&flags) if flags & 0x80 == 0 && gif.len() > SCREEN_END => {
            let mut patched = Vec::with_capacity(gif.len() + 768);
            patched.extend_from_slice(&gif[..SCREEN_END]);
            patched[10] = flags | 0x80 | 0x07;
            patched.extend((0..=255u8).flat_map(|grey| [grey, grey, grey]));
            patched.extend_from_slice(&gif[SCREEN_END..]);
            Cow::Owned(patched)
        }
        _ => Cow::Borrowed(gif),
    }
}

fn gif_header(bytes: &[u8], limits: &Limits) -> Result<ImageHeader, MediaError> {
    let corrupt = |e: gif::DecodingError| MediaError::from_decoder(MediaFormat::Gif, e);
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    // Count frames by walking the block structure: LZW data is skipped, not decompressed.
    options.skip_frame_decoding(true);
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(corrupt)?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    limits.check_dimensions(width, height)?;
    let mut frame_count = 0u32;
    let mut has_alpha = false;
    let mut interlaced = false;
    while let Some(frame) = decoder.next_frame_info().map_err(corrupt)? {
        frame_count += 1;
        has_alpha |= frame.transparent.is_some();
        interlaced |= frame.interlaced;
        limits.check_frames(frame_count)?;
    }
    if frame_count == 0 {
        return Err(MediaError::TruncatedInput { format: MediaFormat::Gif, reason: "no image data".into() });
    }
    Ok(ImageHeader {
        format: MediaFormat::Gif,
        width,
        height,
        bit_depth: 8,
        color_model: ColorModel::Palette,
        has_alpha,
        frame_count,
        progressive: interlaced,
    })
}

fn webp_header(bytes: &[u8]) -> Result<ImageHeader, MediaError> {
    let decoder = image_webp::WebPDecoder::new(Cursor::new(bytes))
        .map_err(|e| MediaError::from_decoder(MediaFormat::Webp, e))?;
    let (width, height) = decoder.dimensions();
    let has_alpha = decoder.has_alpha();
    Ok(ImageHeader {
        format: MediaFormat::Webp,
        width,
        height,
        bit_depth: 8,
        color_model: if has_alpha { ColorModel::Rgba } else { ColorModel::Rgb },
        has_alpha,
        frame_count: if decoder.is_animated() { decoder.num_frames().max(1) } else { 1 },
        progressive: false,
    })
}

fn generic_header(bytes: &[u8], format: MediaFormat, limits: &Limits) -> Result<ImageHeader, MediaError> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(format));
    reader.limits(image_limits(limits));
    let max_alloc = limits.max_decoder_alloc();
    let decoder = reader.into_decoder().map_err(|e| decode_error(format, e, max_alloc))?;
    let (width, height) = decoder.dimensions();
    let color = decoder.original_color_type();
    let has_alpha = decoder.color_type().has_alpha();
    let color_model = match (color.channel_count(), has_alpha) {
        (1, _) => ColorModel::Gray,
        (2, _) => ColorModel::GrayAlpha,
        (_, true) => ColorModel::Rgba,
        (_, false) => ColorModel::Rgb,
    };
    let bit_depth = (color.bits_per_pixel() / u16::from(color.channel_count().max(1))) as u8;
    Ok(ImageHeader {
        format,
        width,
        height,
        bit_depth,
        color_model,
        has_alpha,
        frame_count: 1,
        progressive: false,
    })
}

/// The `image` crate's name for one of our still-image formats.
pub(crate) fn image_format(format: MediaFormat) -> image::ImageFormat {
    match format {
        MediaFormat::Png => image::ImageFormat::Png,
        MediaFormat::Gif => image::ImageFormat::Gif,
        MediaFormat::Webp => image::ImageFormat::WebP,
        MediaFormat::Tiff => image::ImageFormat::Tiff,
        MediaFormat::Bmp => image::ImageFormat::Bmp,
        _ => image::ImageFormat::Jpeg,
    }
}

/// Our limits in the `image` crate's terms, as a second line of defence behind the header checks.
pub(crate) fn image_limits(limits: &Limits) -> image::Limits {
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_decoder_alloc());
    image_limits
}

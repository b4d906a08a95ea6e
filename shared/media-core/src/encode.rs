//! Encoding derivatives: JPEG through libjpeg-turbo, lossy WebP through libwebp.

use std::cell::RefCell;

use image::DynamicImage;

use crate::MediaError;
use crate::decode::flatten_on_white;

/// The format of a derivative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Baseline JPEG, 4:2:0, alpha composited on white.
    #[default]
    Jpeg,
    /// Lossy WebP, alpha kept.
    Webp,
}

impl OutputFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Webp => "webp",
        }
    }

    /// The format's name in records and JSON output (`jpeg`, `webp`), where the file extension
    /// would say `jpg`.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Webp => "webp",
        }
    }

    /// The IANA media type.
    pub fn mime_type(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Webp => "image/webp",
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = MediaError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Ok(OutputFormat::Jpeg),
            "webp" => Ok(OutputFormat::Webp),
            other => {
                Err(MediaError::InvalidOptions(format!("unknown output format {other:?} (jpeg or webp)")))
            }
        }
    }
}

thread_local! {
    static JPEG_COMPRESSOR: RefCell<Option<turbojpeg::Compressor>> = const { RefCell::new(None) };
}

/// Encodes an 8-bit RGB or RGBA image. `quality` is 1–100. The output carries no metadata at all:
/// no EXIF, XMP, ICC or comments, so nothing private (GPS) leaks into derivatives.
pub fn encode(image: &DynamicImage, format: OutputFormat, quality: u8) -> Result<Vec<u8>, MediaError> {
    if !(1..=100).contains(&quality) {
        return Err(MediaError::InvalidOptions(format!("quality {quality} is not within 1-100")));
    }
    match format {
        OutputFormat::Jpeg => encode_jpeg(image, quality),
        OutputFormat::Webp => encode_webp(image, quality),
    }
}

fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let flattened;
    let rgb = match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        DynamicImage::ImageRgba8(rgba) => {
            flattened = flatten_on_white(rgba);
            &flattened
        }
        other => {
            return Err(encode_error("jpeg", format!("expected RGB8 or RGBA8, got {:?}", other.color())));
        }
    };
    let error = |e: turbojpeg::Error| encode_error("jpeg", e.to_string());
    JPEG_COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(compressor) => compressor,
            None => slot.insert(turbojpeg::Compressor::new().map_err(error)?),
        };
        compressor.set_quality(i32::from(quality)).map_err(error)?;
        compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2).map_err(error)?;
        let image = turbojpeg::Image {
            pixels: rgb.as_raw().as_slice(),
            width: rgb.width() as usize,
            pitch: rgb.width() as usize * 3,
            height: rgb.height() as usize,
            format: turbojpeg::PixelFormat::RGB,
        };
        compressor.compress_to_vec(image).map_err(error)
    })
}

fn encode_webp(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let encoder = match image {
        DynamicImage::ImageRgb8(rgb) => webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height()),
        DynamicImage::ImageRgba8(rgba) => {
            webp::Encoder::from_rgba(rgba.as_raw(), rgba.width(), rgba.height())
        }
        other => {
            return Err(encode_error("webp", format!("expected RGB8 or RGBA8, got {:?}", other.color())));
        }
    };
    let encoded = encoder
        .encode_simple(false, f32::from(quality))
        .map_err(|e| encode_error("webp", format!("{e:?}")))?;
    Ok(encoded.to_vec())
}

fn encode_error(format: &'static str, reason: String) -> MediaError {
    MediaError::EncodeFailed { format, reason }
}

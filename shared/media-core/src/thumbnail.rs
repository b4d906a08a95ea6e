//! Thumbnails: every requested size from one decode, upright, without metadata.

use image::{DynamicImage, RgbImage, RgbaImage};

use crate::MediaError;
use crate::encode::{OutputFormat, encode};
use crate::geometry::fit_within;
use crate::resize::resize;

/// What thumbnails to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailOptions {
    /// Box edges: each thumbnail fits within `size`×`size`, aspect kept, never upscaled.
    pub sizes: Vec<u32>,
    /// Output format.
    pub format: OutputFormat,
    /// Encoder quality, 1–100.
    pub quality: u8,
}

impl Default for ThumbnailOptions {
    fn default() -> Self {
        ThumbnailOptions { sizes: vec![256, 1024], format: OutputFormat::Jpeg, quality: 80 }
    }
}

impl ThumbnailOptions {
    /// Rejects zero sizes, more than 16 sizes, sizes over 16384 and qualities outside 1–100.
    pub fn validate(&self) -> Result<(), MediaError> {
        if self.sizes.len() > 16 {
            return Err(MediaError::InvalidOptions(format!(
                "{} sizes requested, at most 16",
                self.sizes.len()
            )));
        }
        if let Some(bad) = self.sizes.iter().find(|&&size| size == 0 || size > 16_384) {
            return Err(MediaError::InvalidOptions(format!("thumbnail size {bad} is not within 1-16384")));
        }
        if !(1..=100).contains(&self.quality) {
            return Err(MediaError::InvalidOptions(format!("quality {} is not within 1-100", self.quality)));
        }
        Ok(())
    }

    /// The largest box requested (0 when none).
    pub fn largest_size(&self) -> u32 {
        self.sizes.iter().copied().max().unwrap_or(0)
    }
}

/// One encoded thumbnail.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The box it was fitted into (the requested size).
    pub size: u32,
    /// Actual width in pixels.
    pub width: u32,
    /// Actual height in pixels.
    pub height: u32,
    /// The format it was encoded in (JPEG or WebP, from the options).
    pub format: OutputFormat,
    /// The encoded file.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnail")
            .field("size", &self.size)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Thumbnails of an upright, already-decoded RGBA8 frame (row-major, `width * 4` bytes a row), such
/// as a video's poster frame.
pub fn thumbnails_from_rgba(
    width: u32,
    height: u32,
    rgba: &[u8],
    options: &ThumbnailOptions,
) -> Result<Vec<Thumbnail>, MediaError> {
    options.validate()?;
    let expected = width as usize * height as usize * 4;
    if width == 0 || height == 0 || rgba.len() != expected {
        return Err(MediaError::InvalidOptions(format!(
            "{width}x{height} RGBA needs {expected} bytes, got {}",
            rgba.len()
        )));
    }
    let opaque = rgba.chunks_exact(4).all(|pixel| pixel[3] == 255);
    let frame = if opaque {
        let rgb = rgba.chunks_exact(4).flat_map(|pixel| [pixel[0], pixel[1], pixel[2]]).collect();
        RgbImage::from_raw(width, height, rgb).map(DynamicImage::ImageRgb8)
    } else {
        RgbaImage::from_raw(width, height, rgba.to_vec()).map(DynamicImage::ImageRgba8)
    };
    let frame = frame.ok_or_else(|| MediaError::InvalidOptions("frame buffer size".into()))?;
    let resized = resize_cascade(&frame, width, height, &options.sizes)?;
    resized.into_iter().map(|(size, image)| encode_thumbnail(size, image, 1, options)).collect()
}

/// Resizes `decoded` (a possibly DCT-scaled decode of a `stored_width`×`stored_height` image or of
/// its embedded preview, in stored orientation) to every box in `sizes`, largest first, each from
/// the smallest earlier result that still covers it: one decode, and every resample as small as it
/// can be.
pub(crate) fn resize_cascade(
    decoded: &DynamicImage,
    stored_width: u32,
    stored_height: u32,
    sizes: &[u32],
) -> Result<Vec<(u32, DynamicImage)>, MediaError> {
    let mut order: Vec<u32> = sizes.to_vec();
    order.sort_unstable_by(|a, b| b.cmp(a));
    order.dedup();
    let mut results: Vec<(u32, DynamicImage)> = Vec::with_capacity(order.len());
    for size in order {
        // The box is square, so the fitted size does not depend on orientation.
        let (width, height) = fit_within(stored_width, stored_height, size);
        let (width, height) = (width.min(decoded.width()), height.min(decoded.height()));
        let source = results
            .iter()
            .map(|(_, image)| image)
            .rfind(|image| image.width() >= width && image.height() >= height)
            .unwrap_or(decoded);
        let image = resize(source, width, height)?;
        results.push((size, image));
    }
    // Hand back in the order the caller asked for.
    Ok(sizes.iter().filter_map(|size| results.iter().find(|(s, _)| s == size).cloned()).collect())
}

/// Rotates/flips a resized image upright and encodes it.
pub(crate) fn encode_thumbnail(
    size: u32,
    mut image: DynamicImage,
    orientation: u8,
    options: &ThumbnailOptions,
) -> Result<Thumbnail, MediaError> {
    orient(&mut image, orientation);
    let bytes = encode(&image, options.format, options.quality)?;
    Ok(Thumbnail { size, width: image.width(), height: image.height(), format: options.format, bytes })
}

/// Applies EXIF orientation `orientation` (1–8) so the image is upright.
pub(crate) fn orient(image: &mut DynamicImage, orientation: u8) {
    if let Some(orientation) = image::metadata::Orientation::from_exif(orientation) {
        image.apply_orientation(orientation);
    }
}

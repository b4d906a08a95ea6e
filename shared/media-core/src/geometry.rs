//! Size arithmetic: fitting into a box, and choosing a JPEG DCT scale.

/// The size of an image of `width`×`height` fitted into a `size`×`size` box: aspect kept, never
/// upscaled, never a zero dimension. The longer side becomes `size` (when larger than it).
pub fn fit_within(width: u32, height: u32, size: u32) -> (u32, u32) {
    let size = size.max(1);
    let (width, height) = (width.max(1), height.max(1));
    if width <= size && height <= size {
        return (width, height);
    }
    let scale_side = |short: u32, long: u32| -> u32 {
        let scaled = (u64::from(short) * u64::from(size) + u64::from(long) / 2) / u64::from(long);
        (scaled as u32).clamp(1, size)
    };
    if width >= height { (size, scale_side(height, width)) } else { (scale_side(width, height), size) }
}

/// The strongest DCT-domain reduction (as a denominator: 8, 4, 2 or 1) that still leaves a
/// `width`×`height` JPEG at least `target_width`×`target_height`, so the resampler only ever shrinks.
/// libjpeg rounds scaled sizes up, as this does.
pub fn jpeg_scale_denominator(width: u32, height: u32, target_width: u32, target_height: u32) -> u32 {
    [8u32, 4, 2]
        .into_iter()
        .find(|&denom| width.div_ceil(denom) >= target_width && height.div_ceil(denom) >= target_height)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn landscape_portrait_and_small_inputs() {
        assert_eq!(fit_within(4000, 3000, 256), (256, 192));
        assert_eq!(fit_within(3000, 4000, 256), (192, 256));
        assert_eq!(fit_within(100, 50, 256), (100, 50));
        assert_eq!(fit_within(10_000, 1, 256), (256, 1));
        assert_eq!(fit_within(256, 256, 256), (256, 256));
    }

    #[test]
    fn jpeg_scale_keeps_the_decode_at_least_as_large_as_the_target() {
        assert_eq!(jpeg_scale_denominator(4000, 3000, 256, 192), 8);
        assert_eq!(jpeg_scale_denominator(4000, 3000, 1024, 768), 2);
        assert_eq!(jpeg_scale_denominator(1000, 750, 1000, 750), 1);
        assert_eq!(jpeg_scale_denominator(2049, 1537, 1024, 768), 2);
    }

    proptest! {
        #[test]
        fn fitted_sizes_are_never_zero_never_upscaled_and_keep_aspect(
            width in 1u32..100_000, height in 1u32..100_000, size in 1u32..5_000,
        ) {
            let (w, h) = fit_within(width, height, size);
            prop_assert!(w >= 1 && h >= 1);
            prop_assert!(w <= width && h <= height, "upscaled {width}x{height} to {w}x{h}");
            prop_assert!(w <= size && h <= size);
            prop_assert!(w == size || h == size || (w, h) == (width, height));
            // Aspect within one pixel: the short side is the exact ratio, rounded.
            let exact_h = f64::from(w) * f64::from(height) / f64::from(width);
            let exact_w = f64::from(h) * f64::from(width) / f64::from(height);
            prop_assert!((f64::from(h) - exact_h).abs() <= 1.0 || (f64::from(w) - exact_w).abs() <= 1.0);
        }

        #[test]
        fn jpeg_scale_never_undershoots(width in 1u32..60_000, height in 1u32..60_000, size in 1u32..4_000) {
            let (tw, th) = fit_within(width, height, size);
            let denom = jpeg_scale_denominator(width, height, tw, th);
            prop_assert!(width.div_ceil(denom) >= tw && height.div_ceil(denom) >= th);
        }
    }
}

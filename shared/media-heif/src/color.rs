//! Colour: HEIF and AVIF declare their colour space with an ICC profile (iPhones: Display P3) or
//! with CICP code points (`nclx`: primaries, transfer, matrix). Thumbnails are sRGB without a
//! profile, so anything else is converted here, with moxcms as the core does for CMYK JPEGs.

use libheif_rs::ColorProfileNCLX;
use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, Layout, MatrixCoefficients, TransferCharacteristics,
    TransformOptions,
};

/// 8-bit RGB (or RGBA, alpha untouched) in the declared colour space, converted to sRGB. An ICC
/// profile takes precedence over `nclx`, as in libheif; sRGB, BT.709 and unspecified colour need
/// nothing, and a profile moxcms cannot use leaves the pixels as they are.
pub(crate) fn to_srgb(
    pixels: Vec<u8>,
    has_alpha: bool,
    icc: Option<&[u8]>,
    nclx: Option<ColorProfileNCLX>,
) -> Vec<u8> {
    let source = match icc {
        Some(icc) => ColorProfile::new_from_slice(icc).ok(),
        None => nclx.and_then(|nclx| cicp_profile(&nclx)),
    };
    let Some(source) = source else { return pixels };
    let layout = if has_alpha { Layout::Rgba } else { Layout::Rgb };
    let Ok(transform) =
        source.create_transform_8bit(layout, &ColorProfile::new_srgb(), layout, TransformOptions::default())
    else {
        return pixels;
    };
    let mut converted = vec![0u8; pixels.len()];
    match transform.transform(&pixels, &mut converted) {
        Ok(()) => converted,
        Err(_) => pixels,
    }
}

/// The RGB colour space of `nclx` when it is not already sRGB's (BT.709 primaries with the sRGB or
/// BT.709 transfer, or unspecified).
fn cicp_profile(nclx: &ColorProfileNCLX) -> Option<ColorProfile> {
    let primaries = nclx.color_primaries() as u8;
    let transfer = nclx.transfer_characteristics() as u8;
    // 1 = BT.709, 2 = unspecified; transfer 1/6/14/15 are BT.709-like, 13 is sRGB.
    let srgb_primaries = matches!(primaries, 1 | 2);
    let srgb_transfer = matches!(transfer, 1 | 2 | 6 | 13 | 14 | 15);
    if srgb_primaries && srgb_transfer {
        return None;
    }
    let cicp = CicpProfile {
        color_primaries: CicpColorPrimaries::try_from(primaries).ok()?,
        transfer_characteristics: TransferCharacteristics::try_from(if transfer == 2 {
            13
        } else {
            transfer
        })
        .ok()?,
        // The pixels are RGB already: libheif applied the matrix.
        matrix_coefficients: MatrixCoefficients::Identity,
        full_range: true,
    };
    Some(ColorProfile::new_from_cicp(cicp))
}

/// Undoes premultiplied alpha (rare in HEIF, flagged by `prem`): the core resizes straight RGBA.
pub(crate) fn unpremultiply(rgba: &mut [u8]) {
    for pixel in rgba.chunks_exact_mut(4) {
        let alpha = u16::from(pixel[3]);
        if alpha == 0 || alpha == 255 {
            continue;
        }
        for channel in &mut pixel[..3] {
            *channel = ((u16::from(*channel) * 255 + alpha / 2) / alpha).min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpremultiplying_restores_the_straight_colour() {
        // 50 % alpha: a premultiplied 100 is a straight 200; opaque and transparent stay.
        let mut pixels = vec![100, 50, 0, 128, 7, 8, 9, 255, 0, 0, 0, 0];
        unpremultiply(&mut pixels);
        assert_eq!(pixels, vec![199, 100, 0, 128, 7, 8, 9, 255, 0, 0, 0, 0]);
    }

    #[test]
    fn display_p3_red_becomes_a_clipped_srgb_red() {
        // A P3 red is more saturated than the same numbers in sRGB: converted, red goes up and
        // green and blue go down, instead of P3's numbers being reinterpreted as sRGB.
        let icc = ColorProfile::new_display_p3().encode().expect("P3 profile encodes");
        let pixels = to_srgb(vec![200, 100, 100], false, Some(&icc), None);
        assert!(pixels[0] > 210, "{pixels:?}");
        assert!(pixels[1] < 100 && pixels[2] < 100, "{pixels:?}");
    }
}

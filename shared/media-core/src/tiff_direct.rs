//! TIFFs whose samples the `image` crate refuses although the `tiff` crate reads them, decoded
//! here to 8-bit RGB:
//! - 2- or 4-bit grey (scanned documents, old archives; white-is-zero already inverted by the
//!   `tiff` crate), spread to 8 bits;
//! - palette images of 1 to 8 bits (fax-era and GIS files; `vendor/tiff` reads their indices),
//!   looked up in the file's ColorMap;
//! - signed-integer grey: 16 and 32-bit (elevation models, CT and microscopy exports) measure
//!   something rather than a brightness, so the file's own range is stretched to black..white, as
//!   ImageJ and QGIS show such data; 8-bit is read as Pillow reads it, the bytes as unsigned grey
//!   (the files seen with that tag are ordinary grey images, mis-tagged);
//! - 8-bit CIE L\*a\*b\* (prepress scans; `vendor/tiff` reads CIELab's raw bytes), converted to sRGB;
//! - JPEG-compressed YCbCr (TIFF 6 section 22, scanners and GDAL), which the `tiff` crate leaves
//!   as YCbCr, converted as libjpeg would.
//!
//! `header` asks this module for TIFF headers and this module answers in `header`'s types: they
//! decide together which TIFFs are decoded here (see `header`'s module notes).

use std::io::Cursor;

use image::{DynamicImage, RgbImage};
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::{CompressionMethod, PhotometricInterpretation, SampleFormat, Tag};

use crate::header::{ColorModel, ImageHeader};
use crate::{Limits, MediaError, MediaFormat};

/// How a TIFF this module decodes stores its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Grey of 2 or 4 bits per sample, packed.
    PackedGray(u8),
    /// Indices of 1 to 8 bits into the ColorMap.
    Palette(u8),
    /// Grey as signed integers of 8, 16 or 32 bits.
    SignedGray(u8),
    /// 8-bit L\*a\*b\*; a\* and b\* are signed for CIELab, offset by 128 for ICCLab.
    Lab { signed_ab: bool },
    /// 8-bit full-range YCbCr, as a JPEG decoder outputs it.
    JpegYCbCr,
}

impl Layout {
    /// The layout of the first page, or `None` when the `image` crate reads it (or it does not parse).
    fn of(decoder: &mut Decoder<Cursor<&[u8]>>) -> Option<Self> {
        let signed = decoder.get_tag_u32(Tag::SampleFormat).ok() == Some(SampleFormat::Int.to_u16().into());
        let tag_is = |decoder: &mut Decoder<Cursor<&[u8]>>, tag, value: u16| {
            decoder.get_tag_u32(tag).ok() == Some(u32::from(value))
        };
        Some(match decoder.colortype().ok()? {
            ColorType::Gray(bits @ (2 | 4)) => Self::PackedGray(bits),
            ColorType::Palette(bits @ (1 | 2 | 4 | 8)) => Self::Palette(bits),
            ColorType::Gray(bits @ (8 | 16 | 32)) if signed => Self::SignedGray(bits),
            ColorType::Lab(8) => Self::Lab {
                signed_ab: tag_is(
                    decoder,
                    Tag::PhotometricInterpretation,
                    PhotometricInterpretation::CIELab.to_u16(),
                ),
            },
            ColorType::YCbCr(8)
                if tag_is(decoder, Tag::Compression, CompressionMethod::ModernJPEG.to_u16()) =>
            {
                Self::JpegYCbCr
            }
            _ => return None,
        })
    }

    fn color_model(self) -> ColorModel {
        match self {
            Self::PackedGray(_) | Self::SignedGray(_) => ColorModel::Gray,
            Self::Palette(_) => ColorModel::Palette,
            Self::Lab { .. } => ColorModel::Lab,
            Self::JpegYCbCr => ColorModel::Rgb,
        }
    }

    fn bit_depth(self) -> u8 {
        match self {
            Self::PackedGray(bits) | Self::Palette(bits) | Self::SignedGray(bits) => bits,
            Self::Lab { .. } | Self::JpegYCbCr => 8,
        }
    }
}

/// The header of a TIFF this module decodes; `None` for any other TIFF (or one that does not
/// parse), which the `image` crate reads.
pub(crate) fn header(bytes: &[u8], limits: &Limits) -> Option<ImageHeader> {
    let mut decoder = open(bytes, limits).ok()?;
    let layout = Layout::of(&mut decoder)?;
    let (width, height) = decoder.dimensions().ok()?;
    Some(ImageHeader {
        format: MediaFormat::Tiff,
        width,
        height,
        bit_depth: layout.bit_depth(),
        color_model: layout.color_model(),
        has_alpha: false,
        frame_count: 1,
        progressive: false,
    })
}

/// Decodes the first page of a TIFF this module reads to 8-bit RGB; `None` when the `image` crate
/// reads it.
pub(crate) fn decode(
    bytes: &[u8],
    header: &ImageHeader,
    limits: &Limits,
) -> Option<Result<DynamicImage, MediaError>> {
    let mut decoder = open(bytes, limits).ok()?;
    let layout = Layout::of(&mut decoder)?;
    Some(decode_layout(&mut decoder, layout, header))
}

fn decode_layout(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    layout: Layout,
    header: &ImageHeader,
) -> Result<DynamicImage, MediaError> {
    let error = |e: tiff::TiffError| MediaError::from_decoder(MediaFormat::Tiff, e);
    let pixels = header.width as usize * header.height as usize;
    let rgb = match layout {
        Layout::PackedGray(bits) | Layout::Palette(bits) => indexed_to_rgb(decoder, layout, bits, header)?,
        Layout::SignedGray(_) => {
            let gray = match decoder.read_image().map_err(error)? {
                DecodingResult::I8(v) => v.into_iter().map(|v| v as u8).collect(),
                DecodingResult::I16(v) => stretch_to_gray(&v),
                DecodingResult::I32(v) => stretch_to_gray(&v),
                _ => return Err(corrupt("unexpected sample type")),
            };
            gray.into_iter().flat_map(|v| [v; 3]).collect()
        }
        Layout::Lab { signed_ab } => {
            let DecodingResult::U8(lab) = decoder.read_image().map_err(error)? else {
                return Err(corrupt("unexpected sample type"));
            };
            lab_to_srgb(&lab, signed_ab)
        }
        Layout::JpegYCbCr => {
            let DecodingResult::U8(ycbcr) = decoder.read_image().map_err(error)? else {
                return Err(corrupt("unexpected sample type"));
            };
            ycbcr_to_rgb(&ycbcr)
        }
    };
    if rgb.len() < pixels * 3 {
        return Err(MediaError::TruncatedInput {
            format: MediaFormat::Tiff,
            reason: "fewer pixels than its size".into(),
        });
    }
    RgbImage::from_raw(header.width, header.height, rgb)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| corrupt("decoded size mismatch"))
}

fn corrupt(reason: &str) -> MediaError {
    MediaError::CorruptInput { format: MediaFormat::Tiff, reason: reason.into() }
}

/// Packed grey or palette indices to RGB.
fn indexed_to_rgb(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    layout: Layout,
    bits: u8,
    header: &ImageHeader,
) -> Result<Vec<u8>, MediaError> {
    let error = |e: tiff::TiffError| MediaError::from_decoder(MediaFormat::Tiff, e);
    // FillOrder 2 stores each byte's bits in reverse, which the `tiff` crate ignores. Uncompressed,
    // the decoded bytes are the stored ones and can be reversed back; compressed, they cannot.
    let reversed = decoder.get_tag_u32(Tag::FillOrder).unwrap_or(1) == 2;
    if reversed && decoder.get_tag_u32(Tag::Compression).unwrap_or(1) != 1 {
        return Err(MediaError::UnsupportedFormat {
            format: Some(MediaFormat::Tiff),
            reason: "compressed TIFF with reversed bit order (FillOrder 2)".into(),
        });
    }
    let colors = match layout {
        Layout::Palette(_) => Some(decoder.get_tag_u16_vec(Tag::ColorMap).map_err(error)?),
        _ => None,
    };
    let DecodingResult::U8(mut packed) = decoder.read_image().map_err(error)? else {
        return Err(corrupt("unexpected sample type"));
    };
    if reversed {
        packed.iter_mut().for_each(|byte| *byte = byte.reverse_bits());
    }
    let samples = unpack(&packed, header.width as usize, header.height as usize, bits);
    Ok(match colors {
        // The ColorMap holds every red, then every green, then every blue, 16 bits each.
        Some(colors) => {
            let entries = 1usize << bits;
            if colors.len() < 3 * entries {
                return Err(corrupt("ColorMap shorter than the palette"));
            }
            let color =
                |index: u8, channel: usize| (colors[channel * entries + usize::from(index)] >> 8) as u8;
            samples.iter().flat_map(|&index| [color(index, 0), color(index, 1), color(index, 2)]).collect()
        }
        None => {
            let max = (1u16 << bits) - 1;
            samples.iter().flat_map(|&sample| [(u16::from(sample) * 255 / max) as u8; 3]).collect()
        }
    })
}

fn open<'a>(bytes: &'a [u8], limits: &Limits) -> tiff::TiffResult<Decoder<Cursor<&'a [u8]>>> {
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = usize::try_from(limits.max_decoder_alloc()).unwrap_or(usize::MAX);
    Ok(Decoder::new(Cursor::new(bytes))?.with_limits(tiff_limits))
}

/// The `bits`-bit samples of rows packed most significant bits first, each row starting on a byte.
fn unpack(packed: &[u8], width: usize, height: usize, bits: u8) -> Vec<u8> {
    if bits == 8 {
        return packed.iter().copied().take(width * height).collect();
    }
    let per_byte = 8 / usize::from(bits);
    let mask = (1u8 << bits) - 1;
    let mut samples = Vec::with_capacity(width * height);
    for row in packed.chunks(width.div_ceil(per_byte).max(1)).take(height) {
        for x in 0..width {
            let Some(&byte) = row.get(x / per_byte) else { break };
            let shift = 8 - usize::from(bits) * (x % per_byte + 1);
            samples.push((byte >> shift) & mask);
        }
    }
    samples
}

/// Stretches the lowest value to black and the highest to white (a flat image is black).
fn stretch_to_gray<T: Copy + Into<i64>>(values: &[T]) -> Vec<u8> {
    let values = values.iter().map(|&v| v.into());
    let (min, max) = values.clone().fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let range = max - min;
    values.map(|v| if range > 0 { ((v - min) * 255 / range) as u8 } else { 0 }).collect()
}

/// CIE L\*a\*b\* (D50, as TIFF and ICC define it) to sRGB. The formula is CIE 15's; moxcms gives
/// the D50-adapted sRGB matrix and transfer curve (its own `Lab::to_xyz` returns ICC's PCS
/// encoding, scaled by 32768/65535, so it is not used).
fn lab_to_srgb(lab: &[u8], signed_ab: bool) -> Vec<u8> {
    use moxcms::{Chromaticity, ColorProfile, TransferCharacteristics, Vector3f};
    let white = Chromaticity::D50.to_xyz();
    let xyz_to_linear_srgb = ColorProfile::new_srgb().rgb_to_xyz_matrix().inverse().to_f32();
    let inverse_f =
        |t: f32| if t > 6.0 / 29.0 { t * t * t } else { 3.0 * (6.0f32 / 29.0).powi(2) * (t - 4.0 / 29.0) };
    let encode = |linear: f32| {
        (TransferCharacteristics::Srgb.gamma(f64::from(linear.clamp(0.0, 1.0))) * 255.0).round() as u8
    };
    lab.chunks_exact(3)
        .flat_map(|pixel| {
            let l = f32::from(pixel[0]) * 100.0 / 255.0;
            let (a, b) = if signed_ab {
                (f32::from(pixel[1] as i8), f32::from(pixel[2] as i8))
            } else {
                (f32::from(pixel[1]) - 128.0, f32::from(pixel[2]) - 128.0)
            };
            let fy = (l + 16.0) / 116.0;
            let xyz = Vector3f {
                v: [
                    white.x * inverse_f(fy + a / 500.0),
                    white.y * inverse_f(fy),
                    white.z * inverse_f(fy - b / 200.0),
                ],
            };
            let linear = xyz_to_linear_srgb.mul_vector(xyz);
            [encode(linear.v[0]), encode(linear.v[1]), encode(linear.v[2])]
        })
        .collect()
}

/// Full-range BT.601 YCbCr to RGB, the conversion libjpeg applies (JFIF; TIFF's default
/// coefficients and reference range are the same).
fn ycbcr_to_rgb(ycbcr: &[u8]) -> Vec<u8> {
    let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    ycbcr
        .chunks_exact(3)
        .flat_map(|pixel| {
            let (y, cb, cr) = (f32::from(pixel[0]), f32::from(pixel[1]) - 128.0, f32::from(pixel[2]) - 128.0);
            [byte(y + 1.402 * cr), byte(y - 0.344_136 * cb - 0.714_136 * cr), byte(y + 1.772 * cb)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_samples_are_read_row_by_row() {
        // 2-bit: 0b00_01_10_11 holds 0, 1, 2, 3; the second row starts on its own byte.
        assert_eq!(unpack(&[0b0001_1011, 0b1100_0000], 4, 2, 2)[..4], [0, 1, 2, 3]);
        assert_eq!(unpack(&[0b0001_1011, 0b1100_0000], 1, 2, 2), vec![0, 3]);
        assert_eq!(unpack(&[0x0F], 2, 1, 4), vec![0, 15]);
        assert_eq!(unpack(&[0b1010_0000], 3, 1, 1), vec![1, 0, 1]);
    }
    #[test]
    fn signed_values_are_stretched_from_their_lowest_to_their_highest() {
        assert_eq!(stretch_to_gray(&[-32768i16, 0, 32767]), vec![0, 127, 255]);
        assert_eq!(stretch_to_gray(&[0i16, 32767, 0]), vec![0, 255, 0]);
        assert_eq!(stretch_to_gray(&[i32::MIN, i32::MAX]), vec![0, 255]);
        assert_eq!(stretch_to_gray(&[7i32, 7]), vec![0, 0]);
    }

    fn decode_input(name: &str) -> RgbImage {
        let path = format!("{}/tests/data/inputs/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let header = crate::read_header(&bytes, MediaFormat::Tiff, &Limits::default()).expect("header");
        decode(&bytes, &header, &Limits::default()).expect("a signed TIFF").expect("decodes").to_rgb8()
    }

    #[test]
    fn signed_tiffs_decode_as_pillow_shows_8_bit_and_stretched_16_bit() {
        // Pillow's 8bit.s.tif: its first samples read as unsigned, as Pillow shows them.
        let gray: Vec<u8> = decode_input("tiff-signed8.tif").pixels().take(4).map(|p| p[0]).collect();
        assert_eq!(gray, [26, 23, 15, 27]);
        // Pillow's 16bit.s.tif: 10x10, a diagonal of 32767 on 0.
        let image = decode_input("tiff-signed16.tif");
        assert_eq!(
            (image.get_pixel(0, 0)[0], image.get_pixel(1, 0)[0], image.get_pixel(9, 9)[0]),
            (255, 0, 255)
        );
    }

    #[test]
    fn lab_white_black_and_primaries_land_on_the_expected_srgb() {
        // CIELab stores a* and b* as signed bytes, ICCLab as unsigned with 128 for zero.
        assert_eq!(lab_to_srgb(&[255, 0, 0, 0, 0, 0], true), vec![255, 255, 255, 0, 0, 0]);
        assert_eq!(lab_to_srgb(&[255, 128, 128], false), vec![255, 255, 255]);
        // sRGB red is L* 53.2, a* 80.1, b* 67.2 under D50 (ICC); allow a step for rounding.
        let red = lab_to_srgb(&[(53.24f32 * 2.55).round() as u8, 80, 67], true);
        assert!(red[0] >= 250 && red[1] <= 12 && red[2] <= 12, "{red:?}");
    }

    #[test]
    fn ycbcr_converts_like_libjpeg() {
        // Grey has no chroma; (76, 85, 255) is JFIF's pure red.
        assert_eq!(ycbcr_to_rgb(&[128, 128, 128, 76, 85, 255]), vec![128, 128, 128, 254, 0, 0]);
    }
}

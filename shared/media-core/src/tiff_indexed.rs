//! TIFFs whose samples the `image` crate refuses although the `tiff` crate reads them: 2- or 4-bit
//! grey (scanned documents, old archives; white-is-zero already inverted by the `tiff` crate) and
//! palette images of 1 to 8 bits (fax-era and GIS files; `vendor/tiff` reads their indices). Read
//! with the `tiff` crate, then spread to 8-bit grey or looked up in the file's ColorMap.

use std::io::Cursor;

use image::{DynamicImage, RgbImage};
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use crate::header::{ColorModel, ImageHeader};
use crate::{Limits, MediaError, MediaFormat};

/// Whether `header` (from [`header`]) is such a TIFF.
pub(crate) fn applies(header: &ImageHeader) -> bool {
    header.format == MediaFormat::Tiff
        && match header.color_model {
            ColorModel::Gray => matches!(header.bit_depth, 2 | 4),
            ColorModel::Palette => matches!(header.bit_depth, 1 | 2 | 4 | 8),
            _ => false,
        }
}

/// The header of a 2- or 4-bit grey or a palette TIFF; `None` for any other TIFF (or one that does
/// not parse), which the `image` crate reads.
pub(crate) fn header(bytes: &[u8], limits: &Limits) -> Option<ImageHeader> {
    let mut decoder = open(bytes, limits).ok()?;
    let (color_model, bits) = match decoder.colortype().ok()? {
        ColorType::Gray(bits @ (2 | 4)) => (ColorModel::Gray, bits),
        ColorType::Palette(bits @ (1 | 2 | 4 | 8)) => (ColorModel::Palette, bits),
        _ => return None,
    };
    let (width, height) = decoder.dimensions().ok()?;
    Some(ImageHeader {
        format: MediaFormat::Tiff,
        width,
        height,
        bit_depth: bits,
        color_model,
        has_alpha: false,
        frame_count: 1,
        progressive: false,
    })
}

/// Decodes a TIFF for which [`applies`] holds (its first page) to 8-bit RGB.
pub(crate) fn decode(
    bytes: &[u8],
    header: &ImageHeader,
    limits: &Limits,
) -> Result<DynamicImage, MediaError> {
    let error = |e: tiff::TiffError| MediaError::from_decoder(MediaFormat::Tiff, e);
    let corrupt =
        |reason: &str| MediaError::CorruptInput { format: MediaFormat::Tiff, reason: reason.into() };
    let mut decoder = open(bytes, limits).map_err(error)?;
    // FillOrder 2 stores each byte's bits in reverse, which the `tiff` crate ignores. Uncompressed,
    // the decoded bytes are the stored ones and can be reversed back; compressed, they cannot.
    let reversed = decoder.get_tag_u32(Tag::FillOrder).unwrap_or(1) == 2;
    if reversed && decoder.get_tag_u32(Tag::Compression).unwrap_or(1) != 1 {
        return Err(MediaError::UnsupportedFormat {
            format: Some(MediaFormat::Tiff),
            reason: "compressed TIFF with reversed bit order (FillOrder 2)".into(),
        });
    }
    let colors = match header.color_model {
        ColorModel::Palette => Some(decoder.get_tag_u16_vec(Tag::ColorMap).map_err(error)?),
        _ => None,
    };
    let DecodingResult::U8(mut packed) = decoder.read_image().map_err(error)? else {
        return Err(corrupt("unexpected sample type"));
    };
    if reversed {
        packed.iter_mut().for_each(|byte| *byte = byte.reverse_bits());
    }
    let (width, height) = (header.width as usize, header.height as usize);
    let samples = unpack(&packed, width, height, header.bit_depth);
    if samples.len() != width * height {
        return Err(MediaError::TruncatedInput {
            format: MediaFormat::Tiff,
            reason: "fewer pixels than its size".into(),
        });
    }
    let rgb: Vec<u8> = match colors {
        // The ColorMap holds every red, then every green, then every blue, 16 bits each.
        Some(colors) => {
            let entries = 1usize << header.bit_depth;
            if colors.len() < 3 * entries {
                return Err(corrupt("ColorMap shorter than the palette"));
            }
            let color =
                |index: u8, channel: usize| (colors[channel * entries + usize::from(index)] >> 8) as u8;
            samples.iter().flat_map(|&index| [color(index, 0), color(index, 1), color(index, 2)]).collect()
        }
        None => {
            let max = (1u16 << header.bit_depth) - 1;
            samples.iter().flat_map(|&sample| [(u16::from(sample) * 255 / max) as u8; 3]).collect()
        }
    };
    RgbImage::from_raw(header.width, header.height, rgb)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| corrupt("decoded size mismatch"))
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
}

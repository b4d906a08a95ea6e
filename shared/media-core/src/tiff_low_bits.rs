//! TIFFs with 2 or 4 bits per grey sample (scanned documents, old archives), which the `image`
//! crate refuses although the `tiff` crate reads them (packed, white-is-zero already inverted):
//! read with the `tiff` crate and spread to 8 bits.

use std::io::Cursor;

use image::{DynamicImage, GrayImage};
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use crate::header::{ColorModel, ImageHeader};
use crate::{Limits, MediaError, MediaFormat};

/// Whether `header` is such a TIFF (as [`header`] describes it).
pub(crate) fn applies(header: &ImageHeader) -> bool {
    header.format == MediaFormat::Tiff
        && header.color_model == ColorModel::Gray
        && matches!(header.bit_depth, 2 | 4)
}

/// The header of a 2- or 4-bit grey TIFF; `None` for any other TIFF (or one that does not parse).
pub(crate) fn header(bytes: &[u8], limits: &Limits) -> Option<ImageHeader> {
    let mut decoder = open(bytes, limits).ok()?;
    let ColorType::Gray(bits @ (2 | 4)) = decoder.colortype().ok()? else { return None };
    let (width, height) = decoder.dimensions().ok()?;
    Some(ImageHeader {
        format: MediaFormat::Tiff,
        width,
        height,
        bit_depth: bits,
        color_model: ColorModel::Gray,
        has_alpha: false,
        frame_count: 1,
        progressive: false,
    })
}

/// Decodes a TIFF for which [`applies`] holds to 8-bit grey.
pub(crate) fn decode(
    bytes: &[u8],
    header: &ImageHeader,
    limits: &Limits,
) -> Result<DynamicImage, MediaError> {
    let error = |e: tiff::TiffError| MediaError::from_decoder(MediaFormat::Tiff, e);
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
    let DecodingResult::U8(mut packed) = decoder.read_image().map_err(error)? else {
        return Err(MediaError::CorruptInput {
            format: MediaFormat::Tiff,
            reason: "unexpected sample type".into(),
        });
    };
    if reversed {
        packed.iter_mut().for_each(|byte| *byte = byte.reverse_bits());
    }
    let grey = unpack(&packed, header.width as usize, header.height as usize, header.bit_depth);
    GrayImage::from_raw(header.width, header.height, grey)
        .map(|image| DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(image).into_rgb8()))
        .ok_or_else(|| MediaError::TruncatedInput {
            format: MediaFormat::Tiff,
            reason: "fewer pixels than its size".into(),
        })
}

fn open<'a>(bytes: &'a [u8], limits: &Limits) -> tiff::TiffResult<Decoder<Cursor<&'a [u8]>>> {
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = usize::try_from(limits.max_decoder_alloc()).unwrap_or(usize::MAX);
    Ok(Decoder::new(Cursor::new(bytes))?.with_limits(tiff_limits))
}

/// Spreads `bits`-bit samples (rows packed most significant bits first, each row starting on a
/// byte) to 8 bits: 0 stays black and the largest value becomes 255.
fn unpack(packed: &[u8], width: usize, height: usize, bits: u8) -> Vec<u8> {
    let per_byte = 8 / usize::from(bits);
    let row_bytes = width.div_ceil(per_byte);
    let max = (1u16 << bits) - 1;
    let mut grey = Vec::with_capacity(width * height);
    for row in packed.chunks(row_bytes.max(1)).take(height) {
        for x in 0..width {
            let Some(&byte) = row.get(x / per_byte) else { break };
            let shift = 8 - usize::from(bits) * (x % per_byte + 1);
            let sample = (u16::from(byte) >> shift) & max;
            grey.push((sample * 255 / max) as u8);
        }
    }
    grey
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_to_the_full_range() {
        // 2-bit: 0b00_01_10_11 is black, 85, 170, white; the second row starts on its own byte.
        assert_eq!(unpack(&[0b0001_1011, 0b1100_0000], 4, 2, 2)[..4], [0, 85, 170, 255]);
        assert_eq!(unpack(&[0b0001_1011, 0b1100_0000], 1, 2, 2), vec![0, 255]);
        // 4-bit: 0x0F is black then white.
        assert_eq!(unpack(&[0x0F], 2, 1, 4), vec![0, 255]);
    }
}

//! The Multi-Picture Format index of a JPEG (CIPA DC-007): which further images a camera stored
//! after the main one, of what kind, and where.
//!
//! The index is an APP2 segment starting `MPF\0`, followed by a TIFF header and one IFD whose
//! MP Entry tag (0xB002) points to a table of 16-byte entries: the image's attribute (bits 24–26
//! its data format, 0 for JPEG; bits 0–23 its MP type code), its size, and its offset counted from
//! that TIFF header (0 for the first image, the file's own).
//!
//! Hand-written because nothing we link reads it: kamadak-exif parses APP1 EXIF only and never
//! looks at APP2; the `image` crate's JPEG decoder (zune-jpeg) keeps the segment's raw bytes
//! (`multi_picture_information`) without parsing them and does not expose them through `image`;
//! libjpeg-turbo declined MPF support (libjpeg-turbo#746). What we need is one IFD and one table,
//! read with bounds-checked helpers: shorter than adapting any of them, and every offset in it is
//! untrusted.

use crate::jpeg_segments::HeaderSegments;

/// What starts the APP2 segment that holds the index.
const SIGNATURE: &[u8] = b"MPF\0";

/// The IFD tag of the MP Entry table.
const MP_ENTRY_TAG: u16 = 0xB002;

/// Bytes per MP Entry.
const ENTRY_LEN: usize = 16;

/// The most entries read. Cameras write two or three; a stereo or panorama camera a few more. The
/// table lives in one APP2 segment (at most 64 KiB), so this only bounds the work on hostile input.
const MAX_ENTRIES: usize = 64;

/// How far past its declared offset an image's start of image may be found. Cameras pad between
/// images, and a writer that counts the padding into the offset of the next image is still read.
pub(crate) const PADDING_SLACK: usize = 4096;

/// The MP type code of a "large thumbnail" of VGA size (640×480 class), a preview of the main image.
pub(crate) const LARGE_THUMBNAIL_VGA: u32 = 0x01_0001;
/// The MP type code of a "large thumbnail" of full-HD size (1920×1080 class).
pub(crate) const LARGE_THUMBNAIL_FULL_HD: u32 = 0x01_0002;

/// Why a file's index could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MpfError {
    /// The JPEG has no MPF segment before its first scan (nearly every JPEG).
    #[error("no Multi-Picture Format index")]
    Absent,
    /// The segment is there but does not parse.
    #[error("malformed Multi-Picture Format index: {0}")]
    Malformed(&'static str),
}

impl MpfError {
    /// The stable, kebab-case code of this error.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            MpfError::Absent => "no-mpf-index",
            MpfError::Malformed(_) => "malformed-mpf-index",
        }
    }
}

/// One image the index lists, as declared: nothing here is checked against the file yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MpEntry {
    /// Its position in the index; 0 is the file's own, first image.
    pub index: usize,
    /// Its MP type code (bits 0–23 of the attribute).
    pub mp_type: u32,
    /// Whether its data format (bits 24–26 of the attribute) is JPEG.
    pub is_jpeg: bool,
    /// Where it starts in the file: the declared offset plus where the index's TIFF header is, or
    /// 0 for an offset of 0. `None` when that sum overflows.
    pub start: Option<usize>,
    /// Its declared size in bytes.
    pub size: u32,
}

impl MpEntry {
    /// The bytes of this image in `file`: from its start of image (at its declared start, or after
    /// up to [`PADDING_SLACK`] bytes of padding) to its declared end. `None` when that range is not
    /// inside `file` or holds no start of image.
    pub(crate) fn bytes<'a>(&self, file: &'a [u8]) -> Option<(usize, &'a [u8])> {
        let start = self.start?;
        let end = start.checked_add(self.size as usize)?;
        let declared = file.get(start..end)?;
        let window = declared.get(..PADDING_SLACK.min(declared.len()))?;
        let skip = window.windows(3).position(|bytes| bytes == [0xFF, 0xD8, 0xFF])?;
        Some((start + skip, declared.get(skip..)?))
    }
}

/// The entries of the MPF index in `header`, in index order.
pub(crate) fn read_index(header: &HeaderSegments<'_>) -> Result<Vec<MpEntry>, MpfError> {
    let segment = header
        .segments
        .iter()
        .find(|segment| segment.marker == 0xE2 && segment.payload.starts_with(SIGNATURE))
        .ok_or(MpfError::Absent)?;
    let tiff = Tiff::new(segment.payload.get(SIGNATURE.len()..).unwrap_or_default())?;
    let tiff_start = segment.payload_offset + SIGNATURE.len();

    let ifd = tiff.u32(4).ok_or(MpfError::Malformed("no IFD offset"))? as usize;
    let tag_count = usize::from(tiff.u16(ifd).ok_or(MpfError::Malformed("IFD out of bounds"))?);
    // Each IFD entry: tag, type, count (for MP Entry: the table's length in bytes), value or offset.
    let (table_len, table_offset) = (0..tag_count)
        .map(|i| {
            let at = ifd.checked_add(2 + 12 * i)?;
            Some((tiff.u16(at)?, tiff.u32(at.checked_add(4)?)?, tiff.u32(at.checked_add(8)?)?))
        })
        .take_while(Option::is_some)
        .flatten()
        .find(|&(tag, _, _)| tag == MP_ENTRY_TAG)
        .map(|(_, table_len, table_offset)| (table_len as usize, table_offset as usize))
        .ok_or(MpfError::Malformed("no MP Entry tag"))?;
    if table_len == 0 || !table_len.is_multiple_of(ENTRY_LEN) {
        return Err(MpfError::Malformed("MP Entry table is not a whole number of entries"));
    }
    if table_len / ENTRY_LEN > MAX_ENTRIES {
        return Err(MpfError::Malformed("too many MP entries"));
    }
    let table = table_offset
        .checked_add(table_len)
        .and_then(|end| tiff.bytes.get(table_offset..end))
        .ok_or(MpfError::Malformed("MP Entry table out of bounds"))?;
    let table = Tiff { bytes: table, big_endian: tiff.big_endian };
    Ok((0..table_len / ENTRY_LEN)
        .filter_map(|index| {
            // Inside the table, whose length is a whole number of entries.
            let at = index * ENTRY_LEN;
            let attribute = table.u32(at)?;
            let size = table.u32(at + 4)?;
            let offset = table.u32(at + 8)? as usize;
            Some(MpEntry {
                index,
                mp_type: attribute & 0x00FF_FFFF,
                is_jpeg: (attribute >> 24) & 0x7 == 0,
                start: if offset == 0 { Some(0) } else { tiff_start.checked_add(offset) },
                size,
            })
        })
        .collect())
}

/// The TIFF structure inside the segment, read in its byte order; every read is bounds-checked.
struct Tiff<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl<'a> Tiff<'a> {
    fn new(bytes: &'a [u8]) -> Result<Tiff<'a>, MpfError> {
        match bytes.get(..4) {
            Some(b"II*\0") => Ok(Tiff { bytes, big_endian: false }),
            Some(b"MM\0*") => Ok(Tiff { bytes, big_endian: true }),
            _ => Err(MpfError::Malformed("no TIFF header")),
        }
    }

    fn u16(&self, at: usize) -> Option<u16> {
        let bytes: [u8; 2] = self.bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let bytes: [u8; 4] = self.bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::jpeg_segments::segments;
    use proptest::prelude::*;

    /// A JPEG header with an MPF segment in `big_endian` order listing `entries` as (attribute,
    /// size, offset), then a scan; `tail` follows. The TIFF header starts at byte 10.
    pub(crate) fn jpeg_with_index(big_endian: bool, entries: &[(u32, u32, u32)], tail: &[u8]) -> Vec<u8> {
        let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut tiff: Vec<u8> = if big_endian { b"MM\0*".to_vec() } else { b"II*\0".to_vec() };
        tiff.extend(u32b(8));
        tiff.extend(u16b(2));
        // Version, then the entry table right after the IFD (8 + 2 + 2 * 12 + 4).
        tiff.extend(u16b(0xB000).into_iter().chain(u16b(7)).chain(u32b(4)).chain(*b"0100"));
        let table_len = (entries.len() * ENTRY_LEN) as u32;
        tiff.extend(u16b(MP_ENTRY_TAG).into_iter().chain(u16b(7)).chain(u32b(table_len)).chain(u32b(38)));
        tiff.extend(u32b(0));
        for &(attribute, size, offset) in entries {
            tiff.extend(u32b(attribute).into_iter().chain(u32b(size)).chain(u32b(offset)).chain([0; 4]));
        }
        let length = (2 + SIGNATURE.len() + tiff.len()) as u16;
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE2];
        jpeg.extend(length.to_be_bytes());
        jpeg.extend(SIGNATURE);
        jpeg.extend(tiff);
        jpeg.extend([0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]);
        jpeg.extend(tail);
        jpeg
    }

    fn index_of(jpeg: &[u8]) -> Result<Vec<MpEntry>, MpfError> {
        read_index(&segments(jpeg).expect("a JPEG header"))
    }

    #[test]
    fn both_byte_orders_give_the_same_entries() {
        let entries = [(0x2003_0000, 100, 0), (0x0001_0002, 50, 200)];
        for big_endian in [false, true] {
            let index = index_of(&jpeg_with_index(big_endian, &entries, &[])).expect("an index");
            assert_eq!(
                index,
                vec![
                    MpEntry { index: 0, mp_type: 0x03_0000, is_jpeg: true, start: Some(0), size: 100 },
                    MpEntry { index: 1, mp_type: 0x01_0002, is_jpeg: true, start: Some(210), size: 50 },
                ],
                "big endian: {big_endian}"
            );
        }
    }

    #[test]
    fn an_image_is_found_after_padding_and_only_inside_the_file() {
        let preview = [0xFF, 0xD8, 0xFF, 0xDB, 1, 2, 3];
        let file = [&[0u8; 5][..], &preview, &[0; 3]].concat();
        let entry = |start, size| MpEntry { index: 1, mp_type: 0, is_jpeg: true, start, size };
        assert_eq!(entry(Some(0), 12).bytes(&file), Some((5, &file[5..12])));
        assert_eq!(entry(Some(5), 7).bytes(&file), Some((5, &preview[..])));
        assert_eq!(entry(Some(5), 100).bytes(&file), None, "runs past the end");
        assert_eq!(entry(Some(6), 6).bytes(&file), None, "no start of image");
        assert_eq!(entry(Some(usize::MAX), 7).bytes(&file), None);
        assert_eq!(entry(None, 7).bytes(&file), None);
        let far = [&vec![0u8; PADDING_SLACK][..], &preview].concat();
        assert_eq!(entry(Some(0), far.len() as u32).bytes(&far), None, "too far past its offset");
    }

    #[test]
    fn malformed_indexes_are_errors() {
        assert_eq!(index_of(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), Err(MpfError::Absent));
        let good = jpeg_with_index(false, &[(0, 1, 0)], &[]);
        let broken = |at: usize, value: u8| {
            let mut jpeg = good.clone();
            jpeg[at] = value;
            index_of(&jpeg).map_err(|e| e.code())
        };
        assert_eq!(broken(good.len() - 1, 0), Ok(index_of(&good).expect("the index")), "after the segment");
        // The TIFF header is at 10: its byte order, then the IFD's offset (at 14); the IFD (at 18)
        // has the version tag (at 20), then the MP Entry tag (at 32), its count (36) and offset (40).
        assert_eq!(broken(10, b'X'), Err("malformed-mpf-index"), "byte order");
        assert_eq!(broken(14, 200), Err("malformed-mpf-index"), "IFD out of bounds");
        assert_eq!(broken(32, 0x01), Err("malformed-mpf-index"), "no MP Entry tag");
        assert_eq!(broken(36, 17), Err("malformed-mpf-index"), "a partial entry");
        assert_eq!(broken(38, 1), Err("malformed-mpf-index"), "too many entries");
        assert_eq!(broken(40, 250), Err("malformed-mpf-index"), "table out of bounds");
    }

    proptest! {
        /// Any damage to the segment gives an error or entries, never a panic, and every image
        /// found lies inside the file.
        #[test]
        fn damaged_indexes_never_panic(
            damage in proptest::collection::vec((0usize..120, any::<u8>()), 1..8),
            cut in 0usize..140,
        ) {
            let mut jpeg = jpeg_with_index(true, &[(0x2003_0000, 80, 0), (0x0001_0001, 16, 60)], &[0xFF; 40]);
            for (at, value) in damage {
                if let Some(byte) = jpeg.get_mut(at) {
                    *byte = value;
                }
            }
            jpeg.truncate(cut.max(2));
            if let Some(header) = segments(&jpeg) && let Ok(entries) = read_index(&header) {
                for entry in entries {
                    if let Some((start, bytes)) = entry.bytes(&jpeg) {
                        prop_assert!(start + bytes.len() <= jpeg.len());
                    }
                }
            }
        }
    }
}

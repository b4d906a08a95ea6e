//! Repairs to a JPEG's header that libjpeg makes with a warning. TurboJPEG turns any warning into a
//! failed call, so photos that browsers and Pillow show would be refused as corrupt.
//! [`with_repaired_header`] drops exactly what libjpeg would skip:
//! - stray bytes between one segment's end and the next marker, which some cameras and editors
//!   (older Photoshop among them) leave;
//! - ICC profile segments after the start of frame, which the ICC spec (B.4) places before it;
//!   libjpeg reads them together with the ones before and refuses the duplicate sequence numbers.

use std::borrow::Cow;

/// `jpeg` without the bytes between its header segments that belong to no segment and without ICC
/// segments after the start of frame; unchanged (and not copied) when there are none. Only the
/// header is walked: from the start of scan on, the entropy-coded data is left as it is. A JPEG
/// whose segment lengths run past its end is returned unchanged, for the decoder to report.
pub fn with_repaired_header(jpeg: &[u8]) -> Cow<'_, [u8]> {
    let Some(segments) = header_segments(jpeg) else { return Cow::Borrowed(jpeg) };
    let kept: usize = segments.iter().map(std::ops::Range::len).sum();
    if kept == jpeg.len() {
        return Cow::Borrowed(jpeg);
    }
    Cow::Owned(segments.into_iter().flat_map(|range| &jpeg[range]).copied().collect())
}

/// `jpeg` without its entropy-coded data: every header segment (EXIF, ICC) up to and including
/// the first scan's header; all of it when the header does not parse. Readers that want only
/// metadata then neither copy the whole file (the `image` crate's JPEG decoder does) nor search
/// megabytes of scan data for a marker (kamadak-exif does, on a JPEG without EXIF).
pub(crate) fn header_only(jpeg: &[u8]) -> &[u8] {
    let Some(scan) = header_segments(jpeg).and_then(|ranges| ranges.last().map(|scan| scan.start)) else {
        return jpeg;
    };
    let length = jpeg.get(scan + 2..scan + 4).map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    &jpeg[..(scan + 2 + length).min(jpeg.len())]
}

/// One header segment of a JPEG: its marker and its payload (the bytes after the two length bytes).
pub(crate) struct Segment<'a> {
    /// The marker's second byte (`0xE1` for APP1, ...).
    pub marker: u8,
    /// Where `payload` starts in the JPEG, for formats whose offsets count from inside a segment
    /// (MPF's count from its own TIFF header).
    pub payload_offset: usize,
    /// The segment's contents after its length.
    pub payload: &'a [u8],
}

/// The segments of a JPEG's header, up to its first scan.
pub(crate) struct HeaderSegments<'a> {
    /// Every segment with a length, in file order.
    pub segments: Vec<Segment<'a>>,
    /// Where the first start-of-scan marker is: everything an image's header describes lies before it.
    pub scan_start: usize,
}

/// The segments of `jpeg`'s header (stray bytes skipped, as [`with_repaired_header`] does), or
/// `None` when it is not a JPEG or a segment runs past its end before the first scan.
pub(crate) fn segments(jpeg: &[u8]) -> Option<HeaderSegments<'_>> {
    let ranges = header_segments(jpeg)?;
    let scan_start = ranges.last()?.start;
    let segments = ranges
        .iter()
        .filter(|range| range.start != scan_start && range.len() >= 4)
        .filter_map(|range| {
            Some(Segment {
                marker: *jpeg.get(range.start + 1)?,
                payload_offset: range.start + 4,
                payload: jpeg.get(range.start + 4..range.end)?,
            })
        })
        .collect();
    Some(HeaderSegments { segments, scan_start })
}

/// The identifier that starts an APP2 segment carrying (part of) an ICC profile.
const ICC: &[u8] = b"ICC_PROFILE\0";

/// The byte ranges of SOI, every header segment to keep, and everything from the start of scan on.
fn header_segments(jpeg: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut ranges = Vec::with_capacity(16);
    ranges.push(0..2);
    let mut pos = 2;
    let mut after_frame_start = false;
    loop {
        // Skip what is not a marker: stray bytes, and the fill bytes (0xFF) a marker may follow.
        pos += jpeg.get(pos..)?.iter().position(|&byte| byte == 0xFF)?;
        while jpeg.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *jpeg.get(pos + 1)?;
        match marker {
            // A stuffed zero is not a marker: keep looking.
            0x00 => pos += 2,
            // Start of scan: the rest is entropy-coded data and later segments.
            0xDA => {
                ranges.push(pos..jpeg.len());
                return Some(ranges);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                ranges.push(pos..pos + 2);
                pos += 2;
            }
            _ => {
                let length = usize::from(u16::from_be_bytes([*jpeg.get(pos + 2)?, *jpeg.get(pos + 3)?]));
                let end = pos.checked_add(2 + length).filter(|&end| end <= jpeg.len() && length >= 2)?;
                let misplaced_icc =
                    after_frame_start && marker == 0xE2 && jpeg[pos + 4..end].starts_with(ICC);
                if !misplaced_icc {
                    ranges.push(pos..end);
                }
                // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
                after_frame_start |= matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
                pos = end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOI: [u8; 2] = [0xFF, 0xD8];
    const DQT: [u8; 6] = [0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02];
    const SOS: [u8; 8] = [0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9];

    #[test]
    fn stray_bytes_between_segments_are_dropped() {
        let clean = [&SOI[..], &DQT, &SOS].concat();
        let stray = [&SOI[..], &[0x00, 0x11, 0x22][..], &DQT, &[0x42][..], &SOS].concat();
        assert_eq!(with_repaired_header(&stray).as_ref(), clean.as_slice());
    }

    #[test]
    fn icc_segments_after_the_frame_start_are_dropped() {
        let icc = [&[0xFF, 0xE2, 0x00, 0x10][..], b"ICC_PROFILE\0", &[1, 1]].concat();
        let sof = [0xFF, 0xC0, 0x00, 0x03, 0x08];
        let misplaced = [&SOI[..], &icc, &DQT, &sof, &icc, &SOS].concat();
        let kept = [&SOI[..], &icc, &DQT, &sof, &SOS].concat();
        assert_eq!(with_repaired_header(&misplaced).as_ref(), kept.as_slice());
    }

    #[test]
    fn the_header_ends_with_the_scan_header() {
        // SOS's two-byte length covers the length itself: [0x12, 0x34] is scan data.
        let jpeg = [&SOI[..], &DQT, &SOS].concat();
        assert_eq!(header_only(&jpeg), &jpeg[..SOI.len() + DQT.len() + 4]);
        assert_eq!(header_only(b"not a jpeg"), b"not a jpeg");
    }

    #[test]
    fn segments_have_their_markers_payloads_and_the_scan_start() {
        let app1 = [0xFF, 0xE1, 0x00, 0x05, b'a', b'b', b'c'];
        let jpeg = [&SOI[..], &app1, &[0x00][..], &DQT, &SOS].concat();
        let header = segments(&jpeg).expect("a JPEG");
        let found: Vec<(u8, usize, &[u8])> =
            header.segments.iter().map(|s| (s.marker, s.payload_offset, s.payload)).collect();
        assert_eq!(found, vec![(0xE1, 6, &b"abc"[..]), (0xDB, 14, &[0x01, 0x02][..])]);
        assert_eq!(header.scan_start, 16);
        assert!(segments(b"not a jpeg").is_none());
        assert!(segments(&[&SOI[..], &[0xFF, 0xDB, 0x40, 0x00, 0x01][..]].concat()).is_none());
    }

    #[test]
    fn clean_and_malformed_jpegs_are_left_alone() {
        let clean = [&SOI[..], &DQT, &SOS].concat();
        assert!(matches!(with_repaired_header(&clean), Cow::Borrowed(_)));
        // A segment length running past the end: for the decoder to report, not to repair.
        let overlong = [&SOI[..], &[0xFF, 0xDB, 0x40, 0x00, 0x01][..]].concat();
        assert_eq!(with_repaired_header(&overlong).as_ref(), overlong.as_slice());
        assert_eq!(with_repaired_header(b"not a jpeg").as_ref(), b"not a jpeg");
    }
}

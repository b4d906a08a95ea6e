//! Sniffing: what an input is, from its first bytes, never from its name.

use std::fmt;

/// The broad kind of an input, which decides the jobs the pipeline runs on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaKind {
    /// A still or animated image.
    Image,
    /// A video (or audio) container.
    Video,
    /// Anything else.
    Unknown,
}

/// A container format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MediaFormat {
    /// JPEG (JFIF, EXIF, Adobe).
    Jpeg,
    /// PNG, including APNG.
    Png,
    /// GIF 87a/89a.
    Gif,
    /// WebP (lossy, lossless, animated).
    Webp,
    /// TIFF, both byte orders.
    Tiff,
    /// Windows bitmap.
    Bmp,
    /// HEIF/HEIC (recognised, not decoded).
    Heif,
    /// AVIF (recognised, not decoded).
    Avif,
    /// ISO base media (MP4, M4V, M4A, 3GP).
    Mp4,
    /// Apple QuickTime.
    Mov,
    /// Matroska.
    Matroska,
    /// WebM (Matroska profile).
    Webm,
    /// AVI (RIFF).
    Avi,
    /// MPEG transport stream (188- or 192-byte packets).
    MpegTs,
}

impl MediaFormat {
    /// Every format, in declaration order.
    pub const ALL: [MediaFormat; 14] = [
        MediaFormat::Jpeg,
        MediaFormat::Png,
        MediaFormat::Gif,
        MediaFormat::Webp,
        MediaFormat::Tiff,
        MediaFormat::Bmp,
        MediaFormat::Heif,
        MediaFormat::Avif,
        MediaFormat::Mp4,
        MediaFormat::Mov,
        MediaFormat::Matroska,
        MediaFormat::Webm,
        MediaFormat::Avi,
        MediaFormat::MpegTs,
    ];

    /// The kind of media this container holds.
    pub fn kind(self) -> MediaKind {
        match self {
            MediaFormat::Jpeg
            | MediaFormat::Png
            | MediaFormat::Gif
            | MediaFormat::Webp
            | MediaFormat::Tiff
            | MediaFormat::Bmp
            | MediaFormat::Heif
            | MediaFormat::Avif => MediaKind::Image,
            MediaFormat::Mp4
            | MediaFormat::Mov
            | MediaFormat::Matroska
            | MediaFormat::Webm
            | MediaFormat::Avi
            | MediaFormat::MpegTs => MediaKind::Video,
        }
    }

    /// The IANA media type, for `Content-Type` headers.
    pub fn mime_type(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "image/jpeg",
            MediaFormat::Png => "image/png",
            MediaFormat::Gif => "image/gif",
            MediaFormat::Webp => "image/webp",
            MediaFormat::Tiff => "image/tiff",
            MediaFormat::Bmp => "image/bmp",
            MediaFormat::Heif => "image/heif",
            MediaFormat::Avif => "image/avif",
            MediaFormat::Mp4 => "video/mp4",
            MediaFormat::Mov => "video/quicktime",
            MediaFormat::Matroska => "video/x-matroska",
            MediaFormat::Webm => "video/webm",
            MediaFormat::Avi => "video/x-msvideo",
            MediaFormat::MpegTs => "video/mp2t",
        }
    }

    /// The short lowercase name used in JSON and logs (`jpeg`, `mpeg-ts`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "jpeg",
            MediaFormat::Png => "png",
            MediaFormat::Gif => "gif",
            MediaFormat::Webp => "webp",
            MediaFormat::Tiff => "tiff",
            MediaFormat::Bmp => "bmp",
            MediaFormat::Heif => "heif",
            MediaFormat::Avif => "avif",
            MediaFormat::Mp4 => "mp4",
            MediaFormat::Mov => "mov",
            MediaFormat::Matroska => "matroska",
            MediaFormat::Webm => "webm",
            MediaFormat::Avi => "avi",
            MediaFormat::MpegTs => "mpeg-ts",
        }
    }
}

impl fmt::Display for MediaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many leading bytes [`sniff`] looks at; a caller reading a prefix (e.g. a ranged S3 GET) needs
/// no more than this.
pub const SNIFF_LEN: usize = 4096;

/// Recognises the container format of `bytes` (the whole input or at least its first
/// [`SNIFF_LEN`] bytes) from its magic numbers. `None` means unknown.
pub fn sniff(bytes: &[u8]) -> Option<MediaFormat> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"\xFF\xD8\xFF") {
        return Some(MediaFormat::Jpeg);
    }
    if at(0, b"\x89PNG\r\n\x1A\n") {
        return Some(MediaFormat::Png);
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Some(MediaFormat::Gif);
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return Some(MediaFormat::Webp);
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some(MediaFormat::Avi);
    }
    if at(0, b"II*\0") || at(0, b"MM\0*") {
        return Some(MediaFormat::Tiff);
    }
    if at(0, b"\x1A\x45\xDF\xA3") {
        return Some(sniff_matroska(bytes));
    }
    if at(4, b"ftyp") {
        return sniff_iso_bmff(bytes);
    }
    // QuickTime files written before `ftyp` existed start directly with a top-level atom.
    if [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"].iter().any(|atom| at(4, *atom)) {
        return Some(MediaFormat::Mov);
    }
    if is_bmp(bytes) {
        return Some(MediaFormat::Bmp);
    }
    if is_mpeg_ts(bytes) {
        return Some(MediaFormat::MpegTs);
    }
    None
}

/// Matroska and WebM share the EBML header; the DocType element says which.
fn sniff_matroska(bytes: &[u8]) -> MediaFormat {
    let header = &bytes[..bytes.len().min(64)];
    if header.windows(4).any(|window| window == b"webm") { MediaFormat::Webm } else { MediaFormat::Matroska }
}

/// ISO base media files: the major brand and the compatible brands tell HEIF, AVIF, MP4 and QuickTime apart.
fn sniff_iso_bmff(bytes: &[u8]) -> Option<MediaFormat> {
    let box_size = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let ftyp = bytes.get(8..box_size.clamp(16, 256).min(bytes.len()))?;
    let major = ftyp.get(0..4)?;
    // Compatible brands follow the major brand and the 4-byte minor version.
    let compatible: Vec<&[u8]> = ftyp.get(8..).unwrap_or_default().chunks_exact(4).collect();
    let has = |brand: &[u8]| major == brand || compatible.contains(&brand);
    if has(b"avif") || has(b"avis") {
        return Some(MediaFormat::Avif);
    }
    if [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"].iter().any(|b| major == *b) {
        return Some(MediaFormat::Heif);
    }
    if major == b"qt  " {
        return Some(MediaFormat::Mov);
    }
    Some(MediaFormat::Mp4)
}

/// BMP's two-byte magic is weak, so also require zeroed reserved fields and a known DIB header size.
fn is_bmp(bytes: &[u8]) -> bool {
    if bytes.get(0..2) != Some(b"BM") || bytes.len() < 18 {
        return false;
    }
    let reserved_zero = bytes[6..10].iter().all(|&b| b == 0);
    let dib_size = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
    reserved_zero && matches!(dib_size, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// An MPEG-TS stream has a 0x47 sync byte every 188 bytes (192 in M2TS, after a 4-byte timecode).
fn is_mpeg_ts(bytes: &[u8]) -> bool {
    [(0usize, 188usize), (4, 192)].iter().any(|&(start, stride)| {
        let syncs: Vec<u8> = (0..4).filter_map(|i| bytes.get(start + i * stride).copied()).collect();
        syncs.len() >= 2 && syncs.iter().all(|&b| b == 0x47)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut bytes = (size as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(b"ftyp");
        bytes.extend_from_slice(major);
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        for brand in compatible {
            bytes.extend_from_slice(*brand);
        }
        bytes
    }

    #[test]
    fn iso_bmff_brands_decide_between_heif_avif_mp4_and_mov() {
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1", b"heic"])), Some(MediaFormat::Heif));
        assert_eq!(sniff(&ftyp(b"mif1", &[b"mif1", b"avif"])), Some(MediaFormat::Avif));
        assert_eq!(sniff(&ftyp(b"avif", &[])), Some(MediaFormat::Avif));
        assert_eq!(sniff(&ftyp(b"isom", &[b"isom", b"avc1"])), Some(MediaFormat::Mp4));
        assert_eq!(sniff(&ftyp(b"qt  ", &[b"qt  "])), Some(MediaFormat::Mov));
    }

    #[test]
    fn short_and_unknown_inputs_are_not_recognised() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
        assert_eq!(sniff(b"%PDF-1.7\n"), None);
        assert_eq!(sniff(b"BM this is text, not a bitmap"), None);
        assert_eq!(sniff(&[0x47; 10]), None);
    }

    #[test]
    fn mpeg_ts_needs_repeated_sync_bytes() {
        let mut ts = vec![0u8; 188 * 3];
        for packet in ts.chunks_mut(188) {
            packet[0] = 0x47;
        }
        assert_eq!(sniff(&ts), Some(MediaFormat::MpegTs));
        ts[188] = 0;
        assert_eq!(sniff(&ts), None);
    }

    #[test]
    fn every_format_has_a_kind_a_name_and_a_mime_type() {
        for format in MediaFormat::ALL {
            assert!(!format.name().is_empty());
            assert!(format.mime_type().contains('/'));
            let json = serde_json::to_string(&format).expect("serialises");
            assert_eq!(json, format!("\"{}\"", format.name()));
            let _ = format.kind();
        }
    }
}

//! Sniffing: what an input is, from its first bytes, never from its name.

use std::fmt;

/// The broad kind of an input, which decides the jobs the pipeline runs on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaKind {
    /// A still or animated image.
    Image,
    /// A container that may hold video: MP4, QuickTime, Matroska/WebM, AVI, MPEG-TS. The bytes sniffed
    /// cannot tell whether a video stream is inside, so an MP4 of music alone is still `Video` (the
    /// transcode finds out and makes an audio rendition).
    Video,
    /// A format that only carries sound: MP3, WAV, FLAC, Ogg, M4A, raw AAC.
    Audio,
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
    /// HEIF/HEIC (decoded by `media-heif`, which only some binaries link).
    Heif,
    /// AVIF (decoded by `media-heif`, which only some binaries link).
    Avif,
    /// ISO base media (MP4, M4V, 3GP) without an audio-only brand; see [`M4a`](MediaFormat::M4a).
    Mp4,
    /// Apple QuickTime.
    Mov,
    /// Matroska (`.mkv`, `.mka`) other than WebM.
    Matroska,
    /// WebM (Matroska profile).
    Webm,
    /// AVI (RIFF).
    Avi,
    /// MPEG transport stream (188- or 192-byte packets).
    MpegTs,
    /// MP3: MPEG-1/2/2.5 Layer III, behind an ID3v2 tag or starting with a frame.
    Mp3,
    /// WAV (RIFF `WAVE`, and its 64-bit RF64/BW64 forms).
    Wav,
    /// FLAC in its native container.
    Flac,
    /// Ogg (Vorbis, Opus, FLAC in Ogg).
    Ogg,
    /// ISO base media with an audio-only brand (`M4A `, `M4B ` audiobooks, `M4P ` iTunes purchases).
    M4a,
    /// Raw AAC in ADTS frames (`.aac`), as radio streams and some recorders write it.
    Aac,
}

impl MediaFormat {
    /// Every format, in declaration order.
    pub const ALL: [MediaFormat; 20] = [
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
        MediaFormat::Mp3,
        MediaFormat::Wav,
        MediaFormat::Flac,
        MediaFormat::Ogg,
        MediaFormat::M4a,
        MediaFormat::Aac,
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
            MediaFormat::Mp3
            | MediaFormat::Wav
            | MediaFormat::Flac
            | MediaFormat::Ogg
            | MediaFormat::M4a
            | MediaFormat::Aac => MediaKind::Audio,
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
            MediaFormat::Mp3 => "audio/mpeg",
            MediaFormat::Wav => "audio/wav",
            MediaFormat::Flac => "audio/flac",
            MediaFormat::Ogg => "audio/ogg",
            MediaFormat::M4a => "audio/mp4",
            MediaFormat::Aac => "audio/aac",
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
            MediaFormat::Mp3 => "mp3",
            MediaFormat::Wav => "wav",
            MediaFormat::Flac => "flac",
            MediaFormat::Ogg => "ogg",
            MediaFormat::M4a => "m4a",
            MediaFormat::Aac => "aac",
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
    // RIFX is big-endian WAV; RF64 and BW64 are the forms for files over 4 GiB.
    if [b"RIFF", b"RIFX", b"RF64", b"BW64"].iter().any(|riff| at(0, *riff)) && at(8, b"WAVE") {
        return Some(MediaFormat::Wav);
    }
    if at(0, b"fLaC") {
        return Some(MediaFormat::Flac);
    }
    // Every Ogg page starts with the capture pattern and stream structure version 0.
    if at(0, b"OggS\0") {
        return Some(MediaFormat::Ogg);
    }
    if let Some(tag_end) = id3v2_tag_end(bytes) {
        return Some(sniff_after_id3(bytes.get(tag_end..).unwrap_or_default()));
    }
    // Classic TIFF, and BigTIFF (64-bit offsets, version 43), which the `tiff` crate reads too.
    if at(0, b"II*\0") || at(0, b"MM\0*") || at(0, b"II+\0") || at(0, b"MM\0+") {
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
    // Last: a frame sync is only 11 or 12 bits, so these need two consecutive, agreeing frames.
    if is_mp3_stream(bytes) {
        return Some(MediaFormat::Mp3);
    }
    if is_adts_stream(bytes) {
        return Some(MediaFormat::Aac);
    }
    None
}

/// Matroska and WebM share the EBML header; the DocType element says which.
fn sniff_matroska(bytes: &[u8]) -> MediaFormat {
    let header = &bytes[..bytes.len().min(64)];
    if header.windows(4).any(|window| window == b"webm") { MediaFormat::Webm } else { MediaFormat::Matroska }
}

/// Brands of ISO base media files that hold sound only: iTunes audio, audiobooks and purchases.
const AUDIO_ONLY_BRANDS: [&[u8]; 3] = [b"M4A ", b"M4B ", b"M4P "];

/// Brands that promise pictures. iTunes lists `M4A ` among the compatible brands of its M4V videos,
/// so an audio brand among the compatible ones only counts without any of these.
const VIDEO_BRANDS: [&[u8]; 5] = [b"M4V ", b"M4VH", b"M4VP", b"avc1", b"qt  "];

/// ISO base media files: the major brand and the compatible brands tell HEIF, AVIF, M4A, MP4 and
/// QuickTime apart.
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
    let audio_brand_compatible = AUDIO_ONLY_BRANDS.iter().any(|brand| compatible.contains(brand));
    if AUDIO_ONLY_BRANDS.contains(&major)
        || (audio_brand_compatible && !VIDEO_BRANDS.iter().any(|brand| has(brand)))
    {
        return Some(MediaFormat::M4a);
    }
    Some(MediaFormat::Mp4)
}

/// The offset just past an ID3v2 tag at the start of `bytes`, if one is there. The header must be
/// well-formed (version 2 to 4, no undefined flag bits, a 28-bit "syncsafe" size whose bytes all
/// have their top bit clear), so text that happens to start with `ID3` is not taken for one.
fn id3v2_tag_end(bytes: &[u8]) -> Option<usize> {
    let &[b'I', b'D', b'3', major, revision, flags, s0, s1, s2, s3, ..] = bytes else { return None };
    let defined_flags = match major {
        2 => 0xC0,
        3 => 0xE0,
        4 => 0xF0,
        _ => return None,
    };
    if revision == 0xFF || flags & !defined_flags != 0 || [s0, s1, s2, s3].iter().any(|&b| b & 0x80 != 0) {
        return None;
    }
    let size = [s0, s1, s2, s3].iter().fold(0usize, |size, &b| (size << 7) | usize::from(b));
    // Version 2.4 may add a 10-byte footer after the frames.
    let footer = if major == 4 && flags & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// What follows an ID3v2 tag. The tag is MP3's, but FLAC and raw AAC files carry one now and then;
/// when the prefix ends inside the tag (large cover art), MP3 is by far the likeliest.
fn sniff_after_id3(rest: &[u8]) -> MediaFormat {
    if rest.starts_with(b"fLaC") {
        MediaFormat::Flac
    } else if is_adts_stream(rest) {
        MediaFormat::Aac
    } else {
        MediaFormat::Mp3
    }
}

/// The fields of an MPEG audio Layer III frame header that consecutive frames share, and the
/// frame's length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mp3Frame {
    /// `0b11` MPEG-1, `0b10` MPEG-2, `0b00` MPEG-2.5.
    version: u8,
    sample_rate_index: u8,
    length: usize,
}

/// Reads an MPEG audio Layer III frame header. Only Layer III is MP3: Layers I and II (MP1, MP2)
/// share the sync word but have no decoder here. Reserved values and the free-format bit rate (whose
/// frame length the header does not give) are refused.
fn mp3_frame(header: &[u8]) -> Option<Mp3Frame> {
    const MPEG1_KBPS: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
    const MPEG2_KBPS: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const MPEG1_RATES: [u32; 3] = [44_100, 48_000, 32_000];
    let &[0xFF, b1, b2, b3, ..] = header else { return None };
    let (version, layer) = ((b1 >> 3) & 0b11, (b1 >> 1) & 0b11);
    let (bitrate_index, sample_rate_index) = (usize::from(b2 >> 4), (b2 >> 2) & 0b11);
    let (padding, emphasis) = (usize::from((b2 >> 1) & 1), b3 & 0b11);
    if b1 & 0xE0 != 0xE0
        || version == 0b01
        || layer != 0b01
        || !(1..15).contains(&bitrate_index)
        || sample_rate_index == 0b11
        || emphasis == 0b10
    {
        return None;
    }
    let base_rate = MPEG1_RATES[usize::from(sample_rate_index)];
    // Bytes per frame = samples per frame / 8 × bit rate / sample rate (1152 samples in MPEG-1,
    // 576 in MPEG-2 and 2.5, whose sample rates are a half and a quarter of MPEG-1's).
    let (kilobits, sample_rate, bytes_per_bit_per_second) = match version {
        0b11 => (MPEG1_KBPS[bitrate_index], base_rate, 144),
        0b10 => (MPEG2_KBPS[bitrate_index], base_rate / 2, 72),
        _ => (MPEG2_KBPS[bitrate_index], base_rate / 4, 72),
    };
    let length = (bytes_per_bit_per_second * kilobits * 1000 / sample_rate) as usize + padding;
    Some(Mp3Frame { version, sample_rate_index, length })
}

/// Whether `bytes` start with two consecutive MP3 frames of the same MPEG version and sample rate.
/// One 11-bit sync word alone turns up in random data about once in 2,000 offsets; two agreeing
/// headers a frame apart do not.
fn is_mp3_stream(bytes: &[u8]) -> bool {
    let Some(first) = mp3_frame(bytes) else { return false };
    let second = bytes.get(first.length..).and_then(mp3_frame);
    second.is_some_and(|second| {
        second.version == first.version && second.sample_rate_index == first.sample_rate_index
    })
}

/// The fields of an ADTS header that consecutive frames share, and the frame's length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AdtsFrame {
    /// The header's first bytes with the per-frame bits masked out: MPEG version, profile, sample
    /// rate and channel configuration.
    fixed: [u8; 3],
    length: usize,
}

/// Reads an ADTS header: a 12-bit sync word, layer `00` (an MP3 frame has `01` to `11` there), a
/// defined sampling-frequency index, and a frame longer than its own header.
fn adts_frame(header: &[u8]) -> Option<AdtsFrame> {
    let &[0xFF, b1, b2, b3, b4, b5, ..] = header else { return None };
    if b1 & 0xF6 != 0xF0 || (b2 >> 2) & 0x0F > 12 {
        return None;
    }
    let header_length = if b1 & 1 == 1 { 7 } else { 9 }; // 9 with the CRC
    let length = (usize::from(b3 & 0x03) << 11) | (usize::from(b4) << 3) | usize::from(b5 >> 5);
    (length > header_length).then_some(AdtsFrame { fixed: [b1, b2, b3 & 0xC0], length })
}

/// Whether `bytes` start with two consecutive ADTS frames with the same fixed header (version,
/// profile, sample rate, channels).
fn is_adts_stream(bytes: &[u8]) -> bool {
    let Some(first) = adts_frame(bytes) else { return false };
    bytes.get(first.length..).and_then(adts_frame).is_some_and(|second| second.fixed == first.fixed)
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
    use proptest::prelude::*;

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
    fn audio_only_brands_make_m4a_but_m4v_videos_stay_mp4() {
        assert_eq!(sniff(&ftyp(b"M4A ", &[b"M4A ", b"isom", b"iso2"])), Some(MediaFormat::M4a));
        assert_eq!(sniff(&ftyp(b"M4B ", &[])), Some(MediaFormat::M4a));
        assert_eq!(sniff(&ftyp(b"M4P ", &[b"M4P ", b"mp42"])), Some(MediaFormat::M4a));
        assert_eq!(sniff(&ftyp(b"isom", &[b"isom", b"M4A "])), Some(MediaFormat::M4a));
        // iTunes videos list the audio brand as compatible too.
        assert_eq!(sniff(&ftyp(b"M4V ", &[b"M4V ", b"M4A ", b"mp42", b"isom"])), Some(MediaFormat::Mp4));
        assert_eq!(sniff(&ftyp(b"mp42", &[b"M4A ", b"avc1"])), Some(MediaFormat::Mp4));
    }

    #[test]
    fn riff_wave_is_audio_and_riff_avi_is_video() {
        let riff =
            |form: &[u8; 4], magic: &[u8; 4]| [magic.as_slice(), b"\x24\0\0\0", form, b"fmt "].concat();
        assert_eq!(sniff(&riff(b"WAVE", b"RIFF")), Some(MediaFormat::Wav));
        assert_eq!(sniff(&riff(b"WAVE", b"RF64")), Some(MediaFormat::Wav));
        assert_eq!(sniff(&riff(b"AVI ", b"RIFF")), Some(MediaFormat::Avi));
        assert_eq!(sniff(&riff(b"WEBP", b"RIFF")), Some(MediaFormat::Webp));
        assert_eq!(sniff(&riff(b"CDXA", b"RIFF")), None);
    }

    #[test]
    fn flac_and_ogg_by_their_magic() {
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some(MediaFormat::Flac));
        assert_eq!(sniff(b"OggS\0\x02\0\0\0\0"), Some(MediaFormat::Ogg));
        // Only version 0 of the Ogg page structure exists.
        assert_eq!(sniff(b"OggS\x01\x02\0\0\0\0"), None);
    }

    /// An MPEG-1 Layer III frame header: 128 kb/s at 44.1 kHz, joint stereo (417 bytes a frame).
    const MP3_HEADER: [u8; 4] = [0xFF, 0xFB, 0x90, 0x64];

    fn frames(header: &[u8], length: usize, count: usize) -> Vec<u8> {
        let mut frame = header.to_vec();
        frame.resize(length, 0x55);
        frame.repeat(count)
    }

    /// An ID3v2.`major` tag with `payload` bytes of frames.
    fn id3(major: u8, payload: usize) -> Vec<u8> {
        let size = [(payload >> 21) & 0x7F, (payload >> 14) & 0x7F, (payload >> 7) & 0x7F, payload & 0x7F];
        let mut tag = vec![b'I', b'D', b'3', major, 0, 0];
        tag.extend(size.iter().map(|&b| b as u8));
        tag.resize(10 + payload, 0);
        tag
    }

    #[test]
    fn mp3_is_an_id3_tag_or_two_agreeing_frames() {
        assert_eq!(mp3_frame(&MP3_HEADER).map(|frame| frame.length), Some(417));
        assert_eq!(sniff(&frames(&MP3_HEADER, 417, 3)), Some(MediaFormat::Mp3));
        // One frame followed by something else is not enough.
        let mut lone = frames(&MP3_HEADER, 417, 1);
        lone.extend_from_slice(&[0; 500]);
        assert_eq!(sniff(&lone), None);
        // Layer II (MP2) shares the sync word but is not MP3.
        assert_eq!(sniff(&frames(&[0xFF, 0xFD, 0x90, 0x64], 417, 3)), None);
        // Reserved version, bad bit rate, reserved sample rate.
        for header in [[0xFF, 0xEB, 0x90, 0x64], [0xFF, 0xFB, 0xF0, 0x64], [0xFF, 0xFB, 0x9C, 0x64]] {
            assert_eq!(mp3_frame(&header), None, "{header:02x?}");
        }
        let mut tagged = id3(3, 100);
        tagged.extend(frames(&MP3_HEADER, 417, 2));
        assert_eq!(sniff(&tagged), Some(MediaFormat::Mp3));
        // A tag bigger than the prefix read (cover art) still says MP3.
        assert_eq!(sniff(&id3(4, 200_000)[..4096]), Some(MediaFormat::Mp3));
        // Text that starts with "ID3" is not a tag.
        assert_eq!(sniff(b"ID3 tags are how MP3 files carry titles"), None);
        let mut bad_size = id3(3, 100);
        bad_size[6] = 0x80;
        assert_eq!(sniff(&bad_size), None);
    }

    /// An ADTS header: AAC-LC, 44.1 kHz, mono, no CRC, a 200-byte frame.
    fn adts_header(length: usize) -> [u8; 7] {
        [
            0xFF,
            0xF1,
            0x50,
            0x40 | (length >> 11) as u8,
            (length >> 3) as u8,
            ((length & 7) << 5) as u8 | 0x1F,
            0xFC,
        ]
    }

    #[test]
    fn adts_needs_layer_zero_and_two_agreeing_frames() {
        assert_eq!(adts_frame(&adts_header(200)).map(|frame| frame.length), Some(200));
        assert_eq!(sniff(&frames(&adts_header(200), 200, 3)), Some(MediaFormat::Aac));
        let mut lone = frames(&adts_header(200), 200, 1);
        lone.extend_from_slice(&[0; 300]);
        assert_eq!(sniff(&lone), None);
        // A frame no longer than its header, and a reserved sample rate index.
        assert_eq!(adts_frame(&adts_header(7)), None);
        let mut reserved_rate = adts_header(200);
        reserved_rate[2] = 0x40 | (13 << 2);
        assert_eq!(adts_frame(&reserved_rate), None);
        // Raw AAC and FLAC sometimes carry an ID3 tag too.
        let mut tagged = id3(4, 50);
        tagged.extend(frames(&adts_header(200), 200, 2));
        assert_eq!(sniff(&tagged), Some(MediaFormat::Aac));
        let mut tagged_flac = id3(3, 50);
        tagged_flac.extend_from_slice(b"fLaC\0\0\0\x22");
        assert_eq!(sniff(&tagged_flac), Some(MediaFormat::Flac));
    }

    #[test]
    fn audio_formats_are_the_audio_kind() {
        let audio: Vec<MediaFormat> =
            MediaFormat::ALL.into_iter().filter(|format| format.kind() == MediaKind::Audio).collect();
        let expected = [
            MediaFormat::Mp3,
            MediaFormat::Wav,
            MediaFormat::Flac,
            MediaFormat::Ogg,
            MediaFormat::M4a,
            MediaFormat::Aac,
        ];
        assert_eq!(audio, expected);
        assert!(audio.iter().all(|format| format.mime_type().starts_with("audio/")));
        assert_eq!(serde_json::to_string(&MediaKind::Audio).expect("serialises"), "\"audio\"");
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

    /// Any MP3 frame header: every MPEG version, bit rate, sample rate, padding, channel mode and
    /// emphasis the format defines.
    fn mp3_headers() -> impl Strategy<Value = [u8; 4]> {
        (prop::sample::select(vec![0b00u8, 0b10, 0b11]), 1u8..15, 0u8..3, any::<bool>(), any::<u8>())
            .prop_map(|(version, bitrate, rate, padding, mode)| {
                let emphasis = [0, 1, 3][usize::from(mode % 3)];
                [
                    0xFF,
                    0xE0 | (version << 3) | (0b01 << 1) | 1,
                    (bitrate << 4) | (rate << 2) | (u8::from(padding) << 1),
                    (mode & 0xF0) | emphasis,
                ]
            })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_are_not_taken_for_frame_streams(
            bytes in prop::collection::vec(any::<u8>(), 0..6_000),
        ) {
            let sniffed = sniff(&bytes);
            prop_assert!(!matches!(sniffed, Some(MediaFormat::Mp3 | MediaFormat::Aac)), "{sniffed:?}");
        }

        #[test]
        fn an_mp3_frame_counts_only_with_an_agreeing_next_one(
            header in mp3_headers(),
            filler in prop::collection::vec(any::<u8>(), 3_000),
        ) {
            let length = mp3_frame(&header).expect("a valid header").length;
            prop_assert!((24..=1_441).contains(&length), "{header:02x?}: {length}");
            // The frame's body is noise that never holds a sync byte where the next frame starts.
            let mut bytes = header.to_vec();
            bytes.extend(filler.iter().map(|&b| if b == 0xFF { 0 } else { b }));
            prop_assert_eq!(sniff(&bytes), None);
            bytes[length..length + 4].copy_from_slice(&header);
            prop_assert_eq!(sniff(&bytes), Some(MediaFormat::Mp3));
            // Every prefix is handled without panicking.
            for end in [0, 1, 3, 4, length - 1, length, length + 3] {
                let _ = sniff(&bytes[..end]);
            }
        }
    }
}

//! Opening untrusted inputs: the file only (no network or nested protocols), an allow-list of
//! demuxers, and FFmpeg's failures turned into typed errors.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use ffmpeg_next::format::context::Input;
use ffmpeg_next::{Dictionary, Error as FfmpegError};
use media_core::{MediaFormat, MediaKind};

use crate::VideoError;

/// The demuxers media-video accepts (FFmpeg's names; `mov` covers MP4/M4A/3GP, `matroska` WebM,
/// `aac` raw AAC in ADTS frames). Everything else is refused before FFmpeg parses it: playlist and
/// concat demuxers would open other files, and image demuxers belong to the media core.
const ALLOWED_DEMUXERS: &str = "mov,matroska,avi,mpegts,mp3,wav,flac,ogg,aac";

/// What we know about an input before FFmpeg opens it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputFile {
    /// Size in bytes.
    pub bytes: u64,
    /// The container sniffed from the magic bytes, if the media core recognises it.
    pub sniffed: Option<MediaFormat>,
}

/// Reads the size and the first bytes of `path`, refusing empty files and images early.
pub(crate) fn inspect_file(path: &Path) -> Result<InputFile, VideoError> {
    let mut file = File::open(path).map_err(|error| VideoError::io(path, error))?;
    let bytes = file.metadata().map_err(|error| VideoError::io(path, error))?.len();
    if bytes == 0 {
        return Err(VideoError::UnsupportedFormat { reason: "the file is empty".into() });
    }
    let mut head = Vec::with_capacity(media_core::SNIFF_LEN);
    file.by_ref()
        .take(media_core::SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|error| VideoError::io(path, error))?;
    let sniffed = media_core::sniff(&head);
    if let Some(format) = sniffed.filter(|format| format.kind() == MediaKind::Image) {
        return Err(VideoError::UnsupportedFormat {
            reason: format!("{format} is an image, not a video or audio file"),
        });
    }
    Ok(InputFile { bytes, sniffed })
}

/// Refuses a probe of another file: the limits were checked on the probe, so it must describe the
/// file about to be decoded (same size).
pub(crate) fn check_probe_matches(file: &InputFile, probe: &crate::Probe) -> Result<(), VideoError> {
    if file.bytes != probe.bytes {
        return Err(VideoError::InvalidOptions(format!(
            "the probe describes a file of {} bytes, this one has {}",
            probe.bytes, file.bytes
        )));
    }
    Ok(())
}

/// Opens `path` with FFmpeg: the `file` protocol only and [`ALLOWED_DEMUXERS`] only, then reads
/// enough packets to know every stream's parameters.
pub(crate) fn open(path: &Path, file: &InputFile) -> Result<Input, VideoError> {
    crate::init();
    let mut options = Dictionary::new();
    options.set("format_whitelist", ALLOWED_DEMUXERS);
    options.set("protocol_whitelist", "file");
    let url = file_url(path)?;
    ffmpeg_next::format::input_with_dictionary(&url, options).map_err(|error| open_error(path, file, error))
}

/// The FFmpeg URL of a local `path`. The `file:` prefix stops FFmpeg reading a name such as
/// `http:x.mp4` as a protocol. FFmpeg (and ffmpeg-next, which would panic) needs UTF-8 without NUL.
pub(crate) fn file_url(path: &Path) -> Result<String, VideoError> {
    match path.to_str() {
        Some(text) if !text.contains('\0') => Ok(format!("file:{text}")),
        _ => Err(VideoError::InvalidOptions(format!("path {} is not UTF-8 without NUL", path.display()))),
    }
}

/// Classifies a failure to open or read the header of `path`.
fn open_error(path: &Path, file: &InputFile, error: FfmpegError) -> VideoError {
    match error {
        FfmpegError::Other { errno } if errno == libc_errno::EINVAL => VideoError::UnsupportedFormat {
            reason: "not a container media-video reads (FFmpeg recognised another format)".into(),
        },
        FfmpegError::Other { errno } if errno == libc_errno::EIO => read_error(path, file.sniffed),
        FfmpegError::Other { errno }
            if [libc_errno::ENOENT, libc_errno::EACCES, libc_errno::EISDIR].contains(&errno) =>
        {
            VideoError::io(path, std::io::Error::from_raw_os_error(errno))
        }
        FfmpegError::Other { errno } if errno == libc_errno::ENOMEM => {
            VideoError::encode("opening the input", FfmpegError::Other { errno })
        }
        other => match file.sniffed {
            Some(format) => broken_container(path, format, &other.to_string()),
            None => VideoError::UnsupportedFormat { reason: format!("FFmpeg could not read it: {other}") },
        },
    }
}

/// Classifies FFmpeg's `AVERROR(EIO)` on `path`. Demuxers (FLAC's, WAV's, MP3's ...) report a read
/// that came back short, i.e. a file that ends inside a header or packet, as EIO too; only a file
/// that cannot be read to its last byte has a real I/O problem, worth a retry.
pub(crate) fn read_error(path: &Path, sniffed: Option<MediaFormat>) -> VideoError {
    let last_byte = File::open(path).and_then(|mut file| {
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(1)))?;
        file.read(&mut [0u8; 1])
    });
    match last_byte {
        Ok(_) => VideoError::TruncatedInput {
            reason: match sniffed {
                Some(format) => format!("{format}: the data ends inside a header or packet"),
                None => "the data ends inside a header or packet".into(),
            },
        },
        Err(error) => VideoError::io(path, error),
    }
}

/// The error for a recognised container (`format`) that FFmpeg could not use: truncated when its
/// own structure says data is missing, corrupt otherwise.
pub(crate) fn broken_container(path: &Path, format: MediaFormat, ffmpeg_said: &str) -> VideoError {
    if matches!(format, MediaFormat::Mp4 | MediaFormat::Mov | MediaFormat::M4a)
        && let Some(reason) = iso_bmff_truncation(path)
    {
        return VideoError::TruncatedInput { reason };
    }
    VideoError::CorruptInput { reason: format!("{format}: {ffmpeg_said}") }
}

/// Box types an ISO base media or QuickTime file starts with.
const FIRST_BOXES: [&str; 8] = ["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp"];

/// For ISO base media files (MP4, M4A, MOV): walks the top-level boxes and says which one runs past the
/// end of the file, if any. Cheap: one seek per top-level box, no parsing inside them.
pub(crate) fn iso_bmff_truncation(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    let mut offset = 0u64;
    // A well-formed file has a handful of top-level boxes; stop after many to bound the work.
    for _ in 0..10_000 {
        if offset >= length {
            return None;
        }
        let mut header = [0u8; 16];
        file.seek(SeekFrom::Start(offset)).ok()?;
        let available = (length - offset).min(16) as usize;
        file.read_exact(&mut header[..available]).ok()?;
        if available < 8 {
            return Some(format!("{available} stray bytes at the end of the file"));
        }
        let kind = String::from_utf8_lossy(&header[4..8]).into_owned();
        if !header[4..8].iter().all(|byte| byte.is_ascii_graphic() || *byte == b' ') {
            return None;
        }
        if offset == 0 && !FIRST_BOXES.contains(&kind.as_str()) {
            return None; // Not ISO base media at all.
        }
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => return None, // "extends to the end of the file"
            1 if available == 16 => u64::from_be_bytes(header[8..16].try_into().ok()?),
            1 => return Some(format!("the header of box '{kind}' is cut off")),
            size => u64::from(size),
        };
        if size < 8 {
            return None; // Not a box structure we can judge; let FFmpeg's verdict stand.
        }
        let end = offset.checked_add(size)?;
        if end > length {
            return Some(format!(
                "box '{kind}' needs {size} bytes, the file ends {} bytes early",
                end - length
            ));
        }
        offset = end;
    }
    None
}

/// The POSIX error numbers FFmpeg reports through `AVERROR(errno)`.
mod libc_errno {
    pub use ffmpeg_next::util::error::{EACCES, EINVAL, EIO, EISDIR, ENOENT, ENOMEM};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(bytes).expect("write");
        file
    }

    fn iso_box(kind: &[u8; 4], payload_len: usize) -> Vec<u8> {
        let mut bytes = ((payload_len + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.resize(payload_len + 8, 0);
        bytes
    }

    #[test]
    fn complete_iso_files_are_not_truncated() {
        let mut bytes = iso_box(b"ftyp", 16);
        bytes.extend(iso_box(b"moov", 100));
        bytes.extend(iso_box(b"mdat", 1000));
        assert_eq!(iso_bmff_truncation(file_with(&bytes).path()), None);
    }

    #[test]
    fn a_box_running_past_the_end_is_truncation() {
        let mut bytes = iso_box(b"ftyp", 16);
        bytes.extend(iso_box(b"mdat", 1000));
        bytes.truncate(600);
        let reason = iso_bmff_truncation(file_with(&bytes).path()).expect("truncated");
        assert!(reason.contains("mdat"), "{reason}");
    }

    #[test]
    fn non_iso_files_are_not_judged() {
        assert_eq!(iso_bmff_truncation(file_with(b"\x1A\x45\xDF\xA3 matroska bytes").path()), None);
    }

    #[test]
    fn a_short_read_of_a_readable_file_is_truncation_not_a_retryable_io_error() {
        let cut = file_with(b"fLaC\0\0\0\x22\x12\0");
        let error = read_error(cut.path(), Some(MediaFormat::Flac));
        assert_eq!((error.code(), error.is_retryable()), ("truncated-input", false), "{error}");
        let missing = read_error(Path::new("/nonexistent/cut.flac"), None);
        assert_eq!((missing.code(), missing.is_retryable()), ("io-error", true));
    }

    #[test]
    fn empty_files_and_images_are_refused_before_ffmpeg() {
        let empty = file_with(b"");
        assert_eq!(inspect_file(empty.path()).map(|_| ()).expect_err("fails").code(), "unsupported-format");
        let png = file_with(b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR");
        assert_eq!(inspect_file(png.path()).map(|_| ()).expect_err("fails").code(), "unsupported-format");
        let missing = inspect_file(Path::new("/nonexistent/clip.mp4")).map(|_| ()).expect_err("fails");
        assert_eq!(missing.code(), "io-error");
    }
}

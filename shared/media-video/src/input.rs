//! Opening untrusted inputs: the file only (no network or nested protocols) or a ranged reader
//! through a custom I/O context (no protocols at all), an allow-list of demuxers, and FFmpeg's
//! failures turned into typed errors.

use std::path::Path;

use ffmpeg_next::format::context::{Input, StreamIo};
use ffmpeg_next::{Dictionary, Error as FfmpegError};
use media_core::{MediaFormat, MediaKind};

use crate::VideoError;
use crate::source::{Origin, RangedCursor, VideoSource};

/// The demuxers media-video accepts (FFmpeg's names; `mov` covers MP4/M4A/3GP, `matroska` WebM,
/// `aac` raw AAC in ADTS frames). Everything else is refused before FFmpeg parses it: playlist and
/// concat demuxers would open other files, and image demuxers belong to the media core.
const ALLOWED_DEMUXERS: &str = "mov,matroska,avi,mpegts,mp3,wav,flac,ogg,aac";

/// The buffer of the custom I/O context of a ranged input. The block cache behind it decides what
/// is requested; this only sets how much FFmpeg copies per callback.
const AVIO_BUFFER_BYTES: usize = 64 * 1024;

/// What we know about an input before FFmpeg opens it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputFile {
    /// Size in bytes.
    pub bytes: u64,
    /// The container sniffed from the magic bytes, if the media core recognises it.
    pub sniffed: Option<MediaFormat>,
}

/// Reads the size and the first bytes of `source`, refusing empty inputs and images early.
pub(crate) fn inspect(source: &VideoSource) -> Result<InputFile, VideoError> {
    let mut access = source.access().map_err(|error| source.io_error(error))?;
    let bytes = access.len();
    if bytes == 0 {
        return Err(VideoError::UnsupportedFormat { reason: "the file is empty".into() });
    }
    let mut head = vec![0u8; bytes.min(media_core::SNIFF_LEN as u64) as usize];
    let read = access.read_at(0, &mut head).map_err(|error| source.io_error(error))?;
    head.truncate(read);
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

/// Opens `source` with FFmpeg, [`ALLOWED_DEMUXERS`] only, then reads enough packets to know every
/// stream's parameters. A file is opened with the `file` protocol only; a ranged source through a
/// custom I/O context, with no protocol allowed at all (nothing a demuxer finds in the data can
/// make FFmpeg open another resource).
pub(crate) fn open(source: &VideoSource, file: &InputFile) -> Result<Input, VideoError> {
    crate::init();
    let mut options = Dictionary::new();
    options.set("format_whitelist", ALLOWED_DEMUXERS);
    let opened = match source.origin() {
        Origin::File(path) => {
            options.set("protocol_whitelist", "file");
            let url = file_url(path)?;
            ffmpeg_next::format::input_with_dictionary(&url, options)
        }
        Origin::Ranged(ranged) => {
            // An empty list matches no protocol (FFmpeg's `av_match_list`); without a list, nested
            // opens would inherit none from a custom I/O context and allow every protocol.
            options.set("protocol_whitelist", "");
            // ffmpeg-next's `StreamIo` allocates the AVIOContext (read and seek callbacks, with
            // AVSEEK_SIZE) and frees it, its buffer and the cursor once, after the context closes.
            let io = StreamIo::from_read_seek_with_capacity(RangedCursor::new(ranged), AVIO_BUFFER_BYTES)
                .map_err(|error| VideoError::encode("allocating FFmpeg's I/O context", error))?;
            // The name is FFmpeg's `url`: with a custom I/O context it is only logged and matched
            // against demuxers' extensions when probing, as a file's name is.
            let name = ranged.name().replace('\0', "");
            ffmpeg_next::format::input_from_stream(io, Some(&name), Some(options))
        }
    };
    opened.map_err(|error| open_error(source, file, error))
}

/// The FFmpeg URL of a local `path`. The `file:` prefix stops FFmpeg reading a name such as
/// `http:x.mp4` as a protocol. FFmpeg (and ffmpeg-next, which would panic) needs UTF-8 without NUL.
pub(crate) fn file_url(path: &Path) -> Result<String, VideoError> {
    match path.to_str() {
        Some(text) if !text.contains('\0') => Ok(format!("file:{text}")),
        _ => Err(VideoError::InvalidOptions(format!("path {} is not UTF-8 without NUL", path.display()))),
    }
}

/// Classifies a failure to open or read the header of `source`.
fn open_error(source: &VideoSource, file: &InputFile, error: FfmpegError) -> VideoError {
    match error {
        FfmpegError::Other { errno } if errno == libc_errno::EINVAL => VideoError::UnsupportedFormat {
            reason: "not a container media-video reads (FFmpeg recognised another format)".into(),
        },
        FfmpegError::Other { errno } if errno == libc_errno::EIO => read_error(source, file.sniffed),
        FfmpegError::Other { errno }
            if [libc_errno::ENOENT, libc_errno::EACCES, libc_errno::EISDIR].contains(&errno) =>
        {
            source.io_error(std::io::Error::from_raw_os_error(errno))
        }
        FfmpegError::Other { errno } if errno == libc_errno::ENOMEM => {
            VideoError::encode("opening the input", FfmpegError::Other { errno })
        }
        other => match file.sniffed {
            Some(format) => broken_container(source, format, &other.to_string()),
            None => VideoError::UnsupportedFormat { reason: format!("FFmpeg could not read it: {other}") },
        },
    }
}

/// Classifies FFmpeg's `AVERROR(EIO)` on `source`. Demuxers (FLAC's, WAV's, MP3's ...) report a read
/// that came back short, i.e. a file that ends inside a header or packet, as EIO too; only an input
/// that cannot be read to its last byte has a real I/O problem, worth a retry. (A ranged reader's
/// failure is an `io-error` whatever FFmpeg made of it: see
/// [`VideoSource::failed_reads_are_io_errors`].)
pub(crate) fn read_error(source: &VideoSource, sniffed: Option<MediaFormat>) -> VideoError {
    let last_byte = source.access().and_then(|mut access| {
        let length = access.len();
        access.read_at(length.saturating_sub(1), &mut [0u8; 1])
    });
    match last_byte {
        Ok(_) => VideoError::TruncatedInput {
            reason: match sniffed {
                Some(format) => format!("{format}: the data ends inside a header or packet"),
                None => "the data ends inside a header or packet".into(),
            },
        },
        Err(error) => source.io_error(error),
    }
}

/// The error for a recognised container (`format`) that FFmpeg could not use: truncated when its
/// own structure says data is missing, corrupt otherwise.
pub(crate) fn broken_container(source: &VideoSource, format: MediaFormat, ffmpeg_said: &str) -> VideoError {
    if matches!(format, MediaFormat::Mp4 | MediaFormat::Mov | MediaFormat::M4a)
        && let Some(reason) = iso_bmff_truncation(source)
    {
        return VideoError::TruncatedInput { reason };
    }
    VideoError::CorruptInput { reason: format!("{format}: {ffmpeg_said}") }
}

/// Box types an ISO base media or QuickTime file starts with.
const FIRST_BOXES: [&str; 8] = ["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp"];

/// Box headers a walk over a ranged source may fetch on their own (headers in cached blocks are
/// free). A faststart or moov-at-end file needs none or one; a fragmented one has two boxes per
/// fragment, and past this many the walk gives no verdict rather than a request per fragment.
const MAX_UNCACHED_BOX_READS: u32 = 32;

/// For ISO base media files (MP4, M4A, MOV): walks the top-level boxes and says which one runs past the
/// end of the file, if any. Cheap: one small read per top-level box, no parsing inside them.
pub(crate) fn iso_bmff_truncation(source: &VideoSource) -> Option<String> {
    let mut access = source.access().ok()?;
    let length = access.len();
    let mut offset = 0u64;
    // A well-formed file has a handful of top-level boxes; stop after many to bound the work.
    for _ in 0..10_000 {
        if offset >= length {
            return None;
        }
        if access.uncached_reads() >= MAX_UNCACHED_BOX_READS {
            return None;
        }
        let mut header = [0u8; 16];
        let available = (length - offset).min(16) as usize;
        if access.read_small_at(offset, &mut header[..available]).ok()? < available {
            return None;
        }
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
    use media_core::ErrorCode;

    use super::*;
    use crate::{RangeReader, ReadCacheOptions};
    use std::ffi::{CStr, CString};
    use std::io::Write;

    /// An object in memory.
    struct InMemory(Vec<u8>);

    impl RangeReader for InMemory {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }

        fn read_at(&self, offset: u64, length: usize) -> std::io::Result<Vec<u8>> {
            Ok(self.0[offset as usize..offset as usize + length].to_vec())
        }
    }

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
        assert_eq!(iso_bmff_truncation(&file_with(&bytes).path().into()), None);
    }

    #[test]
    fn a_box_running_past_the_end_is_truncation() {
        let mut bytes = iso_box(b"ftyp", 16);
        bytes.extend(iso_box(b"mdat", 1000));
        bytes.truncate(600);
        let reason = iso_bmff_truncation(&file_with(&bytes).path().into()).expect("truncated");
        assert!(reason.contains("mdat"), "{reason}");
    }

    #[test]
    fn non_iso_files_are_not_judged() {
        assert_eq!(iso_bmff_truncation(&file_with(b"\x1A\x45\xDF\xA3 matroska bytes").path().into()), None);
    }

    #[test]
    fn a_short_read_of_a_readable_file_is_truncation_not_a_retryable_io_error() {
        let cut = file_with(b"fLaC\0\0\0\x22\x12\0");
        let error = read_error(&cut.path().into(), Some(MediaFormat::Flac));
        assert_eq!((error.code(), error.is_retryable()), (ErrorCode::TRUNCATED_INPUT, false), "{error}");
        let missing = read_error(&Path::new("/nonexistent/cut.flac").into(), None);
        assert_eq!((missing.code(), missing.is_retryable()), (ErrorCode::IO_ERROR, true));
    }

    #[test]
    fn empty_files_and_images_are_refused_before_ffmpeg() {
        let empty = file_with(b"");
        assert_eq!(
            inspect(&empty.path().into()).map(|_| ()).expect_err("fails").code(),
            ErrorCode::UNSUPPORTED_FORMAT
        );
        let png = file_with(b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR");
        assert_eq!(
            inspect(&png.path().into()).map(|_| ()).expect_err("fails").code(),
            ErrorCode::UNSUPPORTED_FORMAT
        );
        let missing = inspect(&Path::new("/nonexistent/clip.mp4").into()).map(|_| ()).expect_err("fails");
        assert_eq!(missing.code(), ErrorCode::IO_ERROR);
    }

    #[test]
    fn a_ranged_input_lets_ffmpeg_open_no_protocol_and_a_file_only_the_file_protocol() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bigbuckbunny.mp4");
        let bytes = std::fs::read(&path).expect("read");
        let url = CString::new(format!("file:{}", path.display())).expect("no NUL");
        let ranged = VideoSource::ranged("bigbuckbunny.mp4", InMemory(bytes));
        let local = VideoSource::from(path.as_path());
        for (source, whitelist, opens) in [(ranged, "", false), (local, "file", true)] {
            let file = inspect(&source).expect("inspects");
            let context = open(&source, &file).expect("opens");
            // SAFETY: `context` is an open format context, alive until the end of this iteration.
            // `io_open` is FFmpeg's own callback for the resources a demuxer opens itself (the one
            // a playlist or an external reference would use); what it opens is closed at once.
            unsafe {
                let context = context.as_ptr() as *mut ffmpeg_next::ffi::AVFormatContext;
                let listed = CStr::from_ptr((*context).protocol_whitelist).to_str().expect("UTF-8");
                assert_eq!(listed, whitelist);
                let io_open = (*context).io_open.expect("FFmpeg's default");
                let mut pb = std::ptr::null_mut();
                let result = io_open(
                    context,
                    &mut pb,
                    url.as_ptr(),
                    ffmpeg_next::ffi::AVIO_FLAG_READ,
                    std::ptr::null_mut(),
                );
                assert_eq!(result >= 0, opens, "{}: {result}", source.name());
                ffmpeg_next::ffi::avio_closep(&mut pb);
            }
        }
    }

    #[test]
    fn the_box_walk_over_a_ranged_source_fetches_a_bounded_number_of_headers() {
        // A fragmented MP4: a pair of boxes per fragment, cut inside the last one.
        let mut bytes = iso_box(b"ftyp", 16);
        bytes.extend(iso_box(b"moov", 100));
        for _ in 0..200 {
            bytes.extend(iso_box(b"moof", 100));
            bytes.extend(iso_box(b"mdat", 20_000));
        }
        bytes.truncate(bytes.len() - 10);
        let reason = iso_bmff_truncation(&file_with(&bytes).path().into()).expect("the file walk finds it");
        assert!(reason.contains("mdat"), "{reason}");
        let small_blocks = ReadCacheOptions { block_bytes: 4096, max_bytes: 16_384 };
        let ranged = VideoSource::ranged_with_cache("fragmented.mp4", InMemory(bytes.clone()), small_blocks);
        assert_eq!(iso_bmff_truncation(&ranged), None, "no verdict rather than a request per fragment");
        let stats = ranged.stats().expect("ranged");
        assert!(stats.requests <= u64::from(MAX_UNCACHED_BOX_READS), "{stats:?}");
        // Cut after the first fragments, the walk gets there within its budget.
        bytes.truncate(30_000);
        let ranged = VideoSource::ranged_with_cache("fragmented.mp4", InMemory(bytes), small_blocks);
        assert!(iso_bmff_truncation(&ranged).is_some_and(|reason| reason.contains("mdat")));
        let error = read_error(&ranged, Some(MediaFormat::Mp4));
        assert_eq!(error.code(), ErrorCode::TRUNCATED_INPUT);
    }
}

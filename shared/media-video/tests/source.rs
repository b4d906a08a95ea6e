//! Ranged sources: every entry point reads through a [`RangeReader`] as it reads a path, with the
//! same results, a small fraction of a large file's bytes for a probe, and the same error codes.
//! The readers here count their requests themselves, so the source's own statistics are checked too.

mod common;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use media_core::ErrorCode;
use media_core::ThumbnailOptions;
use media_video::{
    RangeReader, ReadCacheOptions, Rung, SourceStats, TranscodeOptions, VideoLimits, VideoSource, X264Preset,
    extract_poster, extract_stills, probe, transcode,
};

/// Reads a local file by ranges, counting requests and bytes, failing every request from the
/// `fail_from`-th on (counting from 0).
struct CountingReader {
    file: File,
    size: u64,
    requests: AtomicU64,
    bytes: AtomicU64,
    fail_from: u64,
}

impl CountingReader {
    fn new(path: &Path) -> Arc<Self> {
        Self::failing_from(path, u64::MAX)
    }

    fn failing_from(path: &Path, fail_from: u64) -> Arc<Self> {
        let file = File::open(path).expect("open");
        let size = file.metadata().expect("metadata").len();
        Arc::new(CountingReader {
            file,
            size,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            fail_from,
        })
    }

    fn stats(&self) -> SourceStats {
        SourceStats {
            bytes_read: self.bytes.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

impl RangeReader for CountingReader {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        if self.requests.fetch_add(1, Ordering::Relaxed) >= self.fail_from {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "the connection was reset"));
        }
        assert!(offset + length as u64 <= self.size, "a read past the end: {offset} + {length}");
        let mut data = vec![0u8; length];
        self.file.read_exact_at(&mut data, offset)?;
        self.bytes.fetch_add(length as u64, Ordering::Relaxed);
        Ok(data)
    }
}

/// A ranged source over `path`, named after the file (its extension helps FFmpeg as a path's does).
fn ranged(path: &Path) -> (VideoSource, Arc<CountingReader>) {
    let reader = CountingReader::new(path);
    (VideoSource::ranged(format!("test://{}", path.display()), Arc::clone(&reader)), reader)
}

fn every_clip() -> Vec<PathBuf> {
    let clips = [
        "bigbuckbunny.mp4",
        "rotated-portrait.mov",
        "variable-frame-rate.mkv",
        "sample.ts",
        "no-audio.webm",
        "odd-dimensions.avi",
        "hdr-10bit.mp4",
        "audio-only.m4a",
    ];
    let audio =
        ["aac-adts.aac", "flac-stereo.flac", "mp3-frames.mp3", "mp3-id3.mp3", "ogg-opus.opus", "wav-pcm.wav"];
    clips.iter().map(|name| clip(name)).chain(audio.iter().map(|name| audio_file(name))).collect()
}

#[test]
fn a_ranged_probe_equals_the_probe_of_the_path() {
    for path in every_clip() {
        let from_path = probe(&path, &VideoLimits::default()).expect("the path probes");
        let (source, reader) = ranged(&path);
        let from_ranges = probe(&source, &VideoLimits::default()).expect("the ranges probe");
        assert_eq!(
            serde_json::to_value(&from_ranges).expect("json"),
            serde_json::to_value(&from_path).expect("json"),
            "{}",
            path.display()
        );
        assert_eq!(source.stats(), Some(reader.stats()), "{}", path.display());
        assert!(reader.stats().requests > 0);
    }
}

#[test]
fn a_ranged_probe_without_the_extension_still_recognises_the_containers() {
    for path in every_clip() {
        let reader = CountingReader::new(&path);
        let from_ranges = probe(VideoSource::ranged("object", reader), &VideoLimits::default());
        let from_path = probe(&path, &VideoLimits::default()).expect("the path probes");
        assert_eq!(from_ranges.expect("probes").container, from_path.container, "{}", path.display());
    }
}

#[test]
fn posters_and_stills_from_ranges_equal_those_from_the_path() {
    for name in
        ["bigbuckbunny.mp4", "rotated-portrait.mov", "variable-frame-rate.mkv", "sample.ts", "hdr-10bit.mp4"]
    {
        let path = clip(name);
        let described = probe(&path, &VideoLimits::default()).expect("probe");
        let (source, _) = ranged(&path);
        let options = ThumbnailOptions::default();
        let from_path = extract_poster(&path, &described, &options).expect("poster from the path");
        let from_ranges = extract_poster(&source, &described, &options).expect("poster from ranges");
        assert_eq!(
            (from_ranges.at_seconds, from_ranges.width, from_ranges.height),
            (from_path.at_seconds, from_path.width, from_path.height),
            "{name}"
        );
        let pictures = |poster: &media_video::Poster| -> Vec<(u32, u32, Vec<u8>)> {
            poster.thumbnails.iter().map(|t| (t.width, t.height, t.bytes.clone())).collect()
        };
        assert_eq!(
            pictures(&from_ranges),
            pictures(&from_path),
            "{name}: the same decoded frame, encoded alike"
        );

        let stills_from_path = extract_stills(&path, &described, 3, 128).expect("stills from the path");
        let stills_from_ranges = extract_stills(&source, &described, 3, 128).expect("stills from ranges");
        assert_eq!(stills_from_ranges.len(), stills_from_path.len(), "{name}");
        for (ranged_still, path_still) in stills_from_ranges.iter().zip(&stills_from_path) {
            assert_eq!(ranged_still.at_seconds, path_still.at_seconds, "{name}");
            assert_eq!(ranged_still.image, path_still.image, "{name}");
        }
    }
}

/// The lowest per-frame PSNR of `a` against `b` (FFmpeg's `psnr` filter; `inf` for identical
/// frames), and how many frames were compared.
fn lowest_frame_psnr(a: &Path, b: &Path) -> (f64, usize) {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(a)
        .arg("-i")
        .arg(b)
        .args(["-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let stats = String::from_utf8_lossy(&output.stdout);
    let psnr: Vec<f64> = stats
        .lines()
        .filter_map(|line| line.split_whitespace().find_map(|field| field.strip_prefix("psnr_avg:")))
        .map(|value| value.parse().unwrap_or(f64::INFINITY))
        .collect();
    (psnr.iter().copied().fold(f64::INFINITY, f64::min), psnr.len())
}

/// A transcode reads the same frames from ranges as from the path. The outputs are compared frame
/// by frame, not byte by byte: libx264's threaded rate control (VBV) is not bit-exact when the
/// input arrives at another pace (ranged reads pause at block fetches), so two transcodes of the
/// same frames can differ a little in quantisation; a frame read wrongly would differ a lot.
#[test]
fn a_transcode_from_ranges_equals_the_transcode_of_the_path() {
    let path = clip("bigbuckbunny.mp4");
    let described = probe(&path, &VideoLimits::default()).expect("probe");
    let work = temp_dir();
    let run = |source: VideoSource, name: &str| {
        let out = temp_dir();
        let mut options = TranscodeOptions::new(out.path(), work.path());
        options.ladder = vec![Rung::for_height(240)];
        options.preset = X264Preset::Ultrafast;
        options.hls = false;
        let outputs = transcode(source, &described, &options, &mut |_| {}).expect("transcodes");
        let rendition = &outputs.renditions[0];
        let kept = work.path().join(name);
        std::fs::copy(&rendition.path, &kept).expect("keep the rendition");
        ((rendition.width, rendition.height, outputs.duration_seconds), kept)
    };
    let (source, reader) = ranged(&path);
    let (from_ranges, ranged_mp4) = run(source.clone(), "ranged.mp4");
    let (from_path, path_mp4) = run(VideoSource::file(&path), "path.mp4");
    assert_eq!(from_ranges, from_path);
    let (lowest, frames) = lowest_frame_psnr(&ranged_mp4, &path_mp4);
    assert_eq!(frames, 132, "every frame of the clip, in both");
    assert!(lowest > 35.0, "a frame differs: {lowest:.1} dB");
    // The whole file once, in a few requests: read-ahead grows while the reads are sequential.
    let stats = source.stats().expect("ranged");
    assert_eq!(stats, reader.stats());
    assert!(stats.requests <= 4, "{stats:?}");
}

/// Remuxes bigbuckbunny.mp4 (1 MB, 5.3 s) `loops` times into one MP4, its index at the start
/// (`faststart`) or at the end, as cameras and most encoders leave it.
fn long_mp4(dir: &Path, loops: u32, faststart: bool) -> PathBuf {
    let output = dir.join(if faststart { "faststart.mp4" } else { "moov-at-end.mp4" });
    let mut command = Command::new("ffmpeg");
    command
        .args(["-v", "error", "-y", "-stream_loop", &(loops - 1).to_string(), "-i"])
        .arg(clip("bigbuckbunny.mp4"))
        .args(["-c", "copy"]);
    if faststart {
        command.args(["-movflags", "+faststart"]);
    }
    let status = command.arg(&output).status().expect("ffmpeg is installed");
    assert!(status.success());
    output
}

#[test]
fn probing_a_large_file_reads_a_small_fraction_of_it_wherever_its_index_is() {
    let dir = temp_dir();
    for faststart in [true, false] {
        let path = long_mp4(dir.path(), 200, faststart);
        let size = std::fs::metadata(&path).expect("metadata").len();
        assert!(size > 200_000_000, "{size} bytes");
        let from_path = probe(&path, &VideoLimits::default()).expect("the path probes");
        let (source, reader) = ranged(&path);
        let from_ranges = probe(&source, &VideoLimits::default()).expect("the ranges probe");
        assert_eq!(
            serde_json::to_value(&from_ranges).expect("json"),
            serde_json::to_value(&from_path).expect("json")
        );
        assert!(from_ranges.duration_seconds.is_some_and(|seconds| seconds > 1000.0));
        let probed = reader.stats();
        println!("probe, faststart {faststart}: {probed:?} of {size} bytes");
        assert!(probed.bytes_read * 100 < size * 2, "probe read {probed:?} of {size} bytes");
        assert!(probed.requests <= 8, "{probed:?}");

        // The poster: the index again (cached), then one block at 10 %.
        let poster = extract_poster(&source, &from_ranges, &ThumbnailOptions::default()).expect("poster");
        let after_poster = reader.stats();
        println!("poster, faststart {faststart}: {after_poster:?} in all");
        assert!(poster.at_seconds > 100.0, "{}", poster.at_seconds);
        assert!(after_poster.bytes_read * 100 < size * 3, "{after_poster:?} of {size} bytes");
        assert_eq!(source.stats(), Some(after_poster));
        std::fs::remove_file(&path).expect("remove");
    }
}

#[test]
fn the_cache_can_be_sized_and_small_blocks_mean_more_requests() {
    let path = clip("bigbuckbunny.mp4");
    let reader = CountingReader::new(&path);
    let small = ReadCacheOptions { block_bytes: 16 * 1024, max_bytes: 128 * 1024 };
    let source = VideoSource::ranged_with_cache("bigbuckbunny.mp4", Arc::clone(&reader), small);
    let from_ranges = probe(&source, &VideoLimits::default()).expect("probes");
    assert_eq!(from_ranges, probe(&path, &VideoLimits::default()).expect("probes"));
    assert!(reader.stats().requests > 1, "{:?}", reader.stats());
}

#[test]
fn a_failing_reader_is_a_retryable_io_error_wherever_it_fails() {
    let path = clip("bigbuckbunny.mp4");
    let described = probe(&path, &VideoLimits::default()).expect("probe");
    let small = ReadCacheOptions { block_bytes: 16 * 1024, max_bytes: 64 * 1024 };
    // From the first request (the sniff), while FFmpeg reads the header, and while it reads packets.
    for fail_from in [0, 1, 3, 8] {
        let reader = CountingReader::failing_from(&path, fail_from);
        let source = VideoSource::ranged_with_cache("s3://bucket/bigbuckbunny.mp4", reader, small);
        let error = probe(&source, &VideoLimits::default()).expect_err("fails");
        assert_eq!(
            (error.code(), error.is_retryable()),
            (ErrorCode::IO_ERROR, true),
            "failing from {fail_from}: {error}"
        );
        assert!(error.to_string().contains("s3://bucket/bigbuckbunny.mp4"), "{error}");
        let cause = std::error::Error::source(&error).expect("the reader's error").to_string();
        assert_eq!(cause, "the connection was reset");
    }
    for fail_from in [1, 5, 20] {
        let source = VideoSource::ranged_with_cache(
            "bigbuckbunny.mp4",
            CountingReader::failing_from(&path, fail_from),
            small,
        );
        let error = extract_poster(&source, &described, &ThumbnailOptions::default()).expect_err("fails");
        assert_eq!(
            (error.code(), error.is_retryable()),
            (ErrorCode::IO_ERROR, true),
            "poster failing from {fail_from}"
        );
        let (out, work) = (temp_dir(), temp_dir());
        let mut options = TranscodeOptions::new(out.path(), work.path());
        options.ladder = vec![Rung::for_height(240)];
        options.preset = X264Preset::Ultrafast;
        let source = VideoSource::ranged_with_cache(
            "bigbuckbunny.mp4",
            CountingReader::failing_from(&path, fail_from),
            small,
        );
        let error = transcode(&source, &described, &options, &mut |_| {}).expect_err("fails");
        assert_eq!(
            (error.code(), error.is_retryable()),
            (ErrorCode::IO_ERROR, true),
            "transcode failing from {fail_from}"
        );
        assert!(std::fs::read_dir(out.path()).expect("out").next().is_none(), "no partial output");
    }
}

#[test]
fn a_panicking_reader_is_an_io_error_not_a_crash() {
    struct Panicking;
    impl RangeReader for Panicking {
        fn size(&self) -> u64 {
            1_000_000
        }
        fn read_at(&self, offset: u64, _length: usize) -> io::Result<Vec<u8>> {
            panic!("a bug in the reader at {offset}");
        }
    }
    let error =
        probe(VideoSource::ranged("panicking.mp4", Panicking), &VideoLimits::default()).expect_err("fails");
    assert_eq!((error.code(), error.is_retryable()), (ErrorCode::IO_ERROR, true), "{error}");
}

#[test]
fn damaged_files_read_by_ranges_get_the_codes_their_paths_get() {
    let dir = temp_dir();
    let cases = [
        (clip("bigbuckbunny.mp4"), 0.5),
        (clip("bigbuckbunny.mp4"), 0.02),
        (clip("variable-frame-rate.mkv"), 0.3),
        (clip("sample.ts"), 0.5),
        (clip("rotated-portrait.mov"), 0.9),
        (audio_file("flac-stereo.flac"), 0.001),
        (audio_file("wav-pcm.wav"), 0.0005),
        (audio_file("m4a-aac.m4a"), 0.5),
    ];
    let mut codes_seen = Vec::new();
    for (whole, fraction) in cases {
        let bytes = std::fs::read(&whole).expect("read");
        let cut =
            dir.path().join(format!("cut-{fraction}-{}", whole.file_name().expect("name").to_string_lossy()));
        std::fs::write(&cut, &bytes[..(bytes.len() as f64 * fraction) as usize]).expect("write");
        let outcome =
            |source: VideoSource| probe(source, &VideoLimits::default()).map(|_| ()).map_err(|e| e.code());
        let from_path = outcome(VideoSource::file(&cut));
        let from_ranges = outcome(ranged(&cut).0);
        assert_eq!(from_ranges, from_path, "{}", cut.display());
        codes_seen.push(from_path);
    }
    // The cases do exercise the classification, not only successful probes.
    assert!(codes_seen.contains(&Err(ErrorCode::TRUNCATED_INPUT)), "{codes_seen:?}");
}

#[test]
fn empty_objects_and_images_are_refused_before_ffmpeg() {
    struct Bytes(&'static [u8]);
    impl RangeReader for Bytes {
        fn size(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
            Ok(self.0[offset as usize..offset as usize + length].to_vec())
        }
    }
    for bytes in [&b""[..], b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR"] {
        let error =
            probe(VideoSource::ranged("object", Bytes(bytes)), &VideoLimits::default()).expect_err("fails");
        assert_eq!(error.code(), ErrorCode::UNSUPPORTED_FORMAT, "{error}");
    }
}

#[test]
fn a_probe_of_another_object_is_refused() {
    let described = probe(clip("bigbuckbunny.mp4"), &VideoLimits::default()).expect("probe");
    let (other, _) = ranged(&clip("rotated-portrait.mov"));
    let error = extract_poster(&other, &described, &ThumbnailOptions::default()).expect_err("fails");
    assert_eq!(error.code(), ErrorCode::INVALID_OPTIONS);
}

//! Probing real and generated clips: containers, streams, rotation, HDR, tags, limits, bad files.

mod common;

use common::{clip, temp_dir, truncated_copy};
use media_core::ErrorCode;
use media_video::{Container, DynamicRange, VideoError, VideoLimitKind, VideoLimits, probe};

fn probe_clip(name: &str) -> media_video::Probe {
    probe(clip(name), &VideoLimits::default()).unwrap_or_else(|error| panic!("probing {name}: {error}"))
}

#[test]
fn big_buck_bunny_mp4() {
    let probe = probe_clip("bigbuckbunny.mp4");
    assert_eq!(probe.container, Container::Mp4);
    assert!((probe.duration_seconds.expect("duration") - 5.312).abs() < 0.01);
    assert!(probe.bit_rate.expect("bit rate") > 1_000_000);
    assert_eq!(
        (probe.video.len(), probe.audio.len(), probe.subtitle_streams, probe.data_streams),
        (1, 1, 0, 0)
    );
    let video = &probe.video[0];
    assert_eq!((video.codec.as_str(), video.profile.as_deref()), ("h264", Some("Main")));
    assert_eq!(
        (video.width, video.height, video.display_width, video.display_height),
        (1280, 720, 1280, 720)
    );
    assert_eq!(video.display_aspect_ratio, "16:9");
    assert_eq!(video.frame_rate, Some(25.0));
    assert_eq!((video.pixel_format.as_deref(), video.bit_depth), (Some("yuv420p"), Some(8)));
    assert_eq!((video.rotation, video.dynamic_range), (0, DynamicRange::Sdr));
    assert_eq!(video.frame_count, Some(132));
    let audio = &probe.audio[0];
    assert_eq!((audio.codec.as_str(), audio.profile.as_deref()), ("aac", Some("LC")));
    assert_eq!(
        (audio.channels, audio.sample_rate, audio.channel_layout.as_deref()),
        (6, 48_000, Some("5.1"))
    );
    assert!(audio.bit_rate.is_some());
}

#[test]
fn rotated_quicktime_with_capture_time_and_place() {
    let probe = probe_clip("rotated-portrait.mov");
    assert_eq!(probe.container, Container::Mov);
    let video = probe.main_video().expect("video");
    assert_eq!(video.rotation, 90);
    assert_eq!((video.width, video.height), (320, 240));
    assert_eq!((video.display_width, video.display_height), (240, 320));
    assert_eq!(video.display_aspect_ratio, "3:4");
    assert_eq!(probe.creation_time.as_deref(), Some("2024-05-01T12:00:00.000000Z"));
    assert_eq!(probe.location_iso6709.as_deref(), Some("+48.8583+002.2945+035.000/"));
    let location = probe.location.expect("parsed location");
    assert!((location.latitude - 48.8583).abs() < 1e-9 && (location.longitude - 2.2945).abs() < 1e-9);
    assert_eq!(location.altitude_m, Some(35.0));
}

#[test]
fn hdr_is_recognisable_from_the_transfer() {
    let probe = probe_clip("hdr-10bit.mp4");
    let video = probe.main_video().expect("video");
    assert_eq!((video.codec.as_str(), video.profile.as_deref()), ("hevc", Some("Main 10")));
    assert_eq!((video.pixel_format.as_deref(), video.bit_depth), (Some("yuv420p10le"), Some(10)));
    assert_eq!(video.color_transfer.as_deref(), Some("smpte2084"));
    assert_eq!(video.color_primaries.as_deref(), Some("bt2020"));
    assert_eq!(video.dynamic_range, DynamicRange::HdrPq);
    assert!(probe.audio.is_empty());
}

#[test]
fn every_supported_container() {
    let cases = [
        ("no-audio.webm", Container::Webm, "vp9", 0),
        ("odd-dimensions.avi", Container::Avi, "mjpeg", 1),
        ("variable-frame-rate.mkv", Container::Matroska, "h264", 1),
        ("sample.ts", Container::MpegTs, "h264", 1),
    ];
    for (name, container, codec, audio_streams) in cases {
        let probe = probe_clip(name);
        assert_eq!(probe.container, container, "{name}");
        assert_eq!(probe.video[0].codec, codec, "{name}");
        assert_eq!(probe.audio.len(), audio_streams, "{name}");
        assert!(probe.duration_seconds.is_some_and(|duration| duration > 1.0), "{name}");
    }
    let odd = probe_clip("odd-dimensions.avi");
    assert_eq!((odd.video[0].width, odd.video[0].height), (321, 241));
    assert_eq!(odd.audio[0].codec, "mp3");
}

#[test]
fn cover_art_is_not_a_video_stream() {
    let probe = probe_clip("audio-only.m4a");
    assert_eq!(probe.container, Container::M4a, "the ftyp brand is M4A");
    assert!(probe.video.is_empty());
    assert_eq!(probe.attached_pictures, 1);
    assert_eq!((probe.audio[0].channels, probe.audio[0].sample_rate), (1, 44_100));
}

#[test]
fn the_probe_serialises_for_metadata_json() {
    let probe = probe_clip("rotated-portrait.mov");
    let json = serde_json::to_value(&probe).expect("serialises");
    assert_eq!(json["container"], "mov");
    assert_eq!(json["video"][0]["rotation"], 90);
    assert_eq!(json["video"][0]["dynamic_range"], "sdr");
    assert_eq!(json["location"]["latitude"], 48.8583);
    let back: media_video::Probe = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, probe);
}

#[test]
fn limits_are_checked_from_the_probe() {
    let path = clip("bigbuckbunny.mp4");
    let too_large = |limits: VideoLimits| match probe(&path, &limits) {
        Err(VideoError::TooLarge { kind, actual, limit }) => (kind, actual, limit),
        other => panic!("expected too-large, got {other:?}"),
    };
    let defaults = VideoLimits::default();
    assert_eq!(
        too_large(VideoLimits { max_duration_seconds: 5, ..defaults }),
        (VideoLimitKind::DurationSeconds, 6, 5)
    );
    assert_eq!(too_large(VideoLimits { max_width: 1000, ..defaults }), (VideoLimitKind::Width, 1280, 1000));
    assert_eq!(too_large(VideoLimits { max_height: 700, ..defaults }), (VideoLimitKind::Height, 720, 700));
    assert_eq!(too_large(VideoLimits { max_streams: 1, ..defaults }), (VideoLimitKind::Streams, 2, 1));
    assert_eq!(too_large(VideoLimits { max_input_bytes: 1000, ..defaults }).0, VideoLimitKind::InputBytes);
}

fn probe_error(path: &std::path::Path) -> VideoError {
    match probe(path, &VideoLimits::default()) {
        Ok(probe) => panic!("{} probed as {probe:?}", path.display()),
        Err(error) => error,
    }
}

#[test]
fn truncated_files_are_typed_errors() {
    let dir = temp_dir();
    // Big Buck Bunny keeps its index (moov) at the end: cut anywhere, the index is gone.
    let cut = truncated_copy(&clip("bigbuckbunny.mp4"), dir.path(), 600_000);
    assert_eq!(probe_error(&cut).code(), ErrorCode::TRUNCATED_INPUT);
    // The QuickTime clip has its index first: cut in the media data, the header still reads.
    let cut = truncated_copy(&clip("rotated-portrait.mov"), dir.path(), 9_000);
    assert_eq!(probe_error(&cut).code(), ErrorCode::TRUNCATED_INPUT);
    let cut = truncated_copy(&clip("bigbuckbunny.mp4"), dir.path(), 20);
    assert_eq!(probe_error(&cut).code(), ErrorCode::TRUNCATED_INPUT);
}

#[test]
fn garbage_images_and_missing_files_are_typed_errors() {
    let dir = temp_dir();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let noise: Vec<u8> = (0u32..50_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert_eq!(probe_error(&write("noise.mp4", &noise)).code(), ErrorCode::UNSUPPORTED_FORMAT);
    assert_eq!(probe_error(&write("empty.mp4", b"")).code(), ErrorCode::UNSUPPORTED_FORMAT);
    assert_eq!(
        probe_error(&write("text.mov", b"hello, this is not a video\n")).code(),
        ErrorCode::UNSUPPORTED_FORMAT
    );
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
    assert_eq!(probe_error(&write("image.mp4", png)).code(), ErrorCode::UNSUPPORTED_FORMAT);
    // An ISO header followed by noise: recognised, so corrupt rather than unsupported.
    let mut fake = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    fake.extend_from_slice(&(noise.len() as u32 + 8).to_be_bytes());
    fake.extend_from_slice(b"moov");
    fake.extend_from_slice(&noise);
    assert_eq!(probe_error(&write("fake.mp4", &fake)).code(), ErrorCode::CORRUPT_INPUT);
    // A playlist would make FFmpeg open other files: refused.
    let playlist = write("list.m3u8", b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n");
    assert_eq!(probe_error(&playlist).code(), ErrorCode::UNSUPPORTED_FORMAT);
    let missing = probe_error(&dir.path().join("missing.mp4"));
    assert_eq!((missing.code(), missing.is_retryable()), (ErrorCode::IO_ERROR, true));
}

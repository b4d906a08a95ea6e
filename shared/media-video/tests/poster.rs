//! Poster frames: where they are taken, upright, in the media core's thumbnail sizes and formats.

mod common;

use common::{clip, is_blue, is_red, pixel};
use media_core::ErrorCode;
use media_core::{OutputFormat, ThumbnailOptions};
use media_video::{Poster, VideoLimits, extract_poster, probe};

fn poster_of(name: &str, options: &ThumbnailOptions) -> Poster {
    let path = clip(name);
    let probe = probe(&path, &VideoLimits::default()).expect("probe");
    extract_poster(&path, &probe, options).unwrap_or_else(|error| panic!("poster of {name}: {error}"))
}

fn decoded(thumbnail: &media_core::Thumbnail) -> image::RgbImage {
    image::load_from_memory(&thumbnail.bytes).expect("the thumbnail decodes").to_rgb8()
}

#[test]
fn rotated_clips_give_upright_posters_at_the_first_keyframe_after_ten_percent() {
    let poster = poster_of("rotated-portrait.mov", &ThumbnailOptions::default());
    // 10 % of 2 s is 0.2 s; the clip has keyframes every 0.5 s.
    assert!((poster.at_seconds - 0.5).abs() < 1e-6, "at {}", poster.at_seconds);
    assert_eq!((poster.width, poster.height), (240, 320));
    let sizes: Vec<(u32, u32, u32)> = poster.thumbnails.iter().map(|t| (t.size, t.width, t.height)).collect();
    assert_eq!(sizes, [(256, 192, 256), (1024, 240, 320)]);
    // Stored with the red box top-left and turned 90° clockwise for display: top-right when upright.
    let image = decoded(&poster.thumbnails[1]);
    let (width, height) = image.dimensions();
    let rgb = |x: u32, y: u32| pixel(image.as_raw(), width, 3, x, y);
    assert!(is_red(rgb(width - 10, 10)), "top right is {:?}", rgb(width - 10, 10));
    assert!(is_blue(rgb(10, 10)) && is_blue(rgb(10, height - 10)) && is_blue(rgb(width - 10, height - 10)));
}

#[test]
fn clips_under_two_seconds_use_their_first_frame() {
    let poster = poster_of("no-audio.webm", &ThumbnailOptions::default());
    assert_eq!(poster.at_seconds, 0.0);
    assert_eq!((poster.width, poster.height), (320, 180));
}

#[test]
fn one_long_gop_falls_back_to_the_keyframe_before() {
    // Big Buck Bunny's only keyframe is its first frame.
    let poster = poster_of("bigbuckbunny.mp4", &ThumbnailOptions::default());
    assert_eq!(poster.at_seconds, 0.0);
    let sizes: Vec<(u32, u32)> = poster.thumbnails.iter().map(|t| (t.width, t.height)).collect();
    assert_eq!(sizes, [(256, 144), (1024, 576)]);
    assert!(
        poster
            .thumbnails
            .iter()
            .all(|t| t.format == OutputFormat::Jpeg && t.bytes.starts_with(&[0xFF, 0xD8]))
    );
}

#[test]
fn the_media_core_formats_apply() {
    let options = ThumbnailOptions { sizes: vec![64], format: OutputFormat::Webp, quality: 70 };
    let poster = poster_of("sample.ts", &options);
    assert_eq!(poster.thumbnails.len(), 1);
    let thumbnail = &poster.thumbnails[0];
    assert_eq!((thumbnail.width, thumbnail.height, thumbnail.format), (64, 48, OutputFormat::Webp));
    assert_eq!(&thumbnail.bytes[8..12], b"WEBP");
}

#[test]
fn odd_sizes_vfr_and_hdr_sources_give_posters() {
    for (name, width, height) in
        [("odd-dimensions.avi", 321, 241), ("variable-frame-rate.mkv", 320, 240), ("hdr-10bit.mp4", 320, 180)]
    {
        let poster = poster_of(name, &ThumbnailOptions::default());
        assert_eq!((poster.width, poster.height), (width, height), "{name}");
        let image = decoded(&poster.thumbnails[1]);
        assert_eq!(image.dimensions(), (width, height), "{name}");
    }
}

#[test]
fn hdr_posters_are_tone_mapped() {
    let poster = poster_of("hdr-10bit.mp4", &ThumbnailOptions { quality: 95, ..ThumbnailOptions::default() });
    let ours = decoded(&poster.thumbnails[1]).into_raw();
    let tone_mapped = common::first_frame_rgb_filtered(&clip("hdr-10bit.mp4"), common::FFMPEG_TONE_MAP);
    let difference = common::mean_abs_diff(&ours, &tone_mapped);
    assert!(difference < 5.0, "{difference}");
}

#[test]
fn audio_has_no_poster_and_bad_options_are_refused() {
    let path = clip("audio-only.m4a");
    let probe = probe(&path, &VideoLimits::default()).expect("probe");
    let error = extract_poster(&path, &probe, &ThumbnailOptions::default()).expect_err("fails");
    assert_eq!((error.code(), error.is_retryable()), (ErrorCode::NO_VIDEO_STREAM, false));

    let path = clip("rotated-portrait.mov");
    let probe = media_video::probe(&path, &VideoLimits::default()).expect("probe");
    let options = ThumbnailOptions { sizes: vec![0], ..ThumbnailOptions::default() };
    assert_eq!(
        extract_poster(&path, &probe, &options).expect_err("fails").code(),
        ErrorCode::INVALID_OPTIONS
    );
    // A probe of another file is refused rather than trusted.
    let other = clip("no-audio.webm");
    assert_eq!(
        extract_poster(&other, &probe, &ThumbnailOptions::default()).expect_err("fails").code(),
        ErrorCode::INVALID_OPTIONS
    );
}

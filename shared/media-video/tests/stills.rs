//! Stills for classifiers: spread evenly over the clip, upright, fitted in the box.

mod common;

use common::{clip, is_blue, is_red, pixel};
use media_core::ErrorCode;
use media_video::{VideoLimits, extract_stills, probe};

fn stills_of(name: &str, count: usize, side: u32) -> Vec<media_video::Still> {
    let path = clip(name);
    let probe = probe(&path, &VideoLimits::default()).expect("probe");
    extract_stills(&path, &probe, count, side).unwrap_or_else(|error| panic!("stills of {name}: {error}"))
}

#[test]
fn stills_are_at_the_middles_of_equal_parts_and_upright() {
    // 2 s at 25 fps with keyframes every 0.5 s: five parts of 0.4 s, middles at 0.2, 0.6, ... 1.8 s,
    // none of them on a keyframe.
    let stills = stills_of("rotated-portrait.mov", 5, 256);
    let at: Vec<f64> = stills.iter().map(|still| still.at_seconds).collect();
    for (still, expected) in at.iter().zip([0.2, 0.6, 1.0, 1.4, 1.8]) {
        assert!((still - expected).abs() < 0.041, "stills at {at:?}");
    }
    for still in &stills {
        let image = &still.image;
        assert_eq!(image.dimensions(), (192, 256), "upright portrait fitted in 256");
        let (width, height) = image.dimensions();
        let rgb = |x: u32, y: u32| pixel(image.as_raw(), width, 3, x, y);
        assert!(is_red(rgb(width - 8, 8)), "top right is {:?}", rgb(width - 8, 8));
        assert!(is_blue(rgb(8, 8)) && is_blue(rgb(8, height - 8)));
    }
}

#[test]
fn a_clip_with_one_keyframe_still_gives_distinct_frames() {
    // Big Buck Bunny's only keyframe is its first frame: each still is decoded forward from it.
    let stills = stills_of("bigbuckbunny.mp4", 5, 224);
    assert_eq!(stills.len(), 5);
    assert!(stills.windows(2).all(|pair| pair[1].at_seconds > pair[0].at_seconds + 0.5));
    assert!(stills.iter().all(|still| still.image.dimensions() == (224, 126)));
    assert_ne!(stills[0].image, stills[4].image, "different moments of a real clip differ");
}

#[test]
fn audio_only_and_zero_counts_are_refused_with_codes() {
    let path = clip("audio-only.m4a");
    let audio = probe(&path, &VideoLimits::default()).expect("probe");
    let error = extract_stills(&path, &audio, 5, 256).expect_err("no video");
    assert_eq!(error.code(), ErrorCode::NO_VIDEO_STREAM);
    let path = clip("sample.ts");
    let ts = probe(&path, &VideoLimits::default()).expect("probe");
    assert!(extract_stills(&path, &ts, 0, 256).is_err());
    // Timestamps starting at 1.46 s are measured from the clip's start.
    let stills = extract_stills(&path, &ts, 3, 64).expect("stills");
    assert!(stills.iter().all(|still| still.at_seconds < ts.duration_seconds.unwrap_or(0.0)));
}

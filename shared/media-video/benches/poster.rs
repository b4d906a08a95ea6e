//! Poster extraction from a 1080p clip (target: under 300 ms), and probing it.
//!
//! The clip is the Big Buck Bunny sample from tests/data upscaled to 1080p with keyframes every
//! 2 s, made once with the ffmpeg CLI in Cargo's temporary folder.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use media_core::ThumbnailOptions;
use media_video::VideoLimits;

fn clip_1080p() -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("poster-bench-1080p.mp4");
    if !path.exists() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bigbuckbunny.mp4");
        let partial = path.with_extension("partial.mp4");
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "1", "-i"])
            .arg(&source)
            .args([
                "-vf",
                "scale=1920:1080",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "20",
                "-g",
                "50",
            ])
            .args(["-c:a", "copy"])
            .arg(&partial)
            .status()
            .expect("the ffmpeg CLI is installed");
        assert!(status.success(), "ffmpeg failed to make the bench clip");
        std::fs::rename(&partial, &path).expect("rename the bench clip");
    }
    path
}

fn poster(c: &mut Criterion) {
    let clip = clip_1080p();
    let probe = media_video::probe(&clip, &VideoLimits::default()).expect("probe");
    let options = ThumbnailOptions::default();
    let mut group = c.benchmark_group("video");
    group.sample_size(20);
    group.bench_function("probe 1080p", |b| {
        b.iter(|| media_video::probe(black_box(&clip), &VideoLimits::default()))
    });
    group.bench_function("poster 1080p (jpeg 256+1024)", |b| {
        b.iter(|| media_video::extract_poster(black_box(&clip), &probe, &options).expect("poster"))
    });
    group.finish();
}

criterion_group!(benches, poster);
criterion_main!(benches);

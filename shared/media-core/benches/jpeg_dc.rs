//! The DC-only 1/8-scale decode (`media_core::jpeg_dc`) against what it replaces and reproduces,
//! libjpeg-turbo's own 1/8-scale decode, on real photos: every `.jpg` in `MEDIAFLOW_BENCH_IMAGES`
//! (default `.bench/images`, which `make bench` fills: `scripts/fetch.py bench-images=DIR`). One thread, the two
//! alternating image by image in one run; prints each photo's median of both and the ratio.

use std::time::{Duration, Instant};

const ROUNDS: usize = 15;

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let dir = std::env::var("MEDIAFLOW_BENCH_IMAGES")
        .unwrap_or_else(|_| format!("{}/../../.bench/images", env!("CARGO_MANIFEST_DIR")));
    let mut photos: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e} (scripts/fetch.py bench-images={dir})"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    photos.sort();
    println!("\n== DC-only 1/8 decode vs libjpeg-turbo 1/8 decode, {ROUNDS} rounds, median per photo");
    println!("{:<22} {:>10} {:>10} {:>7}", "photo", "ours ms", "libjpeg ms", "ratio");
    let (mut ours_total, mut theirs_total) = (0.0, 0.0);
    for path in &photos {
        let jpeg = std::fs::read(path).expect("readable");
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let image = media_core::jpeg_dc::decode_eighth(&jpeg);
            ours.push(start.elapsed());
            assert!(image.is_some(), "{}: not a baseline JPEG the DC path takes", path.display());
            let start = Instant::now();
            std::hint::black_box(media_core::jpeg_dc::libjpeg_turbo_eighth(&jpeg));
            theirs.push(start.elapsed());
        }
        let (ours, theirs) = (median(ours), median(theirs));
        (ours_total, theirs_total) = (ours_total + ours, theirs_total + theirs);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        println!("{name:<22} {ours:>10.1} {theirs:>10.1} {:>6.2}x", theirs / ours);
    }
    println!("{:<22} {ours_total:>10.1} {theirs_total:>10.1} {:>6.2}x", "all", theirs_total / ours_total);
}

//! Transcodes a clip as mediaflow does and prints what it wrote as JSON; the benchmark script
//! (`benches/compare-ffmpeg.sh`) times it against the ffmpeg CLI.
//!
//! ```text
//! cargo run --release --example transcode -- INPUT OUT_DIR [--ladder 1080,720,480] [--preset veryfast]
//!     [--crf 23] [--no-hls] [--hls-ts] [--work-dir DIR]
//! ```

use anyhow::{Context, bail};
use media_video::{HlsSegmentFormat, Rung, TranscodeOptions, VideoLimits, default_ladder};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: transcode INPUT OUT_DIR [--ladder 1080,720,480] [--preset P] [--crf N] [--no-hls] [--hls-ts] [--work-dir DIR]";
    let input = std::path::PathBuf::from(args.next().context(usage)?);
    let out_dir = std::path::PathBuf::from(args.next().context(usage)?);
    let mut options = TranscodeOptions::new(&out_dir, std::env::temp_dir());
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--ladder" => {
                let heights = args.next().context(usage)?;
                let defaults = default_ladder();
                options.ladder = heights
                    .split(',')
                    .map(|height| {
                        let height: u32 = height.trim().parse().context("ladder heights are numbers")?;
                        let cap = defaults
                            .iter()
                            .find(|rung| rung.height == height)
                            .map_or(3_500_000, |rung| rung.max_bit_rate);
                        Ok(Rung::new(height, cap))
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--preset" => options.preset = args.next().context(usage)?.parse()?,
            "--crf" => options.crf = args.next().context(usage)?.parse()?,
            "--no-hls" => options.hls = false,
            "--hls-ts" => options.hls_segment_format = HlsSegmentFormat::MpegTs,
            "--work-dir" => options.work_dir = args.next().context(usage)?.into(),
            other => bail!("unknown flag {other}\n{usage}"),
        }
    }
    let started = std::time::Instant::now();
    let probe = media_video::probe(&input, &VideoLimits::default())?;
    let outputs = media_video::transcode(&input, &probe, &options, &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    println!("{}", serde_json::to_string_pretty(&outputs)?);
    eprintln!("transcoded {:.2} s of media in {seconds:.2} s", outputs.duration_seconds);
    Ok(())
}

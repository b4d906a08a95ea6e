//! Writes the poster thumbnails of a clip: `cargo run --example poster -- clip.mp4 out-dir`.

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let input = std::path::PathBuf::from(args.next().context("usage: poster INPUT OUT_DIR")?);
    let out_dir = std::path::PathBuf::from(args.next().context("usage: poster INPUT OUT_DIR")?);
    let probe = media_video::probe(&input, &media_video::VideoLimits::default())?;
    let started = std::time::Instant::now();
    let poster = media_video::extract_poster(&input, &probe, &media_core::ThumbnailOptions::default())?;
    let elapsed = started.elapsed();
    std::fs::create_dir_all(&out_dir)?;
    for thumbnail in &poster.thumbnails {
        let path = out_dir.join(format!("poster-{}.{}", thumbnail.size, thumbnail.format.extension()));
        std::fs::write(&path, &thumbnail.bytes)?;
        println!("{} {}x{}", path.display(), thumbnail.width, thumbnail.height);
    }
    println!("at {:.3} s, {:.1} ms", poster.at_seconds, elapsed.as_secs_f64() * 1000.0);
    Ok(())
}

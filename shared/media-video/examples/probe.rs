//! Prints the probe of each file given as JSON: `cargo run --example probe -- clip.mp4`.

fn main() -> anyhow::Result<()> {
    for path in std::env::args_os().skip(1) {
        match media_video::probe(std::path::Path::new(&path), &media_video::VideoLimits::default()) {
            Ok(probe) => println!("{}", serde_json::to_string_pretty(&probe)?),
            Err(error) => println!("{}: {} ({error})", path.to_string_lossy(), error.code()),
        }
    }
    Ok(())
}

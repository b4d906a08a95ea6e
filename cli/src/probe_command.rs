//! `mediaflow probe`: what a video (or audio) file holds, read from its headers without decoding.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use media_video::{Probe, VideoLimits};

/// Options of `mediaflow probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// One JSON object per line (`{"input", "probe"}` or `{"input", "error"}`), instead of a summary.
    #[arg(long)]
    json: bool,
    /// Video or audio files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs the command; `Ok(false)` when any file failed.
pub fn run(args: ProbeArgs) -> anyhow::Result<bool> {
    let limits = VideoLimits::default();
    let mut all_ok = true;
    for file in &args.files {
        let input = file.display().to_string();
        match media_video::probe(file, &limits) {
            Ok(probe) if args.json => {
                println!(
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "input": input, "probe": probe }))?
                );
            }
            Ok(probe) => print!("{}", summary(&input, &probe)),
            Err(error) => {
                all_ok = false;
                let (code, message) = (error.code(), error.to_string());
                if args.json {
                    let value = serde_json::json!({
                        "input": input,
                        "error": { "code": code, "message": message },
                    });
                    println!("{}", serde_json::to_string(&value)?);
                } else {
                    eprintln!("{input}: {code}: {message}");
                }
            }
        }
    }
    Ok(all_ok)
}

/// A few lines for people: the container, duration and bit rate, the music tags when there are
/// any, then one line per stream.
fn summary(input: &str, probe: &Probe) -> String {
    let mut text = format!("{input}: {}", name(&probe.container));
    if let Some(duration) = probe.duration_seconds {
        let _ = write!(text, ", {duration:.2} s");
    }
    if let Some(bit_rate) = probe.bit_rate {
        let _ = write!(text, ", {}", kilobits(bit_rate));
    }
    let _ = writeln!(text, ", {} bytes", probe.bytes);
    let music: Vec<String> = [("title", &probe.title), ("artist", &probe.artist), ("album", &probe.album)]
        .into_iter()
        .filter_map(|(tag, value)| value.as_ref().map(|value| format!("{tag} {value:?}")))
        .collect();
    if !music.is_empty() {
        let _ = writeln!(text, "  {}", music.join(", "));
    }
    for video in &probe.video {
        let _ = write!(text, "  video #{}: {}", video.index, video.codec);
        if let Some(profile) = &video.profile {
            let _ = write!(text, " ({profile})");
        }
        let _ = write!(text, ", {}x{}", video.width, video.height);
        if (video.display_width, video.display_height) != (video.width, video.height) {
            let _ = write!(text, " shown {}x{}", video.display_width, video.display_height);
        }
        if video.rotation != 0 {
            let _ = write!(text, ", rotated {}°", video.rotation);
        }
        if let Some(frame_rate) = video.frame_rate {
            let _ = write!(text, ", {frame_rate:.3} fps");
        }
        if let Some(pixel_format) = &video.pixel_format {
            let _ = write!(text, ", {pixel_format}");
        }
        let _ = write!(text, ", {}", name(&video.dynamic_range));
        if let Some(bit_rate) = video.bit_rate {
            let _ = write!(text, ", {}", kilobits(bit_rate));
        }
        text.push('\n');
    }
    for audio in &probe.audio {
        let _ = write!(text, "  audio #{}: {}", audio.index, audio.codec);
        if let Some(profile) = &audio.profile {
            let _ = write!(text, " ({profile})");
        }
        let _ = write!(text, ", {} Hz, {} ch", audio.sample_rate, audio.channels);
        if let Some(layout) = &audio.channel_layout {
            let _ = write!(text, " ({layout})");
        }
        if let Some(bit_rate) = audio.bit_rate {
            let _ = write!(text, ", {}", kilobits(bit_rate));
        }
        if let Some(language) = &audio.language {
            let _ = write!(text, ", {language}");
        }
        text.push('\n');
    }
    let others = [
        (probe.subtitle_streams, "subtitle"),
        (probe.data_streams, "data"),
        (probe.attached_pictures, "attached picture"),
    ];
    for (count, what) in others.into_iter().filter(|(count, _)| *count > 0) {
        let _ = writeln!(text, "  {count} {what} stream{}", if count == 1 { "" } else { "s" });
    }
    text
}

/// The serde name of an enum value (`mp4`, `hdr-pq`).
fn name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
}

fn kilobits(bits_per_second: u64) -> String {
    format!("{} kb/s", bits_per_second.div_ceil(1000))
}

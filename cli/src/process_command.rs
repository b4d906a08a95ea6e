//! `mediaflow process`: thumbnails and metadata.json for every input, in parallel; videos also get
//! renditions and HLS, audio files an AAC rendition (see [`video`]).

mod video;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use media_core::{
    ErrorCode, ImageDecoders, Limits, MediaError, MediaKind, OutputFormat, SNIFF_LEN, ThumbnailOptions,
};
use media_video::{VideoError, X264Preset};
use moderation_local::OpenNsfw;
use pipeline::moderation::ModerationSettings;
use rayon::prelude::*;

use crate::inputs::{Input, collect_inputs};
use crate::moderate_command::{WithModeration, load_model, moderate_image, parse_threshold};
use crate::report::{ErrorReport, InputReport, OutputReport, Status, Summary, SummaryLine};

/// Options of `mediaflow process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Where outputs go: `<out>/<input path relative to its argument>/thumb-<size>.<ext>` (videos:
    /// `poster-<size>.<ext>`, `<height>p.mp4`, `hls/master.m3u8`; audio: `audio.m4a`).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Thumbnail (and video poster) box sizes in pixels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "256,1024", value_parser = clap::value_parser!(u32).range(1..=16384))]
    sizes: Vec<u32>,
    /// Thumbnail format.
    #[arg(long, default_value = "jpeg", value_parser = parse_format)]
    format: OutputFormat,
    /// Encoder quality, 1-100.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Worker threads (default: the number of cores; 1 runs everything on the main thread).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Video rendition heights (the short edge), comma-separated [default: 1080,720,480]. Never
    /// upscaled: rungs above the source are capped at its size.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(16..=8192))]
    renditions: Vec<u32>,
    /// x264 preset of the video renditions (ultrafast ... veryslow).
    #[arg(long, default_value = "veryfast", value_parser = parse_preset)]
    preset: X264Preset,
    /// Write only the MP4 renditions of videos, no HLS playlists and segments.
    #[arg(long)]
    no_hls: bool,
    /// Also classify images and videos for content moderation with the local open_nsfw model (as
    /// `mediaflow moderate` does) and add the record to metadata.json as `moderation`.
    #[arg(long)]
    moderate: bool,
    /// With --moderate: the confidence (0 to 1) at or above which a label flags the input.
    #[arg(long, default_value_t = ModerationSettings::default().threshold, value_parser = parse_threshold, requires = "moderate")]
    moderation_threshold: f64,
    /// Print one JSON object per input and a summary line, instead of text.
    #[arg(long)]
    json: bool,
    /// Files or folders (walked recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn parse_format(name: &str) -> Result<OutputFormat, String> {
    name.parse().map_err(|e: MediaError| e.to_string())
}

fn parse_preset(name: &str) -> Result<X264Preset, String> {
    name.parse().map_err(|e: VideoError| e.to_string())
}

/// A failure of one input.
struct Failure {
    kind: MediaKind,
    code: ErrorCode,
    message: String,
}

impl Failure {
    fn media(kind: MediaKind, error: &MediaError) -> Failure {
        Failure { kind, code: error.code(), message: error.to_string() }
    }

    fn io(kind: MediaKind, what: &str, path: &Path, error: &std::io::Error) -> Failure {
        Failure { kind, code: ErrorCode::IO_ERROR, message: format!("{what} {}: {error}", path.display()) }
    }

    /// A media-video failure of a video or audio file (`kind`, as sniffed).
    fn video(kind: MediaKind, error: &VideoError) -> Failure {
        Failure { kind, code: error.code(), message: error_chain(error) }
    }
}

/// An error and its sources on one line (`I/O error on x: permission denied`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Runs the command; `Ok(false)` when any input failed.
pub fn run(args: ProcessArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let options = ThumbnailOptions { sizes: args.sizes.clone(), format: args.format, quality: args.quality };
    options.validate()?;
    let video_settings = video::VideoSettings::new(&args.renditions, args.preset, !args.no_hls)?;
    let limits = Limits::default();
    let inputs = collect_inputs(&args.paths);
    let jobs =
        args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from);

    let progress =
        if inputs.len() > 3 { ProgressBar::new(inputs.len() as u64) } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let printer = Mutex::new(Printer { json: args.json, ok: 0, failed: 0, progress: progress.clone() });
    let images = media_heif::image_decoders();
    let model = if args.moderate { Some(load_model(None)?) } else { None };
    let settings = Settings {
        out: &args.out,
        thumbnails: &options,
        limits: &limits,
        video: &video_settings,
        images: &images,
        moderation: model.as_ref().map(|model| (model, args.moderation_threshold)),
    };
    let process = |input: &&Input| {
        let report = process_input(input, &settings, &progress);
        if let Ok(mut printer) = printer.lock() {
            printer.print(&report);
        }
    };
    // Videos are CPU- and memory-heavy (a decoder plus one libx264 per rendition, each with its own
    // frame threads and lookahead buffers), so they do not go to the `--jobs` pool with the images:
    // every image and audio file (and unreadable or unknown input) is processed first, in parallel,
    // then the videos one at a time on this thread. libx264 and FFmpeg's decoders are multi-threaded themselves, so
    // one video at a time still uses every core, and memory stays at that of one transcode.
    let (videos, others): (Vec<&Input>, Vec<&Input>) =
        inputs.iter().partition(|input| video::sniffs_as_video(&input.path));
    if jobs == 1 {
        others.iter().for_each(process);
    } else {
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting worker threads")?;
        pool.install(|| others.par_iter().for_each(process));
    }
    videos.iter().for_each(process);
    progress.finish_and_clear();

    let printer = printer.into_inner().map_err(|_| anyhow::anyhow!("a worker panicked"))?;
    let summary = Summary { ok: printer.ok, failed: printer.failed, ms: started.elapsed().as_millis() };
    if args.json {
        println!("{}", serde_json::to_string(&SummaryLine { summary })?);
    } else {
        println!("{} ok, {} failed in {} ms", summary.ok, summary.failed, summary.ms);
    }
    Ok(printer.failed == 0)
}

/// Prints reports as they complete and counts them.
struct Printer {
    json: bool,
    ok: usize,
    failed: usize,
    progress: ProgressBar,
}

impl Printer {
    fn print(&mut self, report: &InputReport) {
        match report.status {
            Status::Ok => self.ok += 1,
            Status::Failed => self.failed += 1,
        }
        let line = if self.json {
            serde_json::to_string(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        } else {
            human_line(report)
        };
        self.progress.suspend(|| {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (e.g. piped into `head`) is not worth failing the batch for.
            let _ = writeln!(stdout, "{line}");
        });
        self.progress.inc(1);
    }
}

fn human_line(report: &InputReport) -> String {
    let kind = serde_json::to_value(report.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match &report.error {
        Some(error) => format!("failed  {}  {kind}  {}: {}", report.input, error.code, error.message),
        None => {
            let outputs: Vec<String> = report
                .outputs
                .iter()
                .map(|o| match (o.width, o.height) {
                    (Some(width), Some(height)) if matches!(o.format.as_str(), "jpeg" | "webp") => {
                        format!("{width}x{height} {} B", o.bytes)
                    }
                    (Some(width), Some(height)) => format!("{} {width}x{height} {} B", o.format, o.bytes),
                    _ => format!("{} {} B", o.format, o.bytes),
                })
                .collect();
            format!("ok      {}  {kind}  {}", report.input, outputs.join(", "))
        }
    }
}

/// What every input is processed with.
struct Settings<'a> {
    out: &'a Path,
    thumbnails: &'a ThumbnailOptions,
    limits: &'a Limits,
    video: &'a video::VideoSettings,
    images: &'a ImageDecoders,
    /// The model and threshold, with `--moderate`.
    moderation: Option<(&'a OpenNsfw, f64)>,
}

fn process_input(input: &Input, settings: &Settings<'_>, progress: &ProgressBar) -> InputReport {
    let input_name = input.path.display().to_string();
    match try_process_input(input, settings, progress) {
        Ok((kind, outputs)) => {
            InputReport { input: input_name, status: Status::Ok, kind, outputs, error: None }
        }
        Err(failure) => InputReport {
            input: input_name,
            status: Status::Failed,
            kind: failure.kind,
            outputs: Vec::new(),
            error: Some(ErrorReport { code: failure.code.to_string(), message: failure.message }),
        },
    }
}

fn try_process_input(
    input: &Input,
    settings: &Settings<'_>,
    progress: &ProgressBar,
) -> Result<(MediaKind, Vec<OutputReport>), Failure> {
    let Settings { out, thumbnails: options, limits, video: video_settings, images, moderation } = *settings;
    let path = &input.path;
    let unknown = MediaKind::Unknown;
    let mut file = std::fs::File::open(path).map_err(|e| Failure::io(unknown, "opening", path, &e))?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut file)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Failure::io(unknown, "reading", path, &e))?;
    let kind = media_core::sniff(&head).map_or(MediaKind::Unknown, |format| format.kind());
    if matches!(kind, MediaKind::Video | MediaKind::Audio) {
        drop(file);
        let outputs = video::process_video(input, kind, out, options, video_settings, moderation, progress)?;
        return Ok((kind, outputs));
    }
    // Check the size before reading the rest, so a huge file is refused without loading it.
    let size = file.metadata().map_err(|e| Failure::io(kind, "reading", path, &e))?.len();
    limits.check_input_bytes(size).map_err(|e| Failure::media(kind, &e))?;
    let mut bytes = head;
    file.read_to_end(&mut bytes).map_err(|e| Failure::io(kind, "reading", path, &e))?;

    let processed = images.process_image(&bytes, options, limits).map_err(|e| Failure::media(kind, &e))?;
    let moderation = moderation
        .map(|(model, threshold)| moderate_image(model, images, &bytes, threshold))
        .transpose()
        .map_err(|(code, message)| Failure { kind, code, message })?;
    let dir = out.join(&input.relative);
    std::fs::create_dir_all(&dir).map_err(|e| Failure::io(kind, "creating", &dir, &e))?;
    let mut outputs = Vec::with_capacity(processed.thumbnails.len());
    for thumbnail in &processed.thumbnails {
        let target = dir.join(format!("thumb-{}.{}", thumbnail.size, thumbnail.format.extension()));
        std::fs::write(&target, &thumbnail.bytes).map_err(|e| Failure::io(kind, "writing", &target, &e))?;
        outputs.push(OutputReport {
            path: target.display().to_string(),
            width: Some(thumbnail.width),
            height: Some(thumbnail.height),
            bytes: thumbnail.bytes.len() as u64,
            format: thumbnail.format.name().into(),
        });
    }
    let metadata_path = dir.join("metadata.json");
    let metadata = WithModeration { metadata: &processed.metadata, moderation: moderation.as_ref() };
    let json = serde_json::to_vec_pretty(&metadata).map_err(|e| Failure {
        kind,
        code: ErrorCode::INTERNAL_ERROR,
        message: e.to_string(),
    })?;
    std::fs::write(&metadata_path, json).map_err(|e| Failure::io(kind, "writing", &metadata_path, &e))?;
    Ok((kind, outputs))
}

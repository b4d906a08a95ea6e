//! `mediaflow process`: thumbnails and metadata.json for every input, in parallel.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use media_core::{Limits, MediaError, MediaKind, OutputFormat, SNIFF_LEN, ThumbnailOptions};
use rayon::prelude::*;

use crate::inputs::{Input, collect_inputs};
use crate::report::{ErrorReport, InputReport, OutputReport, Status, Summary, SummaryLine};

/// Options of `mediaflow process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Where outputs go: `<out>/<input path relative to its argument>/thumb-<size>.<ext>`.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Thumbnail box sizes in pixels, comma-separated.
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

/// A failure of one input.
struct Failure {
    kind: MediaKind,
    code: &'static str,
    message: String,
}

impl Failure {
    fn media(kind: MediaKind, error: &MediaError) -> Failure {
        Failure { kind, code: error.code(), message: error.to_string() }
    }

    fn io(kind: MediaKind, what: &str, path: &Path, error: &std::io::Error) -> Failure {
        Failure { kind, code: "io-error", message: format!("{what} {}: {error}", path.display()) }
    }
}

/// Runs the command; `Ok(false)` when any input failed.
pub fn run(args: ProcessArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let options = ThumbnailOptions { sizes: args.sizes.clone(), format: args.format, quality: args.quality };
    options.validate()?;
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
    let process = |input: &Input| {
        let report = process_input(input, &args.out, &options, &limits);
        if let Ok(mut printer) = printer.lock() {
            printer.print(&report);
        }
    };
    if jobs == 1 {
        inputs.iter().for_each(process);
    } else {
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting worker threads")?;
        pool.install(|| inputs.par_iter().for_each(process));
    }
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
            let outputs: Vec<String> =
                report.outputs.iter().map(|o| format!("{}x{} {} B", o.width, o.height, o.bytes)).collect();
            format!("ok      {}  {kind}  {}", report.input, outputs.join(", "))
        }
    }
}

fn process_input(input: &Input, out: &Path, options: &ThumbnailOptions, limits: &Limits) -> InputReport {
    let input_name = input.path.display().to_string();
    match try_process_input(input, out, options, limits) {
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
    out: &Path,
    options: &ThumbnailOptions,
    limits: &Limits,
) -> Result<(MediaKind, Vec<OutputReport>), Failure> {
    let path = &input.path;
    let unknown = MediaKind::Unknown;
    let mut file = std::fs::File::open(path).map_err(|e| Failure::io(unknown, "opening", path, &e))?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut file)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Failure::io(unknown, "reading", path, &e))?;
    let kind = media_core::sniff(&head).map_or(MediaKind::Unknown, |format| format.kind());
    if kind == MediaKind::Video {
        return Err(Failure {
            kind,
            code: "unsupported-format",
            message: "video processing is not available in this build".into(),
        });
    }
    // Check the size before reading the rest, so a huge file is refused without loading it.
    let size = file.metadata().map_err(|e| Failure::io(kind, "reading", path, &e))?.len();
    limits.check_input_bytes(size).map_err(|e| Failure::media(kind, &e))?;
    let mut bytes = head;
    file.read_to_end(&mut bytes).map_err(|e| Failure::io(kind, "reading", path, &e))?;

    let processed =
        media_core::process_image(&bytes, options, limits).map_err(|e| Failure::media(kind, &e))?;
    let dir = out.join(&input.relative);
    std::fs::create_dir_all(&dir).map_err(|e| Failure::io(kind, "creating", &dir, &e))?;
    let mut outputs = Vec::with_capacity(processed.thumbnails.len());
    for thumbnail in &processed.thumbnails {
        let target = dir.join(format!("thumb-{}.{}", thumbnail.size, thumbnail.format.extension()));
        std::fs::write(&target, &thumbnail.bytes).map_err(|e| Failure::io(kind, "writing", &target, &e))?;
        outputs.push(OutputReport {
            path: target.display().to_string(),
            width: thumbnail.width,
            height: thumbnail.height,
            bytes: thumbnail.bytes.len() as u64,
            format: match thumbnail.format {
                OutputFormat::Jpeg => "jpeg".into(),
                OutputFormat::Webp => "webp".into(),
            },
        });
    }
    let metadata_path = dir.join("metadata.json");
    let json = serde_json::to_vec_pretty(&processed.metadata).map_err(|e| Failure {
        kind,
        code: "internal",
        message: e.to_string(),
    })?;
    std::fs::write(&metadata_path, json).map_err(|e| Failure::io(kind, "writing", &metadata_path, &e))?;
    Ok((kind, outputs))
}

//! `mediaflow moderate`: content moderation of local images and videos with the local open_nsfw
//! model, the classifier a stack with `Moderation=local` runs, and the same record it keeps.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use media_core::{ErrorCode, ImageDecoders, Limits, MediaKind, SNIFF_LEN};
use moderation_local::{INPUT_BOX, MODEL_NAME, MODEL_SHA256, NSFW_LABEL, OpenNsfw, model_path_from_env};
use pipeline::moderation::{
    Moderation, ModerationDecision, ModerationLabel, ModerationModel, ModerationProvider, ModerationSettings,
};
use serde::Serialize;

/// Options of `mediaflow moderate`.
#[derive(Debug, Args)]
pub struct ModerateArgs {
    /// One compact JSON object per line, instead of text.
    #[arg(long)]
    json: bool,
    /// Confidence (0 to 1) at or above which a label flags the input.
    #[arg(long, default_value_t = ModerationSettings::default().threshold, value_parser = parse_threshold)]
    threshold: f64,
    /// The open_nsfw ONNX file [default: $MEDIAFLOW_MODEL_PATH, else ~/.cache/mediaflow/models/open-nsfw.onnx,
    /// which `make fixtures` fills].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Image and video files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Parses a threshold from 0 to 1.
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("{text:?} is not a number from 0 to 1")),
    }
}

/// Loads the model named by `--model`, or found as the functions find it.
pub fn load_model(path: Option<&Path>) -> anyhow::Result<OpenNsfw> {
    let path = path.map_or_else(model_path_from_env, Path::to_path_buf);
    OpenNsfw::load(&path).with_context(|| format!("loading the moderation model {}", path.display()))
}

/// Runs the command; `Ok(false)` when any input failed.
pub fn run(args: ModerateArgs) -> anyhow::Result<bool> {
    let model = load_model(args.model.as_deref())?;
    let mut all_ok = true;
    for file in &args.files {
        let input = file.display().to_string();
        let line = match moderate_file(&model, file, args.threshold) {
            Ok(moderation) if !args.json => {
                let labels: Vec<String> =
                    moderation.labels.iter().map(|l| format!("{} {:.3}", l.name, l.confidence)).collect();
                let decision = match moderation.decision {
                    ModerationDecision::Allowed => "allowed",
                    ModerationDecision::Flagged => "flagged",
                };
                println!("{input}: {decision} ({}), {} ms", labels.join(", "), moderation.ms);
                continue;
            }
            Ok(moderation) => Line { input: &input, moderation: Some(moderation), error: None },
            Err((code, message)) => {
                all_ok = false;
                if !args.json {
                    eprintln!("{input}: {code}: {message}");
                    continue;
                }
                Line { input: &input, moderation: None, error: Some(ErrorLine { code, message }) }
            }
        };
        // Serialised straight from the types (not through a `Value`), so the fields keep their
        // order and `f32` confidences print as they are.
        println!("{}", serde_json::to_string(&line)?);
    }
    Ok(all_ok)
}

/// One `--json` line: the input, and its moderation record or its error.
#[derive(Serialize)]
struct Line<'a> {
    input: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    moderation: Option<Moderation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorLine>,
}

#[derive(Serialize)]
struct ErrorLine {
    code: ErrorCode,
    message: String,
}

/// The moderation record of the image or video at `path`, as the moderate function makes it:
/// an image decoded upright no larger than the model needs, or stills spread over a video, each
/// labelled, the worst kept. Errors are `(code, message)` with the media crates' codes.
pub fn moderate_file(
    model: &OpenNsfw,
    path: &Path,
    threshold: f64,
) -> Result<Moderation, (ErrorCode, String)> {
    let io = |e: std::io::Error| (ErrorCode::IO_ERROR, format!("reading {}: {e}", path.display()));
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(path)
        .and_then(|file| file.take(SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(io)?;
    match media_core::sniff(&head).map(|format| format.kind()) {
        Some(MediaKind::Image) => {
            let bytes = std::fs::read(path).map_err(io)?;
            moderate_image(model, &media_heif::image_decoders(), &bytes, threshold)
        }
        Some(MediaKind::Video) => moderate_video(model, path, threshold),
        _ => Err((ErrorCode::UNSUPPORTED_FORMAT, "moderation looks at images and videos only".into())),
    }
}

/// The moderation record of the image in `bytes`.
pub fn moderate_image(
    model: &OpenNsfw,
    images: &ImageDecoders,
    bytes: &[u8],
    threshold: f64,
) -> Result<Moderation, (ErrorCode, String)> {
    let started = Instant::now();
    let picture =
        images.render_upright(bytes, &Limits::default(), INPUT_BOX).map_err(|e| (e.code(), e.to_string()))?;
    classify(model, &[picture], threshold, started)
}

/// The moderation record of the video at `path`: the stack's default number of stills.
pub fn moderate_video(
    model: &OpenNsfw,
    path: &Path,
    threshold: f64,
) -> Result<Moderation, (ErrorCode, String)> {
    let started = Instant::now();
    let probe = media_video::probe(path, &media_video::VideoLimits::default())
        .map_err(|e| (e.code(), e.to_string()))?;
    let count = ModerationSettings::default().video_frames as usize;
    let stills =
        media_video::extract_stills(path, &probe, count, INPUT_BOX).map_err(|e| (e.code(), e.to_string()))?;
    let pictures: Vec<_> = stills.into_iter().map(|still| still.image).collect();
    classify(model, &pictures, threshold, started)
}

fn classify(
    model: &OpenNsfw,
    pictures: &[image::RgbImage],
    threshold: f64,
    started: Instant,
) -> Result<Moderation, (ErrorCode, String)> {
    let mut labels = Vec::with_capacity(pictures.len());
    for picture in pictures {
        let score = model.classify(picture).map_err(|error| {
            // The pipeline's code for it (`corrupt-input` or `moderation-failed`), the model's own
            // reason in the message.
            let job = error.into_job_error();
            (job.code(), job.to_failure().message)
        })?;
        labels.push(vec![ModerationLabel { name: NSFW_LABEL.into(), confidence: score }]);
    }
    let model = ModerationModel { name: MODEL_NAME.into(), sha256: Some(MODEL_SHA256.into()) };
    let ms = started.elapsed().as_millis() as u64;
    Ok(Moderation::decide(ModerationProvider::Local, model, &labels, threshold, ms))
}

/// What `process --moderate` writes as `metadata.json`: the metadata with the moderation record
/// beside its fields.
#[derive(Serialize)]
pub struct WithModeration<'a, T: Serialize> {
    /// The image metadata or the video probe.
    #[serde(flatten)]
    pub metadata: &'a T,
    /// The record, with `--moderate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<&'a Moderation>,
}

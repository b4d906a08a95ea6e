//! What the use-cases run with: the ports and the settings, built once per process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use media_core::{Limits, ThumbnailOptions};
use media_video::{Rung, VideoLimits, X264Preset};

use crate::ports::{AssetRepository, EventPublisher, JobQueue, Metrics, ObjectStore};
use crate::time::Clock;

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
    /// Settings.
    pub settings: Arc<Settings>,
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
    /// Video limits.
    pub video_limits: VideoLimits,
    /// Rendition ladder.
    pub ladder: Vec<Rung>,
    /// x264 preset.
    pub preset: X264Preset,
    /// Whether to package HLS.
    pub hls: bool,
    /// Folder for temporary files (Lambda: `/tmp`).
    pub work_dir: PathBuf,
    /// How long a claimed job is held when the caller has no deadline (worker mode).
    pub worker_lease: Duration,
    /// How often a running transcode writes its progress.
    pub progress_interval: Duration,
    /// Measured transcode speed: output pixels (summed over renditions) encoded per second. The
    /// transcode job sends a clip whose estimate does not fit in the remaining Lambda time to the
    /// long-job queue.
    pub transcode_pixels_per_second: f64,
    /// Time kept back from the Lambda deadline for uploads and bookkeeping.
    pub deadline_margin: Duration,
}

impl Settings {
    /// Defaults, writing derivatives to `derivatives_bucket`.
    pub fn new(derivatives_bucket: impl Into<String>) -> Settings {
        Settings {
            derivatives_bucket: derivatives_bucket.into(),
            thumbnails: ThumbnailOptions::default(),
            image_limits: Limits::default(),
            video_limits: VideoLimits::default(),
            ladder: media_video::default_ladder(),
            preset: X264Preset::default(),
            hls: true,
            work_dir: std::env::temp_dir(),
            worker_lease: Duration::from_secs(6 * 3600),
            progress_interval: Duration::from_secs(5),
            transcode_pixels_per_second: 25_000_000.0,
            deadline_margin: Duration::from_secs(20),
        }
    }
}

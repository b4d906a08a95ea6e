//! What travels between functions, and to the users of the pipeline: job messages on the queues
//! (with the parts of split jobs) and the completion event on the bus. Their JSON is a contract:
//! fields are added with defaults, never renamed.

use serde::{Deserialize, Serialize};

use crate::cost::Cost;
use crate::model::{Asset, AssetId, AssetStatus, Failure, JobKind};
use crate::sequencer::Sequencer;

/// A job as it travels through a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The asset.
    pub asset_id: AssetId,
    /// What to do.
    pub job: JobKind,
    /// The upload the job is for; results for an older upload are discarded.
    pub sequencer: Sequencer,
    /// Uploads bucket.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Object version, when versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Object size.
    pub size: u64,
    /// What ingest sniffed.
    pub kind: media_core::MediaKind,
    /// The part of a split job this message runs; absent for the job itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<JobPart>,
}

/// A part of a job split to run on many functions at once: a long video's segments, its audio,
/// and the join that assembles them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "kebab-case")]
pub enum JobPart {
    /// The video from `start_seconds` to `end_seconds` (output timeline), every rendition.
    Segment {
        /// The part's index among the job's parts.
        index: u32,
        /// Where the segment starts: a keyframe of the source.
        start_seconds: f64,
        /// Where the next segment starts (or the clip ends).
        end_seconds: f64,
    },
    /// The whole audio track, encoded once.
    Audio {
        /// The part's index among the job's parts.
        index: u32,
    },
    /// Playlists and MP4 renditions assembled from the finished parts, once they all are.
    Join,
}

impl JobPart {
    /// The part's index, for the parts counted towards the join.
    pub fn index(&self) -> Option<u32> {
        match self {
            JobPart::Segment { index, .. } | JobPart::Audio { index } => Some(*index),
            JobPart::Join => None,
        }
    }

    /// How attempts of the part are labelled in the job's history.
    pub fn label(&self) -> String {
        match self {
            JobPart::Segment { index, .. } => format!("segment {index}"),
            JobPart::Audio { .. } => "audio".into(),
            JobPart::Join => "join".into(),
        }
    }
}

impl JobMessage {
    /// The message of `asset`'s `job` for its current upload.
    pub fn for_job(asset: &Asset, job: JobKind) -> JobMessage {
        JobMessage {
            asset_id: asset.id.clone(),
            job,
            sequencer: asset.source.sequencer.clone(),
            bucket: asset.source.bucket.clone(),
            key: asset.source.key.clone(),
            version_id: asset.source.version_id.clone(),
            size: asset.source.size,
            kind: asset.kind,
            part: None,
        }
    }

    /// The message of `part` of this message's job.
    pub fn for_part(&self, part: JobPart) -> JobMessage {
        JobMessage { part: Some(part), ..self.clone() }
    }
}

/// The completion event of an asset, published once per upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetEvent {
    /// The asset.
    pub asset_id: AssetId,
    /// `ready`, `partial` or `failed`.
    pub status: AssetStatus,
    /// The media kind.
    pub kind: media_core::MediaKind,
    /// Uploads bucket.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// The upload's sequencer.
    pub sequencer: Sequencer,
    /// Derivatives bucket.
    pub derivatives_bucket: String,
    /// Every derivative.
    pub derivatives: Vec<crate::model::Derivative>,
    /// Failures of the asset or its jobs.
    pub errors: Vec<Failure>,
    /// What moderation found and decided, when the stack moderates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<crate::moderation::Moderation>,
    /// What the upload cost, over the ingest and every job attempt.
    #[serde(default)]
    pub cost: Cost,
}

impl AssetEvent {
    /// The EventBridge detail-type: `Asset Failed` when every job failed, `Asset Flagged` when
    /// moderation flagged the asset (its derivatives exist, tagged `moderation=flagged`), and
    /// `Asset Ready` otherwise (also for partial results).
    pub fn detail_type(&self) -> &'static str {
        if self.status == AssetStatus::Failed {
            "Asset Failed"
        } else if self.moderation.as_ref().is_some_and(|moderation| moderation.is_flagged()) {
            "Asset Flagged"
        } else {
            "Asset Ready"
        }
    }
}

/// The S3 object tag a flagged asset's derivatives get, so that a bucket policy or a CDN can
/// refuse to serve them: `moderation=flagged`.
pub const FLAGGED_TAG: (&str, &str) = ("moderation", "flagged");

/// The EventBridge source of completion events.
pub const EVENT_SOURCE: &str = "mediaflow";

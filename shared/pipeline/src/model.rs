//! The asset model: one record per uploaded object, its jobs and their derivatives.
//!
//! Every status and kind is an enum serialised in one place (here, with serde), so the DynamoDB
//! item, the JSON the CLI prints and the completion events all spell them the same way.

use std::collections::BTreeMap;
use std::fmt;

use media_core::MediaKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cost::Cost;
pub use crate::error::Failure;
use crate::moderation::Moderation;
use crate::sequencer::Sequencer;
use crate::time::Timestamp;
use crate::usage::Attempt;

/// An asset's identifier: the first 128 bits of `sha256(len(bucket) ":" bucket "/" key)` in hex, so
/// the same object key always maps to the same asset (re-uploads update it rather than creating
/// another) and no two bucket/key pairs share one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssetId(String);

impl AssetId {
    /// The asset id of the object `key` in `bucket`.
    pub fn for_object(bucket: &str, key: &str) -> AssetId {
        let digest =
            Sha256::new().chain_update(format!("{}:{bucket}/", bucket.len())).chain_update(key).finalize();
        AssetId(digest[..16].iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// Parses an id as printed by [`AssetId`]'s `Display` (32 lowercase hex digits).
    pub fn parse(text: &str) -> Option<AssetId> {
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| AssetId(text.to_owned()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix under which the asset's derivatives are stored: `<id>/`.
    pub fn derivatives_prefix(&self) -> String {
        format!("{}/", self.0)
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an asset is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetStatus {
    /// Recorded by ingest; its jobs are being enqueued.
    Received,
    /// Jobs enqueued or running.
    Processing,
    /// Every job succeeded.
    Ready,
    /// Some jobs succeeded, some failed.
    Partial,
    /// Every job failed, or the object is not media mediaflow handles.
    Failed,
    /// The uploaded object was removed; its derivatives are deleted.
    Deleted,
}

impl AssetStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [AssetStatus; 6] = [
        AssetStatus::Received,
        AssetStatus::Processing,
        AssetStatus::Ready,
        AssetStatus::Partial,
        AssetStatus::Failed,
        AssetStatus::Deleted,
    ];

    /// The name used in records and events (`ready`, `partial`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Received => "received",
            AssetStatus::Processing => "processing",
            AssetStatus::Ready => "ready",
            AssetStatus::Partial => "partial",
            AssetStatus::Failed => "failed",
            AssetStatus::Deleted => "deleted",
        }
    }

    /// Parses a name as printed by [`AssetStatus::as_str`].
    pub fn parse(text: &str) -> Option<AssetStatus> {
        AssetStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether nothing more happens to the asset until its object changes.
    pub fn is_final(self) -> bool {
        matches!(self, AssetStatus::Ready | AssetStatus::Partial | AssetStatus::Failed | AssetStatus::Deleted)
    }
}

impl fmt::Display for AssetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of work done on an asset, one function (and queue) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// Image thumbnails.
    Thumbnail,
    /// Video poster, renditions and HLS, or the AAC rendition of an audio file.
    Transcode,
    /// Metadata and fingerprints of an image, or the probe of a video or audio file.
    Metadata,
    /// Content moderation of an image, or of stills spread over a video.
    Moderate,
}

impl JobKind {
    /// Every job kind.
    pub const ALL: [JobKind; 4] =
        [JobKind::Thumbnail, JobKind::Transcode, JobKind::Metadata, JobKind::Moderate];

    /// The name used in records, messages and queue names.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Thumbnail => "thumbnail",
            JobKind::Transcode => "transcode",
            JobKind::Metadata => "metadata",
            JobKind::Moderate => "moderate",
        }
    }

    /// The jobs an asset of `kind` gets; none for anything that is not media. Audio goes through
    /// the same FFmpeg jobs as video: the transcode makes its AAC rendition, the metadata job probes
    /// it. Images and videos are also moderated when the stack has moderation on (`moderate`);
    /// audio has nothing to look at.
    pub fn for_media(kind: MediaKind, moderate: bool) -> Vec<JobKind> {
        let mut jobs = match kind {
            MediaKind::Image => vec![JobKind::Thumbnail, JobKind::Metadata],
            MediaKind::Video | MediaKind::Audio => vec![JobKind::Transcode, JobKind::Metadata],
            MediaKind::Unknown => Vec::new(),
        };
        if moderate && matches!(kind, MediaKind::Image | MediaKind::Video) {
            jobs.push(JobKind::Moderate);
        }
        jobs
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// Enqueued, not started (or released after a retryable failure).
    Pending,
    /// Claimed by a function or worker whose lease has not expired.
    Running,
    /// Finished with its derivatives recorded.
    Done,
    /// Finished with a permanent error.
    Failed,
}

impl JobStatus {
    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed)
    }
}

/// One file a job produced in the derivatives bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derivative {
    /// Object key in the derivatives bucket, `<asset id>/...`.
    pub key: String,
    /// What it is: `thumbnail`, `poster`, `rendition`, `audio`, `hls-playlist`.
    pub role: DerivativeRole,
    /// File format (`jpeg`, `webp`, `mp4`, `m3u8`, `m4a`, `ts`, `m4s`).
    pub format: String,
    /// Pixel width, for images and video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height, for images and video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Size in bytes.
    pub bytes: u64,
    /// Duration in seconds, for renditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
}

/// What a derivative is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DerivativeRole {
    /// An image thumbnail.
    Thumbnail,
    /// A thumbnail of a video's poster frame.
    Poster,
    /// An H.264/AAC MP4 rendition.
    Rendition,
    /// The AAC rendition of an audio-only input.
    Audio,
    /// An HLS playlist (master or variant). Segments are uploaded next to it but not recorded:
    /// the playlists list them, and a long video's item stays far below DynamoDB's 400 KB.
    HlsPlaylist,
}

/// The state of one job of the asset's current upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// Where the job is.
    pub status: JobStatus,
    /// How many times it was claimed.
    #[serde(default)]
    pub attempts: u32,
    /// The permanent failure (status `failed`), or the last retryable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// When the last attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// How long the successful or failed attempt took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Until when the running attempt holds the job; another delivery may take it over after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<Timestamp>,
    /// Progress of a running transcode, 0-100, written every few seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percent: Option<u8>,
    /// Set when the job was too long for Lambda and went to the long-job queue for worker mode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sent_to_worker: bool,
    /// The files it produced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derivatives: Vec<Derivative>,
    /// Every recorded attempt, oldest first: what each waited for, took, asked of S3 and DynamoDB,
    /// and cost. An attempt whose process died recorded nothing: `attempts` counts it, this does
    /// not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Attempt>,
    /// A job split into parts that run at once (a long video's segments and its audio): how far
    /// they are. Absent for jobs done in one attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Segments>,
}

/// The parts of a split job: how many there are and which have finished.
///
/// Recording a part is idempotent (the part's key is written once), so the one write that makes
/// `done` reach `total` is the one that starts the join, however often parts are delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segments {
    /// Parts enqueued.
    pub total: u32,
    /// Parts finished.
    pub done: u32,
    /// When each finished part was recorded, by its index.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, Timestamp>,
    /// Until when the join holds the job; another delivery of the join may take it over after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_lease_until: Option<Timestamp>,
}

impl Segments {
    /// `total` parts, none finished.
    pub fn new(total: u32) -> Segments {
        Segments { total, done: 0, parts: BTreeMap::new(), join_lease_until: None }
    }

    /// Whether part `index` has finished.
    pub fn is_done(&self, index: u32) -> bool {
        self.parts.contains_key(&index.to_string())
    }

    /// Whether every part has finished: time for the join.
    pub fn all_done(&self) -> bool {
        self.done >= self.total
    }
}

impl JobState {
    /// A job that is enqueued and not started.
    pub fn pending() -> JobState {
        JobState {
            status: JobStatus::Pending,
            attempts: 0,
            error: None,
            started_at: None,
            ended_at: None,
            duration_ms: None,
            lease_until: None,
            progress_percent: None,
            sent_to_worker: false,
            derivatives: Vec::new(),
            history: Vec::new(),
            segments: None,
        }
    }
}

/// The uploaded object an asset describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceObject {
    /// Uploads bucket.
    pub bucket: String,
    /// Object key (decoded).
    pub key: String,
    /// Version id, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// ETag as S3 reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Content type from sniffing the first bytes (not the uploader's claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The S3 event sequencer of the upload, normalised so that string order is event order.
    pub sequencer: Sequencer,
    /// When ingest recorded this upload: where its processing latency starts. The asset's
    /// `created_at` stays at its first upload.
    #[serde(default)]
    pub received_at: Timestamp,
}

/// One asset: the record kept in the assets table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Deterministic id (see [`AssetId::for_object`]).
    pub id: AssetId,
    /// The uploaded object.
    pub source: SourceObject,
    /// What the object is.
    pub kind: MediaKind,
    /// Where the asset is.
    pub status: AssetStatus,
    /// The asset's own failure (for example an unsupported format found by ingest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// The jobs of the current upload.
    #[serde(default)]
    pub jobs: BTreeMap<JobKind, JobState>,
    /// Metadata from the media crates (image metadata or video probe), once the metadata job ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// SHA-256 of the object's bytes (hex), once the metadata job ran; indexed to find duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What content moderation found and decided, once the moderate job ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
    /// The ingest of the current upload: its queue wait, time and requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest: Option<Attempt>,
    /// What the current upload cost, over the ingest and every job attempt; set on completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The sequencer whose completion was claimed (final status recorded, event about to be
    /// published), so it is published once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_sequencer: Option<Sequencer>,
    /// The sequencer whose completion event EventBridge accepted. Behind `completed_sequencer`
    /// only while the event is being published, or when the process publishing it died: then the
    /// next delivery publishes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_sequencer: Option<Sequencer>,
    /// When the current upload was completed (its final status recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// When the asset was first recorded.
    pub created_at: Timestamp,
    /// When the record last changed (sort key of the status index).
    pub updated_at: Timestamp,
}

impl Asset {
    /// A record of `source` with its id, and no job, result or completion yet: what ingest stores
    /// for an upload (then given its jobs) or a removal (status `deleted`), and what tests start
    /// from.
    pub fn new(source: SourceObject, kind: MediaKind, status: AssetStatus, now: Timestamp) -> Asset {
        Asset {
            id: AssetId::for_object(&source.bucket, &source.key),
            source,
            kind,
            status,
            error: None,
            jobs: BTreeMap::new(),
            metadata: None,
            sha256: None,
            moderation: None,
            ingest: None,
            cost: None,
            completed_sequencer: None,
            published_sequencer: None,
            completed_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Every derivative of every job, in job order.
    pub fn derivatives(&self) -> impl Iterator<Item = &Derivative> {
        self.jobs.values().flat_map(|job| job.derivatives.iter())
    }

    /// Every recorded attempt of the current upload: the ingest, then each job's, in job order.
    pub fn attempts(&self) -> impl Iterator<Item = &Attempt> {
        self.ingest.iter().chain(self.jobs.values().flat_map(|job| job.history.iter()))
    }

    /// Whether every job has ended.
    pub fn all_jobs_final(&self) -> bool {
        self.jobs.values().all(|job| job.status.is_final())
    }

    /// The status the asset reaches once every job ended: ready when all succeeded, failed when
    /// none did, partial otherwise. `None` while a job is still pending or running.
    pub fn final_status(&self) -> Option<AssetStatus> {
        if self.jobs.is_empty() || !self.all_jobs_final() {
            return None;
        }
        let done = self.jobs.values().filter(|job| job.status == JobStatus::Done).count();
        Some(match done {
            0 => AssetStatus::Failed,
            n if n == self.jobs.len() => AssetStatus::Ready,
            _ => AssetStatus::Partial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_ids_are_deterministic_and_distinct() {
        let id = AssetId::for_object("uploads", "photos/cat.jpg");
        assert_eq!(id, AssetId::for_object("uploads", "photos/cat.jpg"));
        assert_ne!(id, AssetId::for_object("uploads", "photos/cat.jpeg"));
        assert_ne!(id, AssetId::for_object("uploads/photos", "cat.jpg"));
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(AssetId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(AssetId::parse("not-an-id"), None);
        assert_eq!(id.derivatives_prefix(), format!("{id}/"));
    }

    #[test]
    fn statuses_and_jobs_serialise_as_their_names() {
        for status in AssetStatus::ALL {
            assert_eq!(serde_json::to_string(&status).unwrap_or_default(), format!("\"{status}\""));
            assert_eq!(AssetStatus::parse(status.as_str()), Some(status));
        }
        for job in JobKind::ALL {
            assert_eq!(serde_json::to_string(&job).unwrap_or_default(), format!("\"{job}\""));
        }
        assert_eq!(
            serde_json::to_string(&DerivativeRole::HlsPlaylist).unwrap_or_default(),
            "\"hls-playlist\""
        );
    }

    fn asset_with(jobs: &[(JobKind, JobStatus)]) -> Asset {
        let mut states = BTreeMap::new();
        for &(kind, status) in jobs {
            states.insert(kind, JobState { status, ..JobState::pending() });
        }
        let source = SourceObject {
            bucket: "b".into(),
            key: "k".into(),
            version_id: None,
            etag: None,
            size: 1,
            content_type: None,
            sequencer: Sequencer::parse("01"),
            received_at: Timestamp::from_millis(0),
        };
        let asset = Asset::new(source, MediaKind::Image, AssetStatus::Processing, Timestamp::from_millis(0));
        Asset { jobs: states, ..asset }
    }

    #[test]
    fn final_status_waits_for_every_job() {
        use JobKind::*;
        use JobStatus::*;
        assert_eq!(asset_with(&[(Thumbnail, Done), (Metadata, Running)]).final_status(), None);
        assert_eq!(
            asset_with(&[(Thumbnail, Done), (Metadata, Done)]).final_status(),
            Some(AssetStatus::Ready)
        );
        assert_eq!(
            asset_with(&[(Thumbnail, Failed), (Metadata, Done)]).final_status(),
            Some(AssetStatus::Partial)
        );
        assert_eq!(
            asset_with(&[(Thumbnail, Failed), (Metadata, Failed)]).final_status(),
            Some(AssetStatus::Failed)
        );
        assert_eq!(asset_with(&[]).final_status(), None);
    }

    #[test]
    fn audio_gets_the_ffmpeg_jobs_of_video_and_unknown_bytes_none() {
        use JobKind::*;
        assert_eq!(JobKind::for_media(MediaKind::Image, false), [Thumbnail, Metadata]);
        assert_eq!(JobKind::for_media(MediaKind::Video, false), [Transcode, Metadata]);
        assert_eq!(JobKind::for_media(MediaKind::Audio, false), [Transcode, Metadata]);
        assert!(JobKind::for_media(MediaKind::Unknown, false).is_empty());
        // Moderation looks at pictures: images and videos, not audio or unknown bytes.
        assert_eq!(JobKind::for_media(MediaKind::Image, true), [Thumbnail, Metadata, Moderate]);
        assert_eq!(JobKind::for_media(MediaKind::Video, true), [Transcode, Metadata, Moderate]);
        assert_eq!(JobKind::for_media(MediaKind::Audio, true), [Transcode, Metadata]);
        assert!(JobKind::for_media(MediaKind::Unknown, true).is_empty());
    }
}

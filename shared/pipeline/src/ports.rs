//! The ports the use-cases run against: object storage, the asset repository, job queues, the
//! event bus and message sources. `aws-adapters` implements them on S3, DynamoDB, SQS and
//! EventBridge; `testing` (feature `testing`) implements them in memory.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cost::Cost;
use crate::error::PortError;
use crate::model::{Asset, AssetId, AssetStatus, Failure, JobKind, JobState};
use crate::sequencer::Sequencer;
use crate::time::Timestamp;
use crate::usage::Attempt;

/// What `HEAD` says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// ETag, as S3 reports it (quoted; not a checksum for multipart uploads).
    pub etag: Option<String>,
    /// Version id, when versioned.
    pub version_id: Option<String>,
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag, as the listing reports it.
    pub etag: Option<String>,
    /// When it was last written.
    pub last_modified: Timestamp,
}

/// Object storage (S3).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The object's size and tags, or `None` when it does not exist (any more).
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError>;
    /// The bytes in `range` (clamped to the object's end).
    async fn get_range(&self, bucket: &str, key: &str, range: Range<u64>) -> Result<Vec<u8>, PortError>;
    /// The whole object in memory.
    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError>;
    /// Streams the whole object into the file at `path`; returns its size.
    async fn download(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError>;
    /// Stores `body` under `key`.
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError>;
    /// Stores the file at `path` under `key` (multipart when large); returns its size.
    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<u64, PortError>;
    /// Deletes every object under `prefix`; returns how many.
    async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, PortError>;
    /// Sets the tag `name=value` on every object under `prefix` (replacing their tag sets);
    /// returns how many objects.
    async fn tag_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        name: &str,
        value: &str,
    ) -> Result<usize, PortError>;
    /// Up to `limit` objects of `bucket`, in key order.
    async fn list(&self, bucket: &str, limit: usize) -> Result<Vec<ListedObject>, PortError>;
}

/// Result of recording an upload or a removal.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The event is newer than what the table held: the asset now reflects it.
    Applied,
    /// The same event was recorded before (a duplicate delivery); the stored asset.
    Duplicate(Box<Asset>),
    /// The table already holds a newer event for this key: nothing changed.
    Stale,
}

/// Result of claiming a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This delivery holds the job until the lease ends; the asset as it is now.
    Claimed(Box<Asset>),
    /// The job already ended (a duplicate delivery); the asset as it is now.
    Finished(Box<Asset>),
    /// Another delivery holds the job until its lease ends at this time.
    Busy(Timestamp),
    /// The asset changed (re-uploaded or deleted) since the job was enqueued: acknowledge.
    Stale,
}

/// What a job's attempt produced, recorded by [`AssetRepository::finish_job`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobResult {
    /// The job's final state (`done` or `failed`).
    pub state: JobState,
    /// Metadata to store on the asset (metadata job).
    pub metadata: Option<serde_json::Value>,
    /// SHA-256 of the source bytes (metadata job).
    pub sha256: Option<String>,
    /// What moderation found (moderate job).
    pub moderation: Option<crate::moderation::Moderation>,
}

/// The assets table (DynamoDB). Every write of a job is conditional on the asset still being at
/// the sequencer the job was enqueued for, so a late job never overwrites a newer upload.
#[async_trait]
pub trait AssetRepository: Send + Sync {
    /// The asset with `id`.
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, PortError>;
    /// Stores a new upload's asset (status `received`, jobs pending) unless the table holds the
    /// same or a newer sequencer for it.
    async fn record_upload(&self, asset: &Asset) -> Result<Recorded, PortError>;
    /// Moves an asset from `received` to `processing` once its jobs are enqueued, recording the
    /// `ingest` attempt that did it.
    async fn mark_processing(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        ingest: &Attempt,
        now: Timestamp,
    ) -> Result<(), PortError>;
    /// Marks the asset `deleted` (status, sequencer and update time of `tombstone`) for a removal
    /// event newer than what the table holds; stores `tombstone` itself when there is no asset, so
    /// a late creation event for the removed object is recognised as stale.
    async fn record_removal(&self, tombstone: &Asset) -> Result<Recorded, PortError>;
    /// Claims `job` for the upload at `sequencer` until `lease_until`: succeeds when the job is
    /// pending, or running with a lease that has ended (`lease_until <= now`). Counts the attempt.
    async fn claim_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, PortError>;
    /// Writes a running job's progress (percent).
    async fn record_progress(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        percent: u8,
        now: Timestamp,
    ) -> Result<(), PortError>;
    /// Gives a claimed job back (status `pending`) after a retryable failure, or after sending it to
    /// worker mode (`sent_to_worker`), appending `attempt` to its history (and updating the
    /// asset at the attempt's end).
    async fn release_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        error: Option<&Failure>,
        sent_to_worker: bool,
        attempt: &Attempt,
    ) -> Result<(), PortError>;
    /// Records a job's end; returns the asset after the write, or `None` when the asset moved on to
    /// another upload (the result is then discarded).
    async fn finish_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        result: JobResult,
        now: Timestamp,
    ) -> Result<Option<Asset>, PortError>;
    /// Sets the final `status` and `cost` of the upload at `sequencer` and marks its completion
    /// event as published. Returns `false` when another call already did (so the event goes out
    /// once).
    async fn complete(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        status: AssetStatus,
        error: Option<&Failure>,
        cost: &Cost,
        now: Timestamp,
    ) -> Result<bool, PortError>;
    /// Splits a claimed job into `total` parts: the job stays `running`, held until `lease_until`
    /// (when the reconciler may plan it again), with its parts counted from none, or as they are
    /// when it was split before. Appends the splitting `attempt` to its history.
    async fn start_parts(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        total: u32,
        lease_until: Timestamp,
        attempt: &Attempt,
    ) -> Result<(), PortError>;
    /// Records part `index` of a split job as finished, once, with its `attempt`.
    async fn finish_part(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        index: u32,
        attempt: &Attempt,
    ) -> Result<PartRecorded, PortError>;
    /// Appends an `attempt` of a part that did not finish (retried, or sent to worker mode) to the
    /// split job's history.
    async fn record_part_attempt(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
    ) -> Result<(), PortError>;
    /// Claims the join of a split job whose parts have all finished, until `lease_until`. Busy while
    /// another delivery holds it, finished once the job ended.
    async fn claim_join(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, PortError>;
    /// Records that the completion event of the upload at `sequencer` was published (EventBridge
    /// accepted it), after [`complete`](AssetRepository::complete).
    async fn mark_published(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError>;
    /// Undoes [`complete`](AssetRepository::complete)'s mark when publishing the event failed, so
    /// the retry publishes it.
    async fn reopen_completion(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError>;
    /// Assets with `status`, most recently updated first.
    async fn list_by_status(&self, status: AssetStatus, limit: usize) -> Result<Vec<Asset>, PortError>;
    /// Up to `limit` assets with `status` last updated before `updated_before`, least recently
    /// updated first: what the reconciler looks at.
    async fn list_stale(
        &self,
        status: AssetStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Asset>, PortError>;
    /// Assets whose bytes have this SHA-256.
    async fn find_by_sha256(&self, sha256: &str) -> Result<Vec<AssetId>, PortError>;
}

/// The queues jobs are sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobQueueName {
    /// The queue of a job kind's function.
    Job(JobKind),
    /// Transcodes too long for Lambda, consumed by the transcode binary in worker mode.
    TranscodeLong,
}

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

/// Result of recording a finished part.
#[derive(Debug, Clone, PartialEq)]
pub enum PartRecorded {
    /// Recorded now; the parts as they are after the write.
    Recorded(crate::model::Segments),
    /// Recorded before (a duplicate delivery); the parts as they are.
    Duplicate(crate::model::Segments),
    /// The job ended, or the asset moved on to another upload: nothing to record.
    Stale,
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

/// Job queues (SQS).
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Sends `message` to `queue`.
    async fn send(&self, queue: JobQueueName, message: &JobMessage) -> Result<(), PortError>;
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

/// The event bus (EventBridge).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes `event` with source [`EVENT_SOURCE`].
    async fn publish(&self, event: &AssetEvent) -> Result<(), PortError>;
}

/// A message received from a queue in worker mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Message id.
    pub id: String,
    /// Receipt handle for delete and visibility changes.
    pub receipt: String,
    /// The body and what the queue says about it.
    pub delivery: crate::batch::Delivery,
}

/// A queue polled in worker mode (SQS).
#[async_trait]
pub trait MessageSource: Send + Sync {
    /// Long-polls for up to `max` messages, waiting up to `wait`.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, PortError>;
    /// Deletes a handled message.
    async fn delete(&self, receipt: &str) -> Result<(), PortError>;
    /// Keeps a message invisible for `timeout` from now (heartbeat of long jobs).
    async fn extend_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), PortError>;
    /// The queue's visibility timeout.
    async fn visibility_timeout(&self) -> Result<Duration, PortError>;
}

/// What runs an attempt: ingest, or one of the jobs; the `Job` dimension of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An upload's ingest.
    Ingest,
    /// A job.
    Job(JobKind),
}

impl Stage {
    /// `ingest`, or the job's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Job(job) => job.as_str(),
        }
    }
}

/// What one finished attempt (ingest or job) measured.
#[derive(Debug, Clone, PartialEq)]
pub struct JobMetrics {
    /// What ran.
    pub stage: Stage,
    /// `ok`, or the failure's code.
    pub outcome: String,
    /// Wall time of the attempt.
    pub duration_ms: u64,
    /// Bytes of the source object.
    pub bytes_in: u64,
    /// Bytes written to the derivatives bucket.
    pub bytes_out: u64,
    /// What the attempt cost (see [`crate::cost`]).
    pub cost_usd: f64,
}

/// Where job metrics go (CloudWatch Embedded Metric Format on AWS).
pub trait Metrics: Send + Sync {
    /// Records one finished attempt of ingest or a job (done, failed permanently, or failed and
    /// retried).
    fn job_finished(&self, metrics: &JobMetrics);
    /// Records what one reconciler run found and did.
    fn reconciled(&self, report: &crate::ReconcileReport);
}

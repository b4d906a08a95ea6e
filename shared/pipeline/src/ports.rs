//! The ports the use-cases run against: object storage, the assets table (one trait per role,
//! composed into [`AssetRepository`], as pict-rs's `FullRepo`), job queues, the event bus and
//! message sources. `aws-adapters` implements them on S3, DynamoDB, SQS and EventBridge;
//! `testing` (feature `testing`) implements them in memory. What travels through them (job
//! messages, completion events) is in [`crate::messages`].

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

use crate::cost::Cost;
use crate::error::PortError;
use crate::messages::{AssetEvent, JobMessage};
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

/// What a job's attempt produced, recorded by [`JobLeases::finish_job`].
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

/// Reading assets: the CLI's and the reconciler's view of the table.
#[async_trait]
pub trait AssetQueries: Send + Sync {
    /// The asset with `id`.
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, PortError>;
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

/// Recording what S3 said: uploads (and their move to processing once their jobs are sent) and
/// removals. Every write is conditional on the S3 event sequencer, so an older event never
/// overwrites a newer upload.
#[async_trait]
pub trait UploadRecords: Send + Sync {
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
}

/// A job's lease: claimed by one delivery at a time, given back or finished. Every write of a job
/// is conditional on the asset still being at the sequencer the job was enqueued for, so a late
/// job never overwrites a newer upload.
#[async_trait]
pub trait JobLeases: Send + Sync {
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
    /// Gives a claimed job back (status `pending`) after a retryable `failure`, appending `attempt`
    /// to its history (and updating the asset at the attempt's end).
    async fn retry_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        failure: &Failure,
        attempt: &Attempt,
    ) -> Result<(), PortError>;
    /// Gives a claimed job back (status `pending`) marked as sent to worker mode, appending
    /// `attempt` to its history.
    async fn hand_job_to_worker(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
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
}

/// A job split into parts that run at once, and their join.
#[async_trait]
pub trait SplitJobs: Send + Sync {
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
}

/// The completion outbox: an upload's final status is claimed once, its event published, then
/// marked published, so the event goes out once (at least once when a publisher dies).
#[async_trait]
pub trait Completions: Send + Sync {
    /// Sets the final `status` and `cost` of the upload at `sequencer` and claims its completion
    /// event; [`CompletionClaim::Refused`] when another call already did, or the upload is no
    /// longer the asset's (re-uploaded, deleted).
    async fn complete(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        status: AssetStatus,
        error: Option<&Failure>,
        cost: &Cost,
        now: Timestamp,
    ) -> Result<CompletionClaim, PortError>;
    /// Records that the completion event of the upload at `sequencer` was published (EventBridge
    /// accepted it), after [`complete`](Completions::complete).
    async fn mark_published(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError>;
    /// Undoes [`complete`](Completions::complete)'s claim when publishing the event failed, so
    /// the retry publishes it.
    async fn reopen_completion(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError>;
}

/// Whether a call claimed an upload's completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionClaim {
    /// This call did: it publishes the event.
    Claimed,
    /// Another call did before (the event is that call's to publish), or the upload is no longer
    /// current: nothing to publish.
    Refused,
}

/// The assets table (DynamoDB): every role at once, as the functions hold it. A use-case names the
/// roles it calls (their traits in scope); a test double may implement just those.
pub trait AssetRepository: AssetQueries + UploadRecords + JobLeases + SplitJobs + Completions {}

impl<T: AssetQueries + UploadRecords + JobLeases + SplitJobs + Completions + ?Sized> AssetRepository for T {}

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

/// The queues jobs are sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobQueueName {
    /// The queue of a job kind's function.
    Job(JobKind),
    /// Transcodes too long for Lambda, consumed by the transcode binary in worker mode.
    TranscodeLong,
}

/// Job queues (SQS).
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Sends `message` to `queue`.
    async fn send(&self, queue: JobQueueName, message: &JobMessage) -> Result<(), PortError>;
}

/// The event bus (EventBridge).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes `event` with source [`EVENT_SOURCE`](crate::messages::EVENT_SOURCE).
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
    /// How it ended.
    pub outcome: crate::usage::Outcome,
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

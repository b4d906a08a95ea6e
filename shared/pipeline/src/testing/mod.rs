//! In-memory implementations of every port, with the same conditional semantics as the AWS
//! adapters, for use-case tests (feature `testing`), and the use-case [`scenarios`] that prove the
//! two repositories agree.

pub mod scenarios;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use media_core::ImageDecoders;

use crate::cost::Cost;
use crate::error::{PortError, PortErrorKind};
use crate::messages::{AssetEvent, JobMessage};
use crate::model::{Asset, AssetId, AssetStatus, Failure, JobKind, JobState, JobStatus, Segments};
use crate::ports::{
    AssetQueries, AssetRepository, Claim, CompletionClaim, Completions, EventPublisher, JobLeases,
    JobMetrics, JobQueue, JobQueueName, JobResult, ListedObject, MessageSource, Metrics, ObjectInfo,
    ObjectStore, PartRecorded, ReceivedMessage, Recorded, SplitJobs, UploadRecords,
};
use crate::sequencer::Sequencer;
use crate::services::{Services, Settings};
use crate::time::{Clock, Timestamp};
use crate::usage::Attempt;
use crate::usecases::ReconcileReport;

/// The asset `id`, when its `job` is running for the upload at `sequencer`.
fn with_running_job<'a>(
    items: &'a mut HashMap<AssetId, Asset>,
    id: &AssetId,
    sequencer: &Sequencer,
    job: JobKind,
) -> Option<&'a mut Asset> {
    let asset = items.get_mut(id).filter(|asset| &asset.source.sequencer == sequencer)?;
    let running = asset.jobs.get(&job).is_some_and(|state| state.status == JobStatus::Running);
    (asset.status != AssetStatus::Deleted && running).then_some(asset)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Bucket and key.
type ObjectKey = (String, String);
/// Body and content type.
type StoredObject = (Vec<u8>, String);

/// Objects in memory, keyed by bucket and key.
#[derive(Default)]
pub struct MemoryObjectStore {
    objects: Mutex<BTreeMap<ObjectKey, StoredObject>>,
    /// Each object's tag set (replaced by `tag_prefix`, cleared by a new `put`, as in S3).
    tags: Mutex<BTreeMap<ObjectKey, Vec<(String, String)>>>,
    /// When set, every call fails as unavailable (to test retries).
    pub unavailable: std::sync::atomic::AtomicBool,
}

impl MemoryObjectStore {
    /// Stores an object (as an upload would).
    pub fn insert(&self, bucket: &str, key: &str, body: Vec<u8>) {
        lock(&self.objects).insert((bucket.into(), key.into()), (body, String::new()));
    }

    /// Removes an object.
    pub fn remove(&self, bucket: &str, key: &str) {
        lock(&self.objects).remove(&(bucket.to_owned(), key.to_owned()));
    }

    /// The object's bytes and content type.
    pub fn object(&self, bucket: &str, key: &str) -> Option<(Vec<u8>, String)> {
        lock(&self.objects).get(&(bucket.to_owned(), key.to_owned())).cloned()
    }

    /// The object's tags.
    pub fn tags(&self, bucket: &str, key: &str) -> Vec<(String, String)> {
        lock(&self.tags).get(&(bucket.to_owned(), key.to_owned())).cloned().unwrap_or_default()
    }

    /// Keys in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        lock(&self.objects).keys().filter(|(b, _)| b == bucket).map(|(_, key)| key.clone()).collect()
    }

    fn check(&self, operation: &'static str) -> Result<(), PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new(operation, PortErrorKind::Unavailable, "503 Slow Down"));
        }
        Ok(())
    }

    fn body(&self, operation: &'static str, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        self.check(operation)?;
        self.object(bucket, key)
            .map(|(body, _)| body)
            .ok_or_else(|| PortError::new(operation, PortErrorKind::NotFound, format!("no object {key}")))
    }
}

#[async_trait]
impl ObjectStore for MemoryObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        self.check("s3:HeadObject")?;
        Ok(self.object(bucket, key).map(|(body, _)| ObjectInfo {
            size: body.len() as u64,
            etag: Some(format!("\"{}\"", body.len())),
            version_id: None,
        }))
    }

    async fn get_range(&self, bucket: &str, key: &str, range: Range<u64>) -> Result<Vec<u8>, PortError> {
        let body = self.body("s3:GetObject", bucket, key)?;
        let end = (range.end as usize).min(body.len());
        Ok(body[(range.start as usize).min(end)..end].to_vec())
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        self.body("s3:GetObject", bucket, key)
    }

    async fn download(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let body = self.body("s3:GetObject", bucket, key)?;
        std::fs::write(path, &body)
            .map_err(|error| PortError::new("s3:GetObject", PortErrorKind::Unavailable, error.to_string()))?;
        Ok(body.len() as u64)
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        self.check("s3:PutObject")?;
        lock(&self.objects).insert((bucket.into(), key.into()), (body, content_type.into()));
        lock(&self.tags).remove(&(bucket.to_owned(), key.to_owned()));
        Ok(())
    }

    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<u64, PortError> {
        let body = std::fs::read(path)
            .map_err(|error| PortError::new("s3:PutObject", PortErrorKind::LocalIo, error.to_string()))?;
        let size = body.len() as u64;
        self.put(bucket, key, body, content_type).await?;
        Ok(size)
    }

    async fn list(&self, bucket: &str, limit: usize) -> Result<Vec<ListedObject>, PortError> {
        self.check("s3:ListObjectsV2")?;
        let objects = lock(&self.objects);
        let listed = objects.iter().filter(|((b, _), _)| b == bucket).take(limit);
        Ok(listed
            .map(|((_, key), (body, _))| ListedObject {
                key: key.clone(),
                size: body.len() as u64,
                etag: None,
                // Every object in memory was written when the manual clock started.
                last_modified: ManualClock::default().now(),
            })
            .collect())
    }

    async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, PortError> {
        self.check("s3:DeleteObjects")?;
        let mut objects = lock(&self.objects);
        let before = objects.len();
        objects.retain(|(b, key), _| !(b == bucket && key.starts_with(prefix)));
        Ok(before - objects.len())
    }

    async fn tag_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        name: &str,
        value: &str,
    ) -> Result<usize, PortError> {
        self.check("s3:PutObjectTagging")?;
        let keys: Vec<ObjectKey> = lock(&self.objects)
            .keys()
            .filter(|(b, key)| b == bucket && key.starts_with(prefix))
            .cloned()
            .collect();
        let mut tags = lock(&self.tags);
        for key in &keys {
            tags.insert(key.clone(), vec![(name.to_owned(), value.to_owned())]);
        }
        Ok(keys.len())
    }
}

/// The assets table in memory, with the DynamoDB adapter's conditions.
#[derive(Default)]
pub struct MemoryAssetRepository {
    items: Mutex<HashMap<AssetId, Asset>>,
}

impl MemoryAssetRepository {
    /// Gives a running job of the upload at `sequencer` back (status `pending`, no lease),
    /// appending `attempt`, with what `mark` adds; nothing when the job is not running there.
    fn release_running_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
        mark: impl FnOnce(&mut JobState),
    ) {
        let mut items = lock(&self.items);
        if let Some(asset) = items.get_mut(id).filter(|asset| &asset.source.sequencer == sequencer)
            && let Some(state) = asset.jobs.get_mut(&job).filter(|state| state.status == JobStatus::Running)
        {
            state.status = JobStatus::Pending;
            state.lease_until = None;
            mark(state);
            state.history.push(attempt.clone());
            asset.updated_at = attempt.ended_at;
        }
    }

    /// A copy of every asset.
    pub fn all(&self) -> Vec<Asset> {
        lock(&self.items).values().cloned().collect()
    }
}

#[async_trait]
impl AssetQueries for MemoryAssetRepository {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, PortError> {
        Ok(lock(&self.items).get(id).cloned())
    }

    async fn list_by_status(&self, status: AssetStatus, limit: usize) -> Result<Vec<Asset>, PortError> {
        let mut assets: Vec<Asset> =
            lock(&self.items).values().filter(|a| a.status == status).cloned().collect();
        assets.sort_by_key(|asset| std::cmp::Reverse(asset.updated_at));
        assets.truncate(limit);
        Ok(assets)
    }

    async fn list_stale(
        &self,
        status: AssetStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Asset>, PortError> {
        let mut assets: Vec<Asset> = lock(&self.items)
            .values()
            .filter(|a| a.status == status && a.updated_at < updated_before)
            .cloned()
            .collect();
        assets.sort_by_key(|asset| asset.updated_at);
        assets.truncate(limit);
        Ok(assets)
    }

    async fn find_by_sha256(&self, sha256: &str) -> Result<Vec<AssetId>, PortError> {
        let mut ids: Vec<AssetId> = lock(&self.items)
            .values()
            .filter(|a| a.sha256.as_deref() == Some(sha256))
            .map(|a| a.id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

#[async_trait]
impl UploadRecords for MemoryAssetRepository {
    async fn record_upload(&self, asset: &Asset) -> Result<Recorded, PortError> {
        let mut items = lock(&self.items);
        match items.get(&asset.id) {
            Some(stored) if stored.source.sequencer == asset.source.sequencer => {
                Ok(Recorded::Duplicate(Box::new(stored.clone())))
            }
            Some(stored) if stored.source.sequencer > asset.source.sequencer => Ok(Recorded::Stale),
            stored => {
                let mut asset = asset.clone();
                if let Some(stored) = stored {
                    asset.created_at = stored.created_at;
                }
                items.insert(asset.id.clone(), asset);
                Ok(Recorded::Applied)
            }
        }
    }

    async fn mark_processing(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        ingest: &Attempt,
        now: Timestamp,
    ) -> Result<(), PortError> {
        let mut items = lock(&self.items);
        if let Some(asset) = items.get_mut(id)
            && &asset.source.sequencer == sequencer
            && asset.status == AssetStatus::Received
        {
            asset.status = AssetStatus::Processing;
            asset.ingest = Some(ingest.clone());
            asset.updated_at = now;
        }
        Ok(())
    }

    async fn record_removal(&self, tombstone: &Asset) -> Result<Recorded, PortError> {
        let mut items = lock(&self.items);
        match items.get_mut(&tombstone.id) {
            None => {
                items.insert(tombstone.id.clone(), tombstone.clone());
                Ok(Recorded::Applied)
            }
            Some(stored) if stored.source.sequencer == tombstone.source.sequencer => {
                Ok(Recorded::Duplicate(Box::new(stored.clone())))
            }
            Some(stored) if stored.source.sequencer > tombstone.source.sequencer => Ok(Recorded::Stale),
            Some(stored) => {
                stored.status = AssetStatus::Deleted;
                stored.source.sequencer = tombstone.source.sequencer.clone();
                stored.updated_at = tombstone.updated_at;
                Ok(Recorded::Applied)
            }
        }
    }
}

#[async_trait]
impl JobLeases for MemoryAssetRepository {
    async fn claim_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, PortError> {
        let mut items = lock(&self.items);
        let Some(asset) = items.get_mut(id) else { return Ok(Claim::Stale) };
        if &asset.source.sequencer != sequencer || asset.status == AssetStatus::Deleted {
            return Ok(Claim::Stale);
        }
        let Some(state) = asset.jobs.get_mut(&job) else { return Ok(Claim::Stale) };
        match state.status {
            JobStatus::Done | JobStatus::Failed => return Ok(Claim::Finished(Box::new(asset.clone()))),
            JobStatus::Running | JobStatus::Pending => {}
        }
        if let Some(lease) =
            state.lease_until.filter(|lease| *lease > now && state.status == JobStatus::Running)
        {
            return Ok(Claim::Busy(lease));
        }
        state.status = JobStatus::Running;
        state.attempts += 1;
        state.started_at = Some(now);
        state.lease_until = Some(lease_until);
        asset.updated_at = now;
        Ok(Claim::Claimed(Box::new(asset.clone())))
    }

    async fn record_progress(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        percent: u8,
        now: Timestamp,
    ) -> Result<(), PortError> {
        let mut items = lock(&self.items);
        if let Some(asset) = items.get_mut(id).filter(|asset| &asset.source.sequencer == sequencer)
            && let Some(state) = asset.jobs.get_mut(&job).filter(|state| state.status == JobStatus::Running)
        {
            state.progress_percent = Some(percent);
            asset.updated_at = now;
        }
        Ok(())
    }

    async fn retry_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        failure: &Failure,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        self.release_running_job(id, sequencer, job, attempt, |state| state.error = Some(failure.clone()));
        Ok(())
    }

    async fn hand_job_to_worker(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        self.release_running_job(id, sequencer, job, attempt, |state| state.sent_to_worker = true);
        Ok(())
    }

    async fn finish_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        result: JobResult,
        now: Timestamp,
    ) -> Result<Option<Asset>, PortError> {
        let mut items = lock(&self.items);
        let Some(asset) = items.get_mut(id) else { return Ok(None) };
        if &asset.source.sequencer != sequencer || asset.status == AssetStatus::Deleted {
            return Ok(None);
        }
        let Some(state) = asset.jobs.get_mut(&job) else { return Ok(None) };
        let sent_to_worker = state.sent_to_worker;
        *state = JobState { sent_to_worker, ..result.state };
        if let Some(metadata) = result.metadata {
            asset.metadata = Some(metadata);
        }
        if let Some(sha256) = result.sha256 {
            asset.sha256 = Some(sha256);
        }
        if let Some(moderation) = result.moderation {
            asset.moderation = Some(moderation);
        }
        asset.updated_at = now;
        Ok(Some(asset.clone()))
    }
}

#[async_trait]
impl SplitJobs for MemoryAssetRepository {
    async fn start_parts(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        total: u32,
        lease_until: Timestamp,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        let mut items = lock(&self.items);
        if let Some(asset) = with_running_job(&mut items, id, sequencer, job)
            && let Some(state) = asset.jobs.get_mut(&job)
        {
            state.segments.get_or_insert_with(|| Segments::new(total));
            state.lease_until = Some(lease_until);
            state.history.push(attempt.clone());
            asset.updated_at = attempt.ended_at;
        }
        Ok(())
    }

    async fn finish_part(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        index: u32,
        attempt: &Attempt,
    ) -> Result<PartRecorded, PortError> {
        let mut items = lock(&self.items);
        let Some(asset) = with_running_job(&mut items, id, sequencer, job) else {
            return Ok(PartRecorded::Stale);
        };
        let Some(state) = asset.jobs.get_mut(&job) else { return Ok(PartRecorded::Stale) };
        let Some(segments) = state.segments.as_mut() else { return Ok(PartRecorded::Stale) };
        if segments.is_done(index) {
            return Ok(PartRecorded::Duplicate(segments.clone()));
        }
        segments.parts.insert(index.to_string(), attempt.ended_at);
        segments.done += 1;
        let recorded = segments.clone();
        state.history.push(attempt.clone());
        asset.updated_at = attempt.ended_at;
        Ok(PartRecorded::Recorded(recorded))
    }

    async fn record_part_attempt(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        let mut items = lock(&self.items);
        if let Some(asset) = with_running_job(&mut items, id, sequencer, job)
            && let Some(state) = asset.jobs.get_mut(&job)
        {
            state.history.push(attempt.clone());
            asset.updated_at = attempt.ended_at;
        }
        Ok(())
    }

    async fn claim_join(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, PortError> {
        let mut items = lock(&self.items);
        let Some(asset) = items.get_mut(id) else { return Ok(Claim::Stale) };
        if &asset.source.sequencer != sequencer || asset.status == AssetStatus::Deleted {
            return Ok(Claim::Stale);
        }
        let Some(state) = asset.jobs.get_mut(&job) else { return Ok(Claim::Stale) };
        if state.status.is_final() {
            return Ok(Claim::Finished(Box::new(asset.clone())));
        }
        let Some(segments) = state
            .segments
            .as_mut()
            .filter(|segments| state.status == JobStatus::Running && segments.all_done())
        else {
            return Ok(Claim::Stale);
        };
        if let Some(lease) = segments.join_lease_until.filter(|lease| *lease > now) {
            return Ok(Claim::Busy(lease));
        }
        segments.join_lease_until = Some(lease_until);
        asset.updated_at = now;
        Ok(Claim::Claimed(Box::new(asset.clone())))
    }
}

#[async_trait]
impl Completions for MemoryAssetRepository {
    async fn complete(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        status: AssetStatus,
        error: Option<&Failure>,
        cost: &Cost,
        now: Timestamp,
    ) -> Result<CompletionClaim, PortError> {
        let mut items = lock(&self.items);
        let Some(asset) = items.get_mut(id) else { return Ok(CompletionClaim::Refused) };
        if &asset.source.sequencer != sequencer
            || asset.status == AssetStatus::Deleted
            || asset.completed_sequencer.as_ref() == Some(sequencer)
        {
            return Ok(CompletionClaim::Refused);
        }
        asset.status = status;
        asset.error = error.cloned();
        asset.completed_sequencer = Some(sequencer.clone());
        asset.cost = Some(*cost);
        asset.completed_at = Some(now);
        asset.updated_at = now;
        Ok(CompletionClaim::Claimed)
    }

    async fn mark_published(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError> {
        let mut items = lock(&self.items);
        if let Some(asset) =
            items.get_mut(id).filter(|asset| asset.completed_sequencer.as_ref() == Some(sequencer))
        {
            asset.published_sequencer = Some(sequencer.clone());
        }
        Ok(())
    }

    async fn reopen_completion(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError> {
        let mut items = lock(&self.items);
        if let Some(asset) =
            items.get_mut(id).filter(|asset| asset.completed_sequencer.as_ref() == Some(sequencer))
        {
            asset.completed_sequencer = None;
        }
        Ok(())
    }
}

/// Job queues in memory.
#[derive(Default)]
pub struct MemoryJobQueue {
    sent: Mutex<VecDeque<(JobQueueName, JobMessage)>>,
    /// When set, sending fails as unavailable (an ingest that dies before its jobs are sent).
    pub unavailable: std::sync::atomic::AtomicBool,
}

impl MemoryJobQueue {
    /// Takes every message sent so far, in order.
    pub fn drain(&self) -> Vec<(JobQueueName, JobMessage)> {
        lock(&self.sent).drain(..).collect()
    }
}

#[async_trait]
impl JobQueue for MemoryJobQueue {
    async fn send(&self, queue: JobQueueName, message: &JobMessage) -> Result<(), PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new("sqs:SendMessage", PortErrorKind::Unavailable, "503"));
        }
        lock(&self.sent).push_back((queue, message.clone()));
        Ok(())
    }
}

/// Published events in memory.
#[derive(Default)]
pub struct MemoryEventPublisher {
    events: Mutex<Vec<AssetEvent>>,
    /// When set, publishing fails as unavailable (to test the republish of a completion event).
    pub unavailable: std::sync::atomic::AtomicBool,
    /// When set, publishing never returns: drop the handler's future (a timeout) and its process
    /// has died in the middle of publishing.
    pub hangs: std::sync::atomic::AtomicBool,
}

impl MemoryEventPublisher {
    /// Every event published so far.
    pub fn events(&self) -> Vec<AssetEvent> {
        lock(&self.events).clone()
    }
}

#[async_trait]
impl EventPublisher for MemoryEventPublisher {
    async fn publish(&self, event: &AssetEvent) -> Result<(), PortError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PortError::new("events:PutEvents", PortErrorKind::Unavailable, "503"));
        }
        if self.hangs.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        lock(&self.events).push(event.clone());
        Ok(())
    }
}

/// Job metrics and reconciler reports in memory.
#[derive(Default)]
pub struct MemoryMetrics {
    recorded: Mutex<Vec<JobMetrics>>,
    reconciled: Mutex<Vec<ReconcileReport>>,
}

impl MemoryMetrics {
    /// Every job record so far.
    pub fn recorded(&self) -> Vec<JobMetrics> {
        lock(&self.recorded).clone()
    }

    /// Every reconciler report so far.
    pub fn reconciled(&self) -> Vec<ReconcileReport> {
        lock(&self.reconciled).clone()
    }
}

impl Metrics for MemoryMetrics {
    fn job_finished(&self, metrics: &JobMetrics) {
        lock(&self.recorded).push(metrics.clone());
    }

    fn reconciled(&self, report: &ReconcileReport) {
        lock(&self.reconciled).push(report.clone());
    }
}

/// A clock that moves only when told.
#[derive(Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000 + self.0.load(Ordering::SeqCst))
    }
}

/// A queue in memory for worker-mode tests: messages, deletions and visibility extensions.
#[derive(Default)]
pub struct MemoryMessageSource {
    pending: Mutex<VecDeque<ReceivedMessage>>,
    /// Receipts deleted.
    pub deleted: Mutex<Vec<String>>,
    /// Receipts whose visibility was extended, with the new timeout.
    pub extended: Mutex<Vec<(String, Duration)>>,
}

impl MemoryMessageSource {
    /// Queues a message with `body`.
    pub fn push(&self, body: &str) {
        let mut pending = lock(&self.pending);
        let id = format!("m{}", pending.len() + lock(&self.deleted).len());
        pending.push_back(ReceivedMessage {
            receipt: format!("r-{id}"),
            id,
            delivery: crate::batch::Delivery::of(body),
        });
    }
}

#[async_trait]
impl MessageSource for MemoryMessageSource {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, PortError> {
        let taken: Vec<ReceivedMessage> = {
            let mut pending = lock(&self.pending);
            let count = max.min(pending.len());
            pending.drain(..count).collect()
        };
        if taken.is_empty() {
            tokio::time::sleep(wait.min(Duration::from_millis(50))).await;
        }
        Ok(taken)
    }

    async fn delete(&self, receipt: &str) -> Result<(), PortError> {
        lock(&self.deleted).push(receipt.into());
        Ok(())
    }

    async fn extend_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), PortError> {
        lock(&self.extended).push((receipt.into(), timeout));
        Ok(())
    }

    async fn visibility_timeout(&self) -> Result<Duration, PortError> {
        Ok(Duration::from_secs(2))
    }
}

/// A classifier for the use-case tests: every picture gets the label `nsfw` at the confidence
/// set last, and the size of each picture it was handed is kept. The real classifiers are tested
/// in their own crates (`moderation-local` against onnxruntime, the Rekognition adapter against
/// recorded responses).
pub struct FixedClassifier {
    /// The confidence of the `nsfw` label of every picture from now on.
    pub confidence: Mutex<f32>,
    /// The size of every picture classified.
    pub seen: Mutex<Vec<(u32, u32)>>,
}

impl FixedClassifier {
    /// A classifier answering `confidence`.
    pub fn new(confidence: f32) -> FixedClassifier {
        FixedClassifier { confidence: Mutex::new(confidence), seen: Mutex::new(Vec::new()) }
    }
}

#[async_trait]
impl crate::moderation::Classifier for FixedClassifier {
    fn provider(&self) -> crate::moderation::ModerationProvider {
        crate::moderation::ModerationProvider::Local
    }

    fn model(&self) -> crate::moderation::ModerationModel {
        crate::moderation::ModerationModel { name: "fixed".into(), sha256: None }
    }

    fn input_box(&self) -> u32 {
        256
    }

    async fn classify(
        &self,
        image: image::RgbImage,
    ) -> Result<Vec<crate::moderation::ModerationLabel>, crate::JobError> {
        lock(&self.seen).push(image.dimensions());
        let confidence = *lock(&self.confidence);
        Ok(vec![crate::moderation::ModerationLabel { name: "nsfw".into(), confidence }])
    }
}

/// Every port in memory except, optionally, the assets table: [`MemoryPipeline::new`] keeps it in
/// memory too, [`MemoryPipeline::with_repository`] takes a real one (DynamoDB Local in
/// `aws-adapters`' tests) so the same scenarios run on both.
pub struct MemoryPipeline<R = MemoryAssetRepository> {
    /// The uploads and derivatives buckets.
    pub objects: Arc<MemoryObjectStore>,
    /// The assets table.
    pub assets: Arc<R>,
    /// What was sent to the job queues, until drained.
    pub queue: Arc<MemoryJobQueue>,
    /// Event bus.
    pub events: Arc<MemoryEventPublisher>,
    /// The clock the use-cases read; moves only when advanced.
    pub clock: Arc<ManualClock>,
    /// Job metrics and reconciler reports recorded.
    pub metrics: Arc<MemoryMetrics>,
    /// The services over these ports.
    pub services: Services,
}

impl MemoryPipeline {
    /// A pipeline writing derivatives to bucket `derivatives`, with `settings` adjusted by `adjust`.
    pub fn new(adjust: impl FnOnce(&mut Settings)) -> MemoryPipeline {
        MemoryPipeline::with_repository(Arc::new(MemoryAssetRepository::default()), adjust)
    }
}

impl<R: AssetRepository + 'static> MemoryPipeline<R> {
    /// The same pipeline over the assets table `assets`.
    pub fn with_repository(assets: Arc<R>, adjust: impl FnOnce(&mut Settings)) -> MemoryPipeline<R> {
        let mut settings = Settings::new("derivatives");
        adjust(&mut settings);
        let objects = Arc::new(MemoryObjectStore::default());
        let queue = Arc::new(MemoryJobQueue::default());
        let events = Arc::new(MemoryEventPublisher::default());
        let clock = Arc::new(ManualClock::default());
        let metrics = Arc::new(MemoryMetrics::default());
        let services = Services {
            objects: objects.clone(),
            assets: assets.clone(),
            queue: queue.clone(),
            events: events.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            settings: Arc::new(settings),
            video: None,
            images: ImageDecoders::default(),
            classifier: None,
        };
        MemoryPipeline { objects, assets, queue, events, clock, metrics, services }
    }

    /// Runs every queued job message through its handler until the queues are empty, as the job
    /// functions would; returns the messages it ran. Panics on a job that fails.
    pub async fn run_queued_jobs(&self) -> Vec<JobMessage> {
        let mut ran = Vec::new();
        loop {
            let sent = self.queue.drain();
            if sent.is_empty() {
                return ran;
            }
            for (queue, message) in sent {
                let JobQueueName::Job(kind) = queue else { continue };
                let body = serde_json::to_string(&message).expect("a job message serialises");
                let handled =
                    crate::handle_job_message(&self.services, kind, &crate::batch::Delivery::of(body), None)
                        .await;
                if let Err(error) = handled {
                    panic!("{kind} job failed: {error}");
                }
                ran.push(message);
            }
        }
    }

    /// The asset of `key` in `bucket`, as the table holds it now. Panics when there is none.
    pub async fn asset(&self, bucket: &str, key: &str) -> Asset {
        let id = AssetId::for_object(bucket, key);
        match self.assets.get(&id).await {
            Ok(Some(asset)) => asset,
            other => panic!("no asset for {bucket}/{key}: {other:?}"),
        }
    }

    /// The same pipeline with `classifier` moderating.
    pub fn with_classifier(
        mut self,
        classifier: Arc<dyn crate::moderation::Classifier>,
    ) -> MemoryPipeline<R> {
        self.services.classifier = Some(classifier);
        self
    }

    /// The same pipeline with `video` running the video jobs.
    pub fn with_video(mut self, video: Arc<dyn crate::VideoJobs>) -> MemoryPipeline<R> {
        self.services.video = Some(video);
        self
    }
}

/// What ingest gets from an S3 notification of `change` (`ObjectCreated:Put`, `ObjectRemoved:Delete`,
/// ...) on one object, as the `runtime` crate parses it.
pub fn object_event(
    change: &str,
    bucket: &str,
    key: &str,
    sequencer: &str,
) -> crate::s3_event::IngestMessage {
    use crate::s3_event::{IngestMessage, ObjectChange, ObjectEvent};
    let event_time = Timestamp::parse_rfc3339("2024-05-01T12:00:00.000Z");
    let change =
        if change.starts_with("ObjectRemoved:") { ObjectChange::Removed } else { ObjectChange::Created };
    IngestMessage::Objects(vec![ObjectEvent {
        change,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: Some(1),
        etag: None,
        version_id: None,
        sequencer: crate::Sequencer::from_event(Some(sequencer), event_time),
        event_time,
    }])
}

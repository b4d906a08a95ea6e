//! The reconciler: a scheduled sweep that catches what events missed. Delivery is at least once,
//! but a message can still run out of receives (a process killed on each of them), an ingest can
//! die between recording an upload and sending its jobs, and S3 documents that concurrent writes
//! to one key can yield a single notification. Each run:
//!
//! 1. sends again the jobs of uploads left `received` (ingest died before sending them);
//! 2. for uploads left `processing`: sends again each job that is `pending` (unless it waits for a
//!    worker-mode consumer) or whose lease ended, and completes the upload when its jobs are all
//!    final but nobody completed it;
//! 3. ingests the objects of the uploads bucket that have no asset at all.
//!
//! Only what has been stuck for `stuck_after` is touched, so a run never races the normal path;
//! everything it sends is idempotent (a job claimed or finished meanwhile answers busy or
//! finished). Each run is bounded (`max_assets` per status, `max_objects` listed); the report says
//! when a bound was hit.

use std::time::Duration;

use serde::Serialize;
use tracing::{Instrument, info, info_span, warn};

use crate::config::{ConfigError, parse_duration, parse_number};
use crate::error::JobError;
use crate::messages::JobMessage;
use crate::model::{Asset, AssetId, AssetStatus, JobStatus};
use crate::ports::{JobQueueName, ListedObject};
use crate::s3_event::{ObjectChange, ObjectEvent};
use crate::sequencer::Sequencer;
use crate::services::Services;
use crate::time::Timestamp;
use crate::usecases::completion::complete_asset;
use crate::usecases::ingest::{ingest_upload, start_jobs};

/// What the reconciler looks at and how far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSettings {
    /// The bucket whose objects must all have an asset.
    pub uploads_bucket: String,
    /// How long an upload, a job or an object must have been left alone to count as stuck.
    pub stuck_after: Duration,
    /// Assets examined per status and run.
    pub max_assets: usize,
    /// Objects listed per run.
    pub max_objects: usize,
    /// A job with this many attempts is not sent again: its message went to the dead-letter queue
    /// that many times over, which takes a fix and a redrive (`mediaflow dlq redrive`), not a retry.
    pub max_attempts: u32,
}

impl ReconcileSettings {
    /// Defaults for `uploads_bucket`: stuck after 15 minutes, 500 assets per status, 10 000 objects,
    /// 6 attempts (two trips through a queue with MaxReceiveCount 3).
    pub fn new(uploads_bucket: impl Into<String>) -> ReconcileSettings {
        ReconcileSettings {
            uploads_bucket: uploads_bucket.into(),
            stuck_after: Duration::from_secs(15 * 60),
            max_assets: 500,
            max_objects: 10_000,
            max_attempts: 6,
        }
    }

    /// The defaults adjusted by `MEDIAFLOW_RECONCILE_STUCK_AFTER` (`15m`, `90s`),
    /// `MEDIAFLOW_RECONCILE_MAX_ASSETS`, `MEDIAFLOW_RECONCILE_MAX_OBJECTS` and
    /// `MEDIAFLOW_RECONCILE_MAX_ATTEMPTS`, read through `lookup`.
    pub fn from_lookup(
        uploads_bucket: impl Into<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ReconcileSettings, ConfigError> {
        let mut settings = ReconcileSettings::new(uploads_bucket);
        if let Some(value) = lookup("MEDIAFLOW_RECONCILE_STUCK_AFTER") {
            settings.stuck_after = parse_duration("MEDIAFLOW_RECONCILE_STUCK_AFTER", &value)?;
        }
        if let Some(value) = lookup("MEDIAFLOW_RECONCILE_MAX_ASSETS") {
            settings.max_assets = parse_number("MEDIAFLOW_RECONCILE_MAX_ASSETS", &value)?;
        }
        if let Some(value) = lookup("MEDIAFLOW_RECONCILE_MAX_OBJECTS") {
            settings.max_objects = parse_number("MEDIAFLOW_RECONCILE_MAX_OBJECTS", &value)?;
        }
        if let Some(value) = lookup("MEDIAFLOW_RECONCILE_MAX_ATTEMPTS") {
            settings.max_attempts = parse_number("MEDIAFLOW_RECONCILE_MAX_ATTEMPTS", &value)?;
        }
        Ok(settings)
    }
}

/// What one run found and did; every action is also logged with its asset id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Assets examined (`received` and `processing` ones stuck past `stuck_after`).
    pub assets_checked: u64,
    /// Objects listed in the uploads bucket.
    pub objects_checked: u64,
    /// Job messages sent again.
    pub jobs_requeued: u64,
    /// Uploads whose jobs were all final and that were completed (status and event) now.
    pub uploads_completed: u64,
    /// Objects without an asset that were ingested.
    pub uploads_ingested: u64,
    /// Stuck jobs left alone because they reached `max_attempts` (see the dead-letter queues).
    pub jobs_given_up: u64,
    /// Assets or objects whose recovery failed (a service error, logged with the asset id); the
    /// next run tries them again.
    pub errors: u64,
    /// A bound was hit: the next run continues.
    pub truncated: bool,
}

impl ReconcileReport {
    /// Whether the run changed anything.
    pub fn acted(&self) -> bool {
        self.jobs_requeued + self.uploads_completed + self.uploads_ingested > 0
    }
}

/// One reconciler run.
pub async fn reconcile(
    services: &Services,
    settings: &ReconcileSettings,
) -> Result<ReconcileReport, JobError> {
    let now = services.clock.now();
    let cutoff = now.minus(settings.stuck_after);
    let mut report = ReconcileReport::default();
    for status in [AssetStatus::Received, AssetStatus::Processing] {
        let assets = services.assets.list_stale(status, cutoff, settings.max_assets).await?;
        report.truncated |= assets.len() >= settings.max_assets;
        for asset in assets {
            report.assets_checked += 1;
            let span = info_span!("reconcile", asset_id = %asset.id, key = %asset.source.key);
            let recovered = recover_asset(services, settings, &asset, now, &mut report);
            if let Err(error) = recovered.instrument(span.clone()).await {
                warn!(parent: &span, %error, code = %error.code(), "could not recover this asset; next run");
                report.errors += 1;
            }
        }
    }
    let bucket = &settings.uploads_bucket;
    let objects = services.objects.list(bucket, settings.max_objects).await?;
    report.truncated |= objects.len() >= settings.max_objects;
    for object in objects {
        report.objects_checked += 1;
        if object.last_modified > cutoff {
            continue;
        }
        let id = AssetId::for_object(bucket, &object.key);
        let span = info_span!("reconcile", asset_id = %id, key = %object.key);
        let ingested = async {
            if services.assets.get(&id).await?.is_some() {
                return Ok(false);
            }
            info!("an upload without an asset (its notification never came): ingesting it");
            ingest_upload(services, &unnotified_upload(bucket, object), None).await.map(|()| true)
        };
        match ingested.instrument(span.clone()).await {
            Ok(ingested) => report.uploads_ingested += u64::from(ingested),
            Err(error) => {
                warn!(parent: &span, %error, code = %error.code(), "could not ingest this upload; next run");
                report.errors += 1;
            }
        }
    }
    services.metrics.reconciled(&report);
    info!(
        assets_checked = report.assets_checked,
        objects_checked = report.objects_checked,
        jobs_requeued = report.jobs_requeued,
        uploads_completed = report.uploads_completed,
        uploads_ingested = report.uploads_ingested,
        jobs_given_up = report.jobs_given_up,
        errors = report.errors,
        truncated = report.truncated,
        "reconciled"
    );
    Ok(report)
}

async fn recover_asset(
    services: &Services,
    settings: &ReconcileSettings,
    asset: &Asset,
    now: Timestamp,
    report: &mut ReconcileReport,
) -> Result<(), JobError> {
    if asset.status == AssetStatus::Received {
        info!("recorded but its jobs were never sent: sending them");
        start_jobs(services, asset).await?;
        report.jobs_requeued += asset.jobs.len() as u64;
        return Ok(());
    }
    let completed = asset.completed_sequencer.as_ref() == Some(&asset.source.sequencer);
    if let Some(status) = asset.final_status().filter(|_| !completed) {
        info!(%status, "every job ended but the upload was never completed: completing it");
        complete_asset(services, asset, status).await?;
        report.uploads_completed += 1;
        return Ok(());
    }
    for (&job, state) in &asset.jobs {
        let stuck = match state.status {
            // Handed to worker mode: it waits for a worker, however long the backlog; a failed
            // one is in the long queue's dead-letter queue.
            JobStatus::Pending if state.sent_to_worker => false,
            // The asset has not changed for `stuck_after`, so neither has this job.
            JobStatus::Pending => true,
            // Its holder died (or is about to lose the lease anyway).
            JobStatus::Running => state.lease_until.is_none_or(|lease| lease <= now),
            JobStatus::Done | JobStatus::Failed => false,
        };
        if !stuck {
            continue;
        }
        if state.attempts >= settings.max_attempts {
            warn!(%job, attempts = state.attempts, "stuck job left for its dead-letter queue: redrive it after a fix");
            report.jobs_given_up += 1;
            continue;
        }
        let queue = if state.sent_to_worker { JobQueueName::TranscodeLong } else { JobQueueName::Job(job) };
        info!(%job, status = ?state.status, attempts = state.attempts, "stuck job: sending it again");
        services.queue.send(queue, &JobMessage::for_job(asset, job)).await?;
        report.jobs_requeued += 1;
    }
    Ok(())
}

/// The creation event S3 did not send. Its sequencer has no S3 part, so any real event of the key
/// orders after it: a late notification of this upload, or of a newer one, is processed, and a
/// removal wins.
fn unnotified_upload(bucket: &str, object: ListedObject) -> ObjectEvent {
    ObjectEvent {
        change: ObjectChange::Created,
        bucket: bucket.to_owned(),
        key: object.key,
        size: Some(object.size),
        etag: object.etag,
        version_id: None,
        sequencer: Sequencer::from_event(None, Some(object.last_modified)),
        event_time: Some(object.last_modified),
    }
}

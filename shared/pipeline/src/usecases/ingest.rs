//! Ingest: turn an S3 event into an asset record and its jobs.

use media_core::{MediaKind, sniff};
use tracing::{Instrument, info, warn};

use crate::batch::Delivery;
use crate::error::JobError;
use crate::model::{Asset, AssetId, AssetStatus, Failure, JobKind, JobState, SourceObject};
use crate::ports::{JobMessage, JobMetrics, JobQueueName, Recorded, Stage};
use crate::s3_event::{IngestMessage, ObjectChange, ObjectEvent, parse_ingest_message};
use crate::services::Services;
use crate::usage::{Attempt, Ledger};
use crate::usecases::attempt::{Outcome, Stopwatch};
use crate::usecases::completion::complete_asset;

/// Bytes read from the start of an upload to sniff what it is.
pub const SNIFF_BYTES: u64 = 64 * 1024;

/// Handles one ingest-queue message: every object event in it, in order. Test events and
/// malformed bodies are acknowledged (logged, not retried: retrying cannot fix them).
pub async fn handle_ingest_message(services: &Services, delivery: &Delivery) -> Result<(), JobError> {
    let events = match parse_ingest_message(&delivery.body) {
        Ok(IngestMessage::TestEvent) => {
            info!("s3:TestEvent acknowledged");
            return Ok(());
        }
        Ok(IngestMessage::Objects(events)) => events,
        Err(error) => {
            warn!(%error, "ignoring a message that is not an S3 event");
            return Ok(());
        }
    };
    for event in &events {
        let id = AssetId::for_object(&event.bucket, &event.key);
        let span = tracing::info_span!("object", asset_id = %id, key = %event.key, change = ?event.change);
        match event.change {
            ObjectChange::Created => {
                let ledger = Ledger::default();
                let stopwatch = Stopwatch::start(services.clock.now(), &ledger);
                let upload = ingest_upload(services, id, event, Some((delivery, &stopwatch)));
                ledger.scope(upload).instrument(span).await?
            }
            ObjectChange::Removed => ingest_removal(services, id, event).instrument(span).await?,
        }
    }
    Ok(())
}

/// Records an upload and starts its jobs (or records why it cannot be processed). `measured` is
/// the queue delivery and the stopwatch of the ingest attempt, recorded on the asset; `None` when
/// the reconciler ingests an upload whose notification was lost.
pub(crate) async fn ingest_upload(
    services: &Services,
    id: AssetId,
    event: &ObjectEvent,
    measured: Option<(&Delivery, &Stopwatch)>,
) -> Result<(), JobError> {
    let Some(info) = services.objects.head(&event.bucket, &event.key).await? else {
        info!("object no longer exists; its removal event follows");
        return Ok(());
    };
    let head = services.objects.get_range(&event.bucket, &event.key, 0..SNIFF_BYTES.min(info.size)).await?;
    let sniffed = head.len() as u64;
    let format = sniff(&head);
    let kind = format.map_or(MediaKind::Unknown, |format| format.kind());
    let now = services.clock.now();
    let moderate = services.settings.moderation.is_some();
    let jobs = JobKind::for_media(kind, moderate).into_iter().map(|job| (job, JobState::pending())).collect();
    let (status, error) = match format {
        None => (
            AssetStatus::Failed,
            Some(Failure::new(
                "unsupported-format",
                "not an image, video or audio file mediaflow recognises",
            )),
        ),
        Some(_) => (AssetStatus::Received, None),
    };
    let code = error.as_ref().map_or_else(|| "ok".to_owned(), |failure| failure.code.clone());
    let record = |services: &Services| {
        measured.map(|(delivery, stopwatch)| {
            let outcome = Outcome {
                code: &code,
                number: delivery.receive_count,
                waiting_since: delivery.sent_at,
                bytes_in: sniffed,
                bytes_out: 0,
                part: None,
            };
            let attempt = stopwatch.finish(services, delivery, outcome, services.clock.now());
            services.metrics.job_finished(&JobMetrics {
                stage: Stage::Ingest,
                outcome: attempt.outcome.clone(),
                duration_ms: attempt.duration_ms,
                bytes_in: sniffed,
                bytes_out: 0,
                cost_usd: attempt.cost.total_usd,
            });
            attempt
        })
    };
    // Unprocessable, it is complete once recorded: the ingest attempt goes in the record itself.
    // Otherwise it is recorded once the jobs are enqueued, with their requests.
    let ingest = if error.is_some() { record(services) } else { None };
    let asset = Asset {
        id: id.clone(),
        source: SourceObject {
            bucket: event.bucket.clone(),
            key: event.key.clone(),
            version_id: info.version_id.or_else(|| event.version_id.clone()),
            etag: info.etag.or_else(|| event.etag.clone()),
            size: info.size,
            content_type: format.map(|format| format.mime_type().to_owned()),
            sequencer: event.sequencer.clone(),
            received_at: now,
        },
        kind,
        status,
        jobs: if error.is_some() { Default::default() } else { jobs },
        error,
        metadata: None,
        sha256: None,
        moderation: None,
        ingest,
        cost: None,
        completed_sequencer: None,
        published_sequencer: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
    };
    let asset = match services.assets.record_upload(&asset).await? {
        Recorded::Applied => asset,
        Recorded::Stale => {
            info!(sequencer = %event.sequencer, "stale event: a newer one is recorded");
            return Ok(());
        }
        Recorded::Duplicate(stored) => {
            info!(status = %stored.status, "duplicate delivery");
            *stored
        }
    };
    match asset.status {
        AssetStatus::Received => {
            send_jobs(services, &asset).await?;
            let ingest =
                record(services).unwrap_or_else(|| Attempt::unmeasured("reconciled", services.clock.now()));
            mark_processing(services, &asset, &ingest).await?;
        }
        AssetStatus::Failed if asset.jobs.is_empty() && asset.completed_sequencer.is_none() => {
            info!(error = ?asset.error, "not processable media");
            complete_asset(services, &asset, AssetStatus::Failed).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Sends a `received` asset's job messages (again, after a crash before it was marked
/// `processing`: duplicate messages are harmless, a lost one is not).
async fn send_jobs(services: &Services, asset: &Asset) -> Result<(), JobError> {
    for &job in asset.jobs.keys() {
        services.queue.send(JobQueueName::Job(job), &JobMessage::for_job(asset, job)).await?;
    }
    Ok(())
}

/// Moves a `received` asset whose jobs were sent to `processing`, with the attempt that sent them.
async fn mark_processing(services: &Services, asset: &Asset, ingest: &Attempt) -> Result<(), JobError> {
    let (id, sequencer) = (&asset.id, &asset.source.sequencer);
    services.assets.mark_processing(id, sequencer, ingest, services.clock.now()).await?;
    info!(kind = ?asset.kind, jobs = asset.jobs.len(), "jobs enqueued");
    Ok(())
}

/// Sends a `received` asset's jobs and moves it to `processing`, for the reconciler: it has no
/// queue delivery to measure, so the ingest is recorded as an unmeasured attempt.
pub(crate) async fn start_jobs(services: &Services, asset: &Asset) -> Result<(), JobError> {
    send_jobs(services, asset).await?;
    mark_processing(services, asset, &Attempt::unmeasured("reconciled", services.clock.now())).await
}

async fn ingest_removal(services: &Services, id: AssetId, event: &ObjectEvent) -> Result<(), JobError> {
    let now = services.clock.now();
    let tombstone = Asset {
        id: id.clone(),
        source: SourceObject {
            bucket: event.bucket.clone(),
            key: event.key.clone(),
            version_id: event.version_id.clone(),
            etag: None,
            size: 0,
            content_type: None,
            sequencer: event.sequencer.clone(),
            received_at: now,
        },
        kind: MediaKind::Unknown,
        status: AssetStatus::Deleted,
        error: None,
        jobs: Default::default(),
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
    };
    match services.assets.record_removal(&tombstone).await? {
        Recorded::Stale => {
            info!("stale removal: the key was uploaded again since");
            return Ok(());
        }
        Recorded::Applied | Recorded::Duplicate(_) => {}
    }
    let bucket = &services.settings.derivatives_bucket;
    let deleted = services.objects.delete_prefix(bucket, &id.derivatives_prefix()).await?;
    info!(deleted, "asset deleted with its derivatives");
    Ok(())
}

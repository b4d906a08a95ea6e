//! Ingest: turn an S3 event into an asset record and its jobs.

use media_core::{ErrorCode, MediaKind, sniff};
use tracing::{Instrument, info};

use crate::batch::Delivery;
use crate::error::JobError;
use crate::messages::JobMessage;
use crate::model::{Asset, AssetId, AssetStatus, Failure, JobKind, JobState, SourceObject};
use crate::ports::{JobQueueName, ObjectInfo, Recorded, Stage};
use crate::s3_event::{IngestMessage, ObjectChange, ObjectEvent};
use crate::services::Services;
use crate::time::Timestamp;
use crate::usage::{Attempt, Ledger, Outcome};
use crate::usecases::attempt::{Facts, Stopwatch};
use crate::usecases::completion::complete_asset;

/// Bytes read from the start of an upload to sniff what it is.
pub const SNIFF_BYTES: u64 = 64 * 1024;

/// Handles one ingest-queue message, `message` as parsed from `delivery`'s body: every object
/// event in it, in order. A test event is acknowledged.
pub async fn handle_ingest_message(
    services: &Services,
    delivery: &Delivery,
    message: IngestMessage,
) -> Result<(), JobError> {
    let events = match message {
        IngestMessage::TestEvent => {
            info!("s3:TestEvent acknowledged");
            return Ok(());
        }
        IngestMessage::Objects(events) => events,
    };
    for event in &events {
        let id = AssetId::for_object(&event.bucket, &event.key);
        let span = tracing::info_span!("object", asset_id = %id, key = %event.key, change = ?event.change);
        match event.change {
            ObjectChange::Created => {
                let ledger = Ledger::default();
                let stopwatch = Stopwatch::start(services.clock.now(), &ledger);
                let upload = ingest_upload(services, event, Some((delivery, &stopwatch)));
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
    event: &ObjectEvent,
    measured: Option<(&Delivery, &Stopwatch)>,
) -> Result<(), JobError> {
    let Some(info) = services.objects.head(&event.bucket, &event.key).await? else {
        info!("object no longer exists; its removal event follows");
        return Ok(());
    };
    let head = services.objects.get_range(&event.bucket, &event.key, 0..SNIFF_BYTES.min(info.size)).await?;
    let sniffed = head.len() as u64;
    let moderate = services.settings.moderation.is_some();
    let mut asset = sniffed_upload(event, info, &head, moderate, services.clock.now());
    let outcome = asset.error.as_ref().map_or(Outcome::Ok, |failure| Outcome::Failed(failure.code));
    let record = |services: &Services| {
        measured.map(|(delivery, stopwatch)| {
            let facts = Facts {
                outcome,
                number: delivery.receive_count,
                waiting_since: delivery.sent_at,
                bytes_in: sniffed,
                bytes_out: 0,
                part: None,
            };
            stopwatch.finish(services, Stage::Ingest, delivery, facts, services.clock.now())
        })
    };
    // Unprocessable, it is complete once recorded: the ingest attempt goes in the record itself.
    // Otherwise it is recorded once the jobs are enqueued, with their requests.
    if asset.error.is_some() {
        asset.ingest = record(services);
    }
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
            let ingest = record(services)
                .unwrap_or_else(|| Attempt::unmeasured(Outcome::Reconciled, services.clock.now()));
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

/// The record of the upload `event` announced, as `HEAD` (`info`) and its first bytes (`head`)
/// show it: `received` with its jobs pending, or `failed` with `unsupported-format` and no job
/// when the bytes are not media mediaflow reads.
fn sniffed_upload(
    event: &ObjectEvent,
    info: ObjectInfo,
    head: &[u8],
    moderate: bool,
    now: Timestamp,
) -> Asset {
    let format = sniff(head);
    let kind = format.map_or(MediaKind::Unknown, |format| format.kind());
    let source = SourceObject {
        bucket: event.bucket.clone(),
        key: event.key.clone(),
        version_id: info.version_id.or_else(|| event.version_id.clone()),
        etag: info.etag.or_else(|| event.etag.clone()),
        size: info.size,
        content_type: format.map(|format| format.mime_type().to_owned()),
        sequencer: event.sequencer.clone(),
        received_at: now,
    };
    match format {
        None => Asset {
            error: Some(Failure::new(
                ErrorCode::UNSUPPORTED_FORMAT,
                "not an image, video or audio file mediaflow recognises",
            )),
            ..Asset::new(source, kind, AssetStatus::Failed, now)
        },
        Some(_) => Asset {
            jobs: JobKind::for_media(kind, moderate)
                .into_iter()
                .map(|job| (job, JobState::pending()))
                .collect(),
            ..Asset::new(source, kind, AssetStatus::Received, now)
        },
    }
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
    mark_processing(services, asset, &Attempt::unmeasured(Outcome::Reconciled, services.clock.now())).await
}

async fn ingest_removal(services: &Services, id: AssetId, event: &ObjectEvent) -> Result<(), JobError> {
    let now = services.clock.now();
    let source = SourceObject {
        bucket: event.bucket.clone(),
        key: event.key.clone(),
        version_id: event.version_id.clone(),
        etag: None,
        size: 0,
        content_type: None,
        sequencer: event.sequencer.clone(),
        received_at: now,
    };
    let tombstone = Asset::new(source, MediaKind::Unknown, AssetStatus::Deleted, now);
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

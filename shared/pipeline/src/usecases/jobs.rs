//! The life of one job message: claim, run, record, complete.

use std::time::SystemTime;

use tracing::{Instrument, info, info_span, warn};

use crate::batch::Delivery;
use crate::error::JobError;
use crate::job_support::JobOutput;
use crate::model::{Asset, Failure, JobKind, JobState, JobStatus};
use crate::ports::{Claim, JobMessage, JobMetrics, JobResult, Stage};
use crate::services::Services;
use crate::time::Timestamp;
use crate::usage::Ledger;
use crate::usecases::attempt::{Outcome, Stopwatch};
use crate::usecases::completion::{complete_asset, publish_abandoned_completion};
use crate::usecases::{metadata, moderate, parts, thumbnail};

/// Handles one message of the `expected` job kind's queue. `deadline` is when the caller must
/// have returned (Lambda's), `None` in worker mode.
///
/// Returns `Ok` when the message can be deleted (done, failed permanently and recorded, a
/// duplicate, or stale) and a retryable error otherwise.
pub async fn handle_job_message(
    services: &Services,
    expected: JobKind,
    delivery: &Delivery,
    deadline: Option<SystemTime>,
) -> Result<(), JobError> {
    let message: JobMessage = match serde_json::from_str(&delivery.body) {
        Ok(message) => message,
        Err(error) => {
            warn!(%error, "ignoring a message that is not a job");
            return Ok(());
        }
    };
    if message.job != expected {
        warn!(job = %message.job, "ignoring a job sent to the wrong queue");
        return Ok(());
    }
    let span = info_span!("job", asset_id = %message.asset_id, job = %message.job, key = %message.key);
    let ledger = Ledger::default();
    match &message.part {
        Some(part) => {
            let span = info_span!(parent: &span, "part", part = %part.label());
            ledger
                .scope(parts::run_part(services, &message, part, delivery, &ledger, deadline))
                .instrument(span)
                .await
        }
        None => ledger.scope(run_job(services, &message, delivery, &ledger, deadline)).instrument(span).await,
    }
}

async fn run_job(
    services: &Services,
    message: &JobMessage,
    delivery: &Delivery,
    ledger: &Ledger,
    deadline: Option<SystemTime>,
) -> Result<(), JobError> {
    let (id, sequencer, job) = (&message.asset_id, &message.sequencer, message.job);
    let stopwatch = Stopwatch::start(services.clock.now(), ledger);
    let started = stopwatch.started();
    let lease_until = lease_until(services, started, deadline);
    let asset = match services.assets.claim_job(id, sequencer, job, started, lease_until).await? {
        Claim::Claimed(asset) => asset,
        Claim::Finished(asset) => {
            info!("duplicate delivery of a finished job");
            return complete_if_unpublished(services, &asset).await;
        }
        Claim::Stale => {
            info!("the asset changed since this job was enqueued");
            return Ok(());
        }
        Claim::Busy(until) => return Err(JobError::Busy { job: format!("{id}/{job}"), until }),
    };
    let attempt = asset.jobs.get(&job).map_or(1, |state| state.attempts);
    info!(attempt, "job started");
    let output = match job {
        JobKind::Thumbnail => thumbnail::run(services, message).await,
        JobKind::Metadata => metadata::run(services, message).await,
        JobKind::Moderate => moderate::run(services, message).await,
        JobKind::Transcode => match services.video() {
            Ok(video) => video.transcode(services, message, deadline).await,
            Err(error) => Err(error),
        },
    };
    let ended = services.clock.now();
    let previous = asset.jobs.get(&job).map(|state| state.history.clone()).unwrap_or_default();
    let outcome = Outcome {
        code: match &output {
            Ok(JobOutput::Done { .. }) => "ok",
            Ok(JobOutput::SentToWorker) => "sent-to-worker",
            Ok(JobOutput::Split { .. }) => "split",
            Err(error) => error.code(),
        },
        number: attempt,
        waiting_since: previous.last().map(|last| last.ended_at).max(delivery.sent_at),
        bytes_in: message.size,
        bytes_out: match &output {
            Ok(JobOutput::Done { derivatives, .. }) => derivatives.iter().map(|d| d.bytes).sum(),
            _ => 0,
        },
        part: matches!(output, Ok(JobOutput::Split { .. })).then(|| "plan".to_owned()),
    };
    let record = stopwatch.finish(services, delivery, outcome, ended);
    services.metrics.job_finished(&JobMetrics {
        stage: Stage::Job(job),
        outcome: record.outcome.clone(),
        duration_ms: record.duration_ms,
        bytes_in: record.bytes_in,
        bytes_out: record.bytes_out,
        cost_usd: record.cost.total_usd,
    });
    let mut state = JobState {
        status: JobStatus::Done,
        attempts: attempt,
        started_at: Some(started),
        ended_at: Some(ended),
        duration_ms: Some(ended.millis_since(started)),
        sent_to_worker: asset.jobs.get(&job).is_some_and(|state| state.sent_to_worker),
        history: previous,
        ..JobState::pending()
    };
    let result = match output {
        Ok(JobOutput::SentToWorker) => {
            services.assets.release_job(id, sequencer, job, None, true, &record).await?;
            info!("sent to the long-job queue for worker mode");
            return Ok(());
        }
        Ok(JobOutput::Split { parts }) => {
            let done = asset.jobs.get(&job).and_then(|state| state.segments.clone());
            return parts::start(services, message, parts, done.as_ref(), &record).await;
        }
        Ok(JobOutput::Done { derivatives, metadata, sha256, moderation }) => {
            state.derivatives = derivatives;
            state.history.push(record);
            JobResult { state, metadata, sha256, moderation: moderation.map(|boxed| *boxed) }
        }
        Err(error) if error.is_retryable() => {
            warn!(%error, code = error.code(), "job failed; it will be retried");
            let failure = error.to_failure();
            services.assets.release_job(id, sequencer, job, Some(&failure), false, &record).await?;
            return Err(error);
        }
        Err(error) => {
            let failure: Failure = error.to_failure();
            warn!(code = %failure.code, message = %failure.message, "job failed permanently");
            state.status = JobStatus::Failed;
            state.error = Some(failure);
            state.history.push(record);
            JobResult { state, metadata: None, sha256: None, moderation: None }
        }
    };
    let written: Vec<String> = result.state.derivatives.iter().map(|d| d.key.clone()).collect();
    let Some(asset) = services.assets.finish_job(id, sequencer, job, result, ended).await? else {
        discard_outputs(services, message, &written).await?;
        return Ok(());
    };
    info!(duration_ms = ended.millis_since(started), derivatives = written.len(), "job finished");
    if let Some(status) = asset.final_status() {
        complete_asset(services, &asset, status).await?;
    }
    Ok(())
}

/// Until when an attempt started at `started` holds its job (or a join). A Lambda invocation
/// cannot outlive its deadline, so the lease ends there: when the process dies mid-job (crash, OOM
/// kill, timeout), the message's next delivery, which comes after the queue's visibility timeout
/// (at or above the function timeout), takes the job over instead of finding it busy until the
/// message is dead-lettered. Worker mode has no deadline: its lease is the configured one.
pub(crate) fn lease_until(
    services: &Services,
    started: Timestamp,
    deadline: Option<SystemTime>,
) -> Timestamp {
    match deadline {
        Some(deadline) => Timestamp::from(deadline),
        None => started.plus(services.settings.worker_lease),
    }
}

/// The delivery that finished a job may have died before it completed the upload (final status
/// and event), or while it published the event: completes or publishes it now.
/// `complete_asset` completes at most once.
pub(crate) async fn complete_if_unpublished(services: &Services, asset: &Asset) -> Result<(), JobError> {
    let completed = asset.completed_sequencer.as_ref() == Some(&asset.source.sequencer);
    match asset.final_status().filter(|_| !completed) {
        Some(status) => complete_asset(services, asset, status).await,
        None => publish_abandoned_completion(services, asset).await,
    }
}

/// The asset moved on while the job ran. When it was deleted, the files just written would be
/// orphans: remove them (a re-upload overwrites them itself).
pub(crate) async fn discard_outputs(
    services: &Services,
    message: &JobMessage,
    written: &[String],
) -> Result<(), JobError> {
    let deleted = services
        .assets
        .get(&message.asset_id)
        .await?
        .is_some_and(|asset| asset.status == crate::model::AssetStatus::Deleted);
    info!(deleted, "the asset changed while the job ran; result discarded");
    if deleted && !written.is_empty() {
        let bucket = &services.settings.derivatives_bucket;
        services.objects.delete_prefix(bucket, &message.asset_id.derivatives_prefix()).await?;
    }
    Ok(())
}

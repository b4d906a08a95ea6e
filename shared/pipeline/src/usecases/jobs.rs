//! The life of one job message: claim, run, record, complete.

use std::time::SystemTime;

use tracing::{Instrument, info, info_span, warn};

use crate::batch::Delivery;
use crate::error::JobError;
use crate::job_support::JobOutput;
use crate::messages::JobMessage;
use crate::model::{Failure, JobKind, JobState, JobStatus};
use crate::ports::{JobResult, Stage};
use crate::services::Services;
use crate::usage::Ledger;
use crate::usecases::attempt::{Facts, Stopwatch};
use crate::usecases::claims::{lease_until, record_job_end, take_claim};
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
    let claim = services.assets.claim_job(id, sequencer, job, started, lease_until).await?;
    let Some(asset) = take_claim(services, claim, format!("{id}/{job}")).await? else { return Ok(()) };
    let attempt = asset.jobs.get(&job).map_or(1, |state| state.attempts);
    info!(attempt, "job started");
    let output = run_job_work(services, message, deadline).await;
    let ended = services.clock.now();
    let previous = asset.jobs.get(&job).map(|state| state.history.clone()).unwrap_or_default();
    let facts = Facts {
        number: attempt,
        waiting_since: previous.last().map(|last| last.ended_at).max(delivery.sent_at),
        bytes_in: message.size,
        part: matches!(output, Ok(JobOutput::Split { .. })).then(|| "plan".to_owned()),
        ..Facts::of_job(&output)
    };
    let record = stopwatch.finish(services, Stage::Job(job), delivery, facts, ended);
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
            services.assets.hand_job_to_worker(id, sequencer, job, &record).await?;
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
            warn!(%error, code = %error.code(), "job failed; it will be retried");
            let failure = error.to_failure();
            services.assets.retry_job(id, sequencer, job, &failure, &record).await?;
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
    info!(duration_ms = ended.millis_since(started), "job ended");
    record_job_end(services, message, result, ended).await
}

/// The work of `message`'s job.
async fn run_job_work(
    services: &Services,
    message: &JobMessage,
    deadline: Option<SystemTime>,
) -> Result<JobOutput, JobError> {
    match message.job {
        JobKind::Thumbnail => thumbnail::run(services, message).await,
        JobKind::Metadata => metadata::run(services, message).await,
        JobKind::Moderate => moderate::run(services, message).await,
        JobKind::Transcode => services.video()?.transcode(services, message, deadline).await,
    }
}

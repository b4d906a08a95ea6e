//! Jobs split into parts that run on many functions at once: a long video's transcode becomes one
//! message per segment and one for its audio, all on the transcode queue, and a join once they
//! have all finished.
//!
//! The job stays `running` while its parts run. Each finished part is recorded once (a duplicate
//! delivery finds its part recorded), so exactly one recording makes the count reach the total,
//! and that one sends the join. A process that died between that write and the send is covered by
//! the part's redelivery, which finds the count complete and sends the join again; the join itself
//! is claimed under a lease, and a join of a job that already ended only completes the upload if
//! nobody did. Whatever happens, the upload gets one result and one completion event.

use std::time::SystemTime;

use tracing::{info, warn};

use crate::batch::Delivery;
use crate::error::JobError;
use crate::job_support::JobOutput;
use crate::messages::{JobMessage, JobPart};
use crate::model::{Asset, JobStatus, Segments};
use crate::ports::{JobQueueName, JobResult, PartRecorded, Stage};
use crate::services::Services;
use crate::usage::{Attempt, Ledger};
use crate::usecases::attempt::{Facts, Stopwatch};
use crate::usecases::claims::{discard_outputs, lease_until, record_job_end, take_claim};

/// Records that the claimed job of `message` was split into `parts` by the attempt `record`, and
/// sends a message for every part not finished yet (`existing`: the parts of an earlier split of
/// the same upload, when the job is planned again after its lease ended), or the join when they
/// all are.
pub(crate) async fn start(
    services: &Services,
    message: &JobMessage,
    parts: Vec<JobPart>,
    existing: Option<&Segments>,
    record: &Attempt,
) -> Result<(), JobError> {
    let (id, sequencer, job) = (&message.asset_id, &message.sequencer, message.job);
    let total = parts.iter().filter(|part| part.index().is_some()).count() as u32;
    let lease_until = record.ended_at.plus(services.settings.worker_lease);
    services.assets.start_parts(id, sequencer, job, total, lease_until, record).await?;
    let finished =
        |part: &JobPart| part.index().zip(existing).is_some_and(|(index, done)| done.is_done(index));
    let mut sent = 0;
    for part in parts.into_iter().filter(|part| !finished(part)) {
        services.queue.send(JobQueueName::Job(job), &message.for_part(part)).await?;
        sent += 1;
    }
    if sent == 0 {
        services.queue.send(JobQueueName::Job(job), &message.for_part(JobPart::Join)).await?;
    }
    info!(total, sent, "split into parts");
    Ok(())
}

/// Handles one message of a part of a split job.
pub(crate) async fn run_part(
    services: &Services,
    message: &JobMessage,
    part: &JobPart,
    delivery: &Delivery,
    ledger: &Ledger,
    deadline: Option<SystemTime>,
) -> Result<(), JobError> {
    match part.index() {
        Some(index) => run_piece(services, message, part, index, delivery, ledger, deadline).await,
        None => run_join(services, message, delivery, ledger, deadline).await,
    }
}

/// A segment or the audio: encoded, uploaded, recorded; the last one to finish sends the join.
async fn run_piece(
    services: &Services,
    message: &JobMessage,
    part: &JobPart,
    index: u32,
    delivery: &Delivery,
    ledger: &Ledger,
    deadline: Option<SystemTime>,
) -> Result<(), JobError> {
    let (id, sequencer, job) = (&message.asset_id, &message.sequencer, message.job);
    let Some(asset) = services.assets.get(id).await? else {
        info!("the asset is gone");
        return Ok(());
    };
    let Some(segments) = running_parts(&asset, message) else {
        info!("the job ended or the asset moved on since this part was sent");
        return Ok(());
    };
    if segments.is_done(index) {
        info!("duplicate delivery of a finished part");
        return send_join_when_complete(services, message, &segments).await;
    }
    let stopwatch = Stopwatch::start(services.clock.now(), ledger);
    let output = match services.video() {
        Ok(video) => video.transcode_part(services, message, part, deadline).await,
        Err(error) => Err(error),
    };
    let record = record_attempt(services, message, part, delivery, &stopwatch, ledger, &output);
    match output {
        Ok(JobOutput::Done { .. }) => {
            match services.assets.finish_part(id, sequencer, job, index, &record).await? {
                PartRecorded::Recorded(segments) => {
                    info!(done = segments.done, total = segments.total, "part finished");
                    send_join_when_complete(services, message, &segments).await
                }
                PartRecorded::Duplicate(segments) => {
                    send_join_when_complete(services, message, &segments).await
                }
                PartRecorded::Stale => discard_outputs(services, message, &[part.label()]).await,
            }
        }
        Ok(JobOutput::SentToWorker) => {
            info!("sent to the long-job queue for worker mode");
            services.assets.record_part_attempt(id, sequencer, job, &record).await?;
            Ok(())
        }
        Ok(JobOutput::Split { .. }) => Err(JobError::Internal("a part cannot be split again".into())),
        Err(error) if error.is_retryable() => {
            let at = record.ended_at.plus(retry_backoff(delivery.receive_count));
            warn!(%error, code = %error.code(), retry_at = %at, "part failed; it will be retried");
            services.assets.record_part_attempt(id, sequencer, job, &record).await?;
            Err(JobError::RetryAt { error: Box::new(error), at })
        }
        Err(error) => fail_job(services, message, error, record).await,
    }
}

/// The join, claimed once every part finished: the job's derivatives assembled and recorded, and
/// the upload completed.
async fn run_join(
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
    let claim = services.assets.claim_join(id, sequencer, job, started, lease_until).await?;
    let Some(asset) = take_claim(services, claim, format!("{id}/{job}/join")).await? else { return Ok(()) };
    let output = match services.video() {
        Ok(video) => video.join(services, message, deadline).await,
        Err(error) => Err(error),
    };
    let record = record_attempt(services, message, &JobPart::Join, delivery, &stopwatch, ledger, &output);
    let derivatives = match output {
        Ok(JobOutput::Done { derivatives, .. }) => derivatives,
        Ok(JobOutput::SentToWorker) => {
            // The worker's delivery takes the join over once this delivery's lease has ended.
            info!("join sent to the long-job queue for worker mode");
            services.assets.record_part_attempt(id, sequencer, job, &record).await?;
            return Ok(());
        }
        Ok(JobOutput::Split { .. }) => return Err(JobError::Internal("a join cannot be split".into())),
        Err(error) if error.is_retryable() => {
            // Retried as soon as this delivery's lease on the join ends.
            warn!(%error, code = %error.code(), retry_at = %lease_until, "join failed; it will be retried");
            services.assets.record_part_attempt(id, sequencer, job, &record).await?;
            return Err(JobError::RetryAt { error: Box::new(error), at: lease_until });
        }
        Err(error) => return fail_job(services, message, error, record).await,
    };
    let ended = record.ended_at;
    let mut state = asset.jobs.get(&job).cloned().unwrap_or_else(crate::model::JobState::pending);
    state.status = JobStatus::Done;
    state.ended_at = Some(ended);
    state.duration_ms = state.started_at.map(|started| ended.millis_since(started));
    state.lease_until = None;
    state.progress_percent = None;
    state.error = None;
    state.derivatives = derivatives;
    state.history.push(record);
    info!(derivatives = state.derivatives.len(), "joined");
    let result = JobResult { state, metadata: None, sha256: None, moderation: None };
    record_job_end(services, message, result, ended).await
}

/// How long a failed part waits before its next delivery: 5 s, doubling with each receive, at most
/// 5 minutes. The whole video waits for its slowest part, so a transient failure is retried soon
/// rather than after the queue's visibility timeout (which covers a whole invocation: 90 minutes
/// by default).
fn retry_backoff(receive_count: u32) -> std::time::Duration {
    let seconds = 5u64.saturating_mul(1 << receive_count.clamp(1, 7).saturating_sub(1));
    std::time::Duration::from_secs(seconds.min(300))
}

/// The parts of `message`'s job on `asset`, while that job is split and running for the same upload.
fn running_parts(asset: &Asset, message: &JobMessage) -> Option<Segments> {
    let state = asset.jobs.get(&message.job)?;
    let current =
        asset.source.sequencer == message.sequencer && asset.status != crate::model::AssetStatus::Deleted;
    (current && state.status == JobStatus::Running).then(|| state.segments.clone()).flatten()
}

async fn send_join_when_complete(
    services: &Services,
    message: &JobMessage,
    segments: &Segments,
) -> Result<(), JobError> {
    if segments.all_done() {
        services.queue.send(JobQueueName::Job(message.job), &message.for_part(JobPart::Join)).await?;
        info!(parts = segments.total, "every part finished; join sent");
    }
    Ok(())
}

/// Measures and reports an attempt at `part`. Its `bytes_in` are the bytes it fetched (`ledger`'s
/// GETs: its range of the source, or the join's chunks), not the source's size.
fn record_attempt(
    services: &Services,
    message: &JobMessage,
    part: &JobPart,
    delivery: &Delivery,
    stopwatch: &Stopwatch,
    ledger: &Ledger,
    output: &Result<JobOutput, JobError>,
) -> Attempt {
    let facts = Facts {
        number: delivery.receive_count.max(1),
        waiting_since: delivery.sent_at,
        bytes_in: ledger.requests().s3_read_bytes,
        part: Some(part.label()),
        ..Facts::of_job(output)
    };
    stopwatch.finish(services, Stage::Job(message.job), delivery, facts, services.clock.now())
}

/// A part failed permanently (bad media found mid-way): the whole job fails with its code, and
/// the other parts find it ended.
async fn fail_job(
    services: &Services,
    message: &JobMessage,
    error: JobError,
    record: Attempt,
) -> Result<(), JobError> {
    let failure = error.to_failure();
    warn!(code = %failure.code, message = %failure.message, "part failed permanently; the job fails");
    let ended = record.ended_at;
    // Read again: other parts' attempts were recorded while this one ran.
    let Some(asset) = services.assets.get(&message.asset_id).await? else { return Ok(()) };
    let Some(mut state) = asset.jobs.get(&message.job).cloned() else { return Ok(()) };
    state.status = JobStatus::Failed;
    state.ended_at = Some(ended);
    state.lease_until = None;
    state.error = Some(failure);
    state.history.push(record);
    let result = JobResult { state, metadata: None, sha256: None, moderation: None };
    record_job_end(services, message, result, ended).await
}

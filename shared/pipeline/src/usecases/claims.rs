//! What every job message does around its work, whole jobs and parts of split jobs alike:
//! holding a lease until the invocation's deadline, taking a claim (or finding the job finished,
//! stale or busy), and recording the job's end, which completes the upload after its last job.
//! Its own module so that `jobs` (whole jobs) and `parts` (split jobs) both use it without
//! importing each other.

use std::time::SystemTime;

use tracing::info;

use crate::error::JobError;
use crate::messages::JobMessage;
use crate::model::{Asset, AssetStatus};
use crate::ports::{Claim, JobResult};
use crate::services::Services;
use crate::time::Timestamp;
use crate::usecases::completion::{complete_asset, publish_abandoned_completion};

/// Records the end of `message`'s job (done or failed) and completes the upload when it was its
/// last job; when the asset moved on meanwhile, the result is discarded with its files.
pub(crate) async fn record_job_end(
    services: &Services,
    message: &JobMessage,
    result: JobResult,
    ended: Timestamp,
) -> Result<(), JobError> {
    let (id, sequencer, job) = (&message.asset_id, &message.sequencer, message.job);
    let written: Vec<String> = result.state.derivatives.iter().map(|d| d.key.clone()).collect();
    let Some(asset) = services.assets.finish_job(id, sequencer, job, result, ended).await? else {
        return discard_outputs(services, message, &written).await;
    };
    info!(derivatives = written.len(), "job recorded");
    if let Some(status) = asset.final_status() {
        complete_asset(services, &asset, status).await?;
    }
    Ok(())
}

/// The asset of a claim this delivery holds, or `None` when there is nothing to do: a finished
/// job (whose upload is completed now if the delivery that finished it died before), or a stale
/// one. A job held elsewhere is `job-busy` until its lease ends; `what` names it.
pub(crate) async fn take_claim(
    services: &Services,
    claim: Claim,
    what: String,
) -> Result<Option<Box<Asset>>, JobError> {
    match claim {
        Claim::Claimed(asset) => Ok(Some(asset)),
        Claim::Finished(asset) => {
            info!("duplicate delivery of a finished job");
            complete_if_unpublished(services, &asset).await?;
            Ok(None)
        }
        Claim::Stale => {
            info!("the job ended or the asset changed since this message was sent");
            Ok(None)
        }
        Claim::Busy(until) => Err(JobError::Busy { job: what, until }),
    }
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
async fn complete_if_unpublished(services: &Services, asset: &Asset) -> Result<(), JobError> {
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
    if written.is_empty() {
        info!("the asset changed while the job ran; result discarded");
        return Ok(());
    }
    let deleted = services
        .assets
        .get(&message.asset_id)
        .await?
        .is_some_and(|asset| asset.status == AssetStatus::Deleted);
    info!(deleted, "the asset changed while the job ran; result discarded");
    if deleted {
        let bucket = &services.settings.derivatives_bucket;
        services.objects.delete_prefix(bucket, &message.asset_id.derivatives_prefix()).await?;
    }
    Ok(())
}

//! Completion: when an upload's last job ends, its final status and ONE completion event.
//!
//! Two writes frame the event: [`AssetRepository::complete`](crate::ports::AssetRepository::complete)
//! claims the completion (so concurrent callers publish nothing), and after EventBridge accepted
//! the event, `mark_published` records it. A process that dies between them leaves a claimed but
//! unpublished completion; the next delivery of its message publishes the event
//! ([`publish_abandoned_completion`]).

use std::time::Duration;

use tracing::{info, warn};

use crate::cost::Cost;
use crate::error::JobError;
use crate::messages::{AssetEvent, FLAGGED_TAG};
use crate::model::{Asset, AssetStatus};
use crate::ports::CompletionClaim;
use crate::services::Services;

/// Records `status` as the final status of `asset`'s current upload and publishes its completion
/// event, once: a concurrent or repeated call that loses the conditional write publishes nothing.
/// When publishing fails the mark is undone and the error returned, so the retry publishes.
pub(crate) async fn complete_asset(
    services: &Services,
    asset: &Asset,
    status: AssetStatus,
) -> Result<(), JobError> {
    let sequencer = &asset.source.sequencer;
    let now = services.clock.now();
    let cost = Cost::sum(asset.attempts());
    let claim =
        services.assets.complete(&asset.id, sequencer, status, asset.error.as_ref(), &cost, now).await?;
    if claim == CompletionClaim::Refused {
        return Ok(());
    }
    publish_completion(services, asset, status, cost).await
}

/// How long a claimed completion may wait for its event before another delivery publishes it:
/// publishing is one EventBridge call (and the tagging of a flagged asset's derivatives), so a
/// claim this old without its event was left by a process that died in between.
pub(crate) const PUBLISH_GRACE: Duration = Duration::from_secs(10);

/// Publishes the completion event of `asset`'s current upload if its completion was claimed over
/// [`PUBLISH_GRACE`] ago and never marked published: its publisher died between the two writes.
/// At least once: a publisher that died after EventBridge accepted the event, before marking it,
/// has it sent twice.
pub(crate) async fn publish_abandoned_completion(services: &Services, asset: &Asset) -> Result<(), JobError> {
    let sequencer = Some(&asset.source.sequencer);
    let claimed = asset.completed_sequencer.as_ref() == sequencer;
    let published = asset.published_sequencer.as_ref() == sequencer;
    let now = services.clock.now();
    let abandoned = asset.completed_at.is_some_and(|at| at.plus(PUBLISH_GRACE) <= now);
    if claimed && !published && abandoned {
        warn!("the completion was claimed but its event never published: publishing it");
        let cost = asset.cost.unwrap_or_else(|| Cost::sum(asset.attempts()));
        publish_completion(services, asset, asset.status, cost).await?;
    }
    Ok(())
}

/// Tags a flagged asset's derivatives, publishes the completion event of a claimed completion and
/// marks it published. When tagging or publishing fails the claim is undone and the error
/// returned, so the retry publishes.
async fn publish_completion(
    services: &Services,
    asset: &Asset,
    status: AssetStatus,
    cost: Cost,
) -> Result<(), JobError> {
    let sequencer = &asset.source.sequencer;
    let flagged = asset.moderation.as_ref().is_some_and(|moderation| moderation.is_flagged());
    if flagged {
        // Before the event: whoever reacts to `Asset Flagged` finds the derivatives tagged. Every
        // object under the prefix, HLS segments included (they are not recorded one by one).
        let (name, value) = FLAGGED_TAG;
        let bucket = &services.settings.derivatives_bucket;
        let prefix = asset.id.derivatives_prefix();
        if let Err(error) = services.objects.tag_prefix(bucket, &prefix, name, value).await {
            services.assets.reopen_completion(&asset.id, sequencer).await?;
            return Err(error.into());
        }
    }
    let event = AssetEvent {
        asset_id: asset.id.clone(),
        status,
        kind: asset.kind,
        bucket: asset.source.bucket.clone(),
        key: asset.source.key.clone(),
        sequencer: sequencer.clone(),
        derivatives_bucket: services.settings.derivatives_bucket.clone(),
        derivatives: asset.derivatives().cloned().collect(),
        errors: asset
            .error
            .iter()
            .chain(asset.jobs.values().filter_map(|job| job.error.as_ref()))
            .cloned()
            .collect(),
        moderation: asset.moderation.clone(),
        cost,
    };
    if let Err(error) = services.events.publish(&event).await {
        services.assets.reopen_completion(&asset.id, sequencer).await?;
        return Err(error.into());
    }
    if let Err(error) = services.assets.mark_published(&asset.id, sequencer).await {
        // The event is out: a retry would publish it again. Leave the mark to a later delivery.
        warn!(%error, "the completion event is published but could not be marked so");
    }
    let latency_ms = services.clock.now().millis_since(asset.source.received_at);
    info!(
        %status,
        flagged,
        derivatives = event.derivatives.len(),
        latency_ms,
        cost_usd = cost.total_usd,
        "asset completed"
    );
    Ok(())
}

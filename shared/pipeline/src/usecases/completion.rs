//! Completion: when an upload's last job ends, its final status and ONE completion event.

use tracing::info;

use crate::cost::Cost;
use crate::error::JobError;
use crate::model::{Asset, AssetStatus};
use crate::ports::{AssetEvent, FLAGGED_TAG};
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
    if !services.assets.complete(&asset.id, sequencer, status, asset.error.as_ref(), &cost, now).await? {
        return Ok(());
    }
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
    let latency_ms = now.millis_since(asset.source.received_at);
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

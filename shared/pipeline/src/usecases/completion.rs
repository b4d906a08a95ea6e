//! Completion: when an upload's last job ends, its final status and ONE completion event.

use tracing::info;

use crate::error::JobError;
use crate::model::{Asset, AssetStatus};
use crate::ports::AssetEvent;
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
    if !services.assets.complete(&asset.id, sequencer, status, asset.error.as_ref(), now).await? {
        return Ok(());
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
    };
    if let Err(error) = services.events.publish(&event).await {
        services.assets.reopen_completion(&asset.id, sequencer).await?;
        return Err(error.into());
    }
    let latency_ms = now.millis_since(asset.source.received_at);
    info!(%status, derivatives = event.derivatives.len(), latency_ms, "asset completed");
    Ok(())
}

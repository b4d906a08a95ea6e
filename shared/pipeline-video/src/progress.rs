//! The progress of a running transcode, written to the asset every few seconds so that
//! `mediaflow assets get` shows how far a long job is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use pipeline::Services;
use pipeline::messages::JobMessage;
use pipeline::usage::Ledger;
use tracing::Instrument;

/// Writes `progress` (0-100) to the asset every `progress_interval` while it changes, until the
/// returned task is aborted.
pub(crate) fn spawn_progress_reporter(
    services: &Services,
    message: &JobMessage,
    progress: Arc<AtomicU32>,
) -> tokio::task::JoinHandle<()> {
    let (services, message) = (services.clone(), message.clone());
    let span = tracing::Span::current();
    // The progress writes are the job's requests: they count in its attempt's ledger.
    let ledger = Ledger::current().unwrap_or_default();
    tokio::spawn(
        ledger
            .scope(async move {
                let mut last = u32::MAX;
                let mut ticker = tokio::time::interval(services.settings.progress_interval);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let percent = progress.load(Ordering::Relaxed).min(100);
                    if percent == last {
                        continue;
                    }
                    last = percent;
                    let now = services.clock.now();
                    let id = &message.asset_id;
                    let write = services.assets.record_progress(
                        id,
                        &message.sequencer,
                        message.job,
                        percent as u8,
                        now,
                    );
                    if let Err(error) = write.await {
                        tracing::warn!(%error, "could not record progress");
                    }
                }
            })
            .instrument(span),
    )
}

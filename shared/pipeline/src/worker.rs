//! Worker mode: the same handlers as on Lambda, fed by long-polling a queue. Used for jobs longer
//! than Lambda's 15 minutes and to run the pipeline off AWS.
//!
//! Each message is deleted only when its handler succeeded (or failed permanently and recorded
//! it); while a handler runs, the message's visibility timeout is extended so SQS does not hand it
//! to another worker. On shutdown the worker stops receiving and finishes what is in flight.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{Instrument, error, info, info_span, warn};

use crate::batch::Delivery;
use crate::error::{JobError, PortError};
use crate::ports::{MessageSource, ReceivedMessage};

/// How a worker polls.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Messages handled at once.
    pub concurrency: usize,
    /// Long-poll wait per receive.
    pub wait: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions { concurrency: 1, wait: Duration::from_secs(20) }
    }
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Messages handled and deleted.
    pub deleted: u64,
    /// Messages left for SQS to deliver again.
    pub retried: u64,
}

/// Polls `source` and runs `handler` on each message body until `shutdown` resolves, then waits
/// for the messages in flight. Errors only when the queue itself cannot be read at start.
pub async fn run_worker<H, Fut>(
    source: Arc<dyn MessageSource>,
    options: WorkerOptions,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerStats, PortError>
where
    H: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    let visibility = source.visibility_timeout().await?;
    let handler = Arc::new(handler);
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running: JoinSet<bool> = JoinSet::new();
    let mut stats = WorkerStats::default();
    info!(concurrency = options.concurrency, visibility_s = visibility.as_secs(), "worker started");
    tokio::pin!(shutdown);
    loop {
        while let Some(done) = running.try_join_next() {
            count(&mut stats, done);
        }
        let free = permits.available_permits().min(10);
        if free == 0 {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(done) = running.join_next() => count(&mut stats, done),
            }
            continue;
        }
        let received = tokio::select! {
            _ = &mut shutdown => break,
            received = source.receive(free, options.wait) => received,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(failure) => {
                warn!(error = %failure, "receive failed; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for message in messages {
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            let (source, handler) = (source.clone(), handler.clone());
            let span = info_span!("message", message_id = %message.id, receive_count = message.delivery.receive_count);
            running.spawn(
                async move {
                    let handled = handle_one(&*source, &message, visibility, &*handler).await;
                    drop(permit);
                    handled
                }
                .instrument(span),
            );
        }
    }
    info!(in_flight = running.len(), "shutting down after the messages in flight");
    while let Some(done) = running.join_next().await {
        count(&mut stats, done);
    }
    info!(deleted = stats.deleted, retried = stats.retried, "worker stopped");
    Ok(stats)
}

fn count(stats: &mut WorkerStats, done: Result<bool, tokio::task::JoinError>) {
    match done {
        Ok(true) => stats.deleted += 1,
        _ => stats.retried += 1,
    }
}

/// Handles one message with a visibility heartbeat; returns whether it was deleted.
async fn handle_one<H, Fut>(
    source: &dyn MessageSource,
    message: &ReceivedMessage,
    visibility: Duration,
    handler: &H,
) -> bool
where
    H: Fn(Delivery) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    let work = handler(message.delivery.clone());
    tokio::pin!(work);
    let period = (visibility / 2).max(Duration::from_secs(1));
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break outcome,
            () = tokio::time::sleep(period) => {
                if let Err(failure) = source.extend_visibility(&message.receipt, visibility).await {
                    warn!(error = %failure, "could not extend the visibility timeout");
                }
            }
        }
    };
    match outcome {
        Err(failure) if failure.is_retryable() => {
            error!(error = %failure, code = %failure.code(), "message failed; SQS will deliver it again");
            // A busy job: hide the message until the lease ends, rather than let each early
            // redelivery use up a receive; a failed part: retry it after its back-off.
            if let Some(until) = failure.retry_at() {
                let delay = JobError::delay_until(until);
                if let Err(failure) = source.extend_visibility(&message.receipt, delay).await {
                    warn!(error = %failure, "could not delay the redelivery");
                }
            }
            false
        }
        outcome => {
            if let Err(failure) = outcome {
                error!(error = %failure, code = %failure.code(), "message failed permanently");
            }
            match source.delete(&message.receipt).await {
                Ok(()) => true,
                Err(failure) => {
                    error!(error = %failure, "could not delete a handled message");
                    false
                }
            }
        }
    }
}

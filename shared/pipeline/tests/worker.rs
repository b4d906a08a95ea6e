//! Worker mode over an in-memory queue: handled messages are deleted, retryable failures are left
//! for SQS, long handlers get visibility heartbeats, and shutdown finishes the work in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pipeline::batch::Delivery;
use pipeline::testing::MemoryMessageSource;
use pipeline::time::Timestamp;
use pipeline::worker::{WorkerOptions, WorkerStats, run_worker};
use pipeline::{ErrorCode, Failure, JobError, PortError, PortErrorKind};

// On paused time: the slow handler's 1.5 s and the heartbeats pass instantly, in order.
#[tokio::test(start_paused = true)]
async fn deletes_what_it_handled_and_leaves_retryable_failures() {
    let source = Arc::new(MemoryMessageSource::default());
    for body in ["ok", "poison", "throttled", "slow", "ok", "busy"] {
        source.push(body);
    }
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let handler = move |delivery: Delivery| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            match delivery.body.as_str() {
                "poison" => Err(JobError::Permanent(Failure::new(ErrorCode::CORRUPT_INPUT, "bad"))),
                "throttled" => Err(PortError::new("s3:GetObject", PortErrorKind::Unavailable, "503").into()),
                "busy" => Err(JobError::Busy {
                    job: "a/transcode".into(),
                    until: Timestamp::now().plus(Duration::from_secs(30)),
                }),
                // Longer than half the (2 s) visibility timeout: at least one heartbeat.
                "slow" => {
                    tokio::time::sleep(Duration::from_millis(1_500)).await;
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    };
    // Shut down once every message has been picked up; in-flight work must still finish.
    let watched = handled.clone();
    let shutdown = async move {
        while watched.load(Ordering::SeqCst) < 6 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let options = WorkerOptions { concurrency: 3, wait: Duration::from_millis(10) };
    let stats = run_worker(source.clone(), options, handler, shutdown).await.expect("worker ran");
    assert_eq!(stats, WorkerStats { deleted: 4, retried: 2 });
    let deleted = source.deleted.lock().map(|d| d.len()).unwrap_or_default();
    assert_eq!(deleted, 4, "ok, ok, slow and the acknowledged poison message");
    let extended = source.extended.lock().map(|e| e.clone()).unwrap_or_default();
    assert!(extended.iter().any(|(receipt, _)| receipt == "r-m3"), "the slow message was kept: {extended:?}");
    let busy: Vec<_> =
        extended.iter().filter(|(receipt, _)| receipt == "r-m5").map(|(_, t)| t.as_secs()).collect();
    assert!(matches!(busy[..], [30 | 31]), "the busy message is hidden until the lease ends: {busy:?}");
    assert!(!extended.iter().any(|(receipt, _)| receipt == "r-m2"), "a throttled message is not delayed");
}

//! What each attempt at a job (or ingest) did and was billed for: the facts the asset records
//! and its cost is computed from ([`crate::cost`]).
//!
//! Requests are counted where they are made, by the adapters, into the [`Ledger`] of the attempt
//! running on the current task: a task-local rather than a parameter, because the requests are
//! made deep inside ports (a multipart upload, a paginated listing) that have no business knowing
//! about billing, and one process runs several attempts at once.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cost::Cost;
use crate::time::Timestamp;

/// The requests one attempt made to S3 and DynamoDB, by price class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Requests {
    /// S3 PUT, COPY, POST and LIST requests (multipart parts and tagging included).
    #[serde(default)]
    pub s3_write: u32,
    /// S3 GET, HEAD and other requests.
    #[serde(default)]
    pub s3_read: u32,
    /// S3 DELETE requests (free).
    #[serde(default)]
    pub s3_delete: u32,
    /// DynamoDB requests that read (GetItem, Query).
    #[serde(default)]
    pub dynamodb_reads: u32,
    /// DynamoDB requests that write (PutItem, UpdateItem), including those whose condition failed.
    #[serde(default)]
    pub dynamodb_writes: u32,
    /// Read request units DynamoDB reported (`ReturnConsumedCapacity`).
    #[serde(default)]
    pub dynamodb_read_units: f64,
    /// Write request units DynamoDB reported; a write whose condition failed reports none but is
    /// billed, and counts as one unit.
    #[serde(default)]
    pub dynamodb_write_units: f64,
}

impl Requests {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Requests) {
        self.s3_write += other.s3_write;
        self.s3_read += other.s3_read;
        self.s3_delete += other.s3_delete;
        self.dynamodb_reads += other.dynamodb_reads;
        self.dynamodb_writes += other.dynamodb_writes;
        self.dynamodb_read_units += other.dynamodb_read_units;
        self.dynamodb_write_units += other.dynamodb_write_units;
    }
}

/// How Lambda billed an attempt. Absent in worker mode, where the instance is paid for anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaBilling {
    /// The function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory_mb: u32,
    /// `x86_64` or `arm64`: the GB-second price differs.
    pub architecture: String,
    /// Milliseconds billed: the attempt's duration, plus the init phase on a cold start (custom
    /// runtimes are billed for it).
    pub billed_ms: u64,
}

/// One attempt at a job, or the ingest of an upload: when, how long, what it waited for, what it
/// asked of S3 and DynamoDB, and what that cost.
///
/// The write that records an attempt is not in its own counts (it happens after them); the
/// billed time covers it. Messages of one Lambda batch run concurrently and are billed as one
/// invocation; each attempt here counts its own time and one request, which over-counts batches
/// of several messages by their overlap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt, 2 for its first retry, ... (for ingest, SQS's receive count).
    pub number: u32,
    /// `ok`, `sent-to-worker`, or the failure's code.
    pub outcome: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub ended_at: Timestamp,
    /// Wall time.
    pub duration_ms: u64,
    /// From the message's arrival in its queue (or the previous attempt's end, for a retry) to
    /// this start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_wait_ms: Option<u64>,
    /// The process's first attempt: it paid the init phase (`init_ms`).
    #[serde(default)]
    pub cold_start: bool,
    /// From the process's start to this attempt's, on a cold start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_ms: Option<u64>,
    /// How Lambda billed it; absent in worker mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<LambdaBilling>,
    /// The requests it made.
    #[serde(default)]
    pub requests: Requests,
    /// Bytes of the source object it was given.
    #[serde(default)]
    pub bytes_in: u64,
    /// Bytes it wrote to the derivatives bucket.
    #[serde(default)]
    pub bytes_out: u64,
    /// The X-Ray trace id (`Root=` of the trace header) the message carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// What it cost, at the prices of the function that recorded it.
    #[serde(default)]
    pub cost: Cost,
}

impl Attempt {
    /// An attempt made outside any queue delivery (the reconciler's ingest of an upload whose
    /// notification was lost): no wait, time or requests to report.
    pub fn unmeasured(outcome: &str, at: Timestamp) -> Attempt {
        Attempt {
            number: 1,
            outcome: outcome.to_owned(),
            started_at: at,
            ended_at: at,
            duration_ms: 0,
            queue_wait_ms: None,
            cold_start: false,
            init_ms: None,
            lambda: None,
            requests: Requests::default(),
            bytes_in: 0,
            bytes_out: 0,
            trace_id: None,
            cost: Cost::default(),
        }
    }
}

/// The requests counted for the attempt running on the current task.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<Requests>>);

tokio::task_local! {
    static LEDGER: Ledger;
}

impl Ledger {
    /// Runs `work` with this ledger counting its requests (and those of what it awaits).
    pub fn scope<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        LEDGER.scope(self.clone(), work)
    }

    /// The ledger of the current task, to carry into a task it spawns.
    pub fn current() -> Option<Ledger> {
        LEDGER.try_with(Ledger::clone).ok()
    }

    /// What was counted so far.
    pub fn requests(&self) -> Requests {
        self.0.lock().map(|requests| requests.clone()).unwrap_or_default()
    }
}

/// Counts a request made by the current task (nothing outside an attempt, e.g. in the CLI).
pub fn count(record: impl FnOnce(&mut Requests)) {
    let _ = LEDGER.try_with(|ledger| {
        if let Ok(mut requests) = ledger.0.lock() {
            record(&mut requests);
        }
    });
}

static PROCESS_START: LazyLock<Instant> = LazyLock::new(Instant::now);
static COLD: AtomicBool = AtomicBool::new(true);

/// Marks the process's start, from which a cold start's init time is measured: call it first
/// thing in `main`.
pub fn process_started() {
    LazyLock::force(&PROCESS_START);
}

/// For the process's first attempt (once, even when several start at once), the milliseconds
/// since [`process_started`]: the init phase it paid for. `None` for every later attempt.
pub fn take_cold_start() -> Option<u64> {
    COLD.swap(false, Ordering::SeqCst)
        .then(|| u64::try_from(PROCESS_START.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// The trace id (`Root=1-...`) of an X-Ray trace header (`Root=1-...;Parent=...;Sampled=1`).
pub fn trace_id(header: &str) -> Option<String> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .filter(|root| !root.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_counted_into_the_ledger_of_their_task_only() {
        let (first, second) = (Ledger::default(), Ledger::default());
        let one = first.scope(async {
            count(|r| r.s3_read += 1);
            tokio::task::yield_now().await;
            count(|r| r.dynamodb_write_units += 1.5);
        });
        let two = second.scope(async { count(|r| r.s3_write += 2) });
        tokio::join!(one, two);
        count(|r| r.s3_read += 100);
        assert_eq!((first.requests().s3_read, first.requests().dynamodb_write_units), (1, 1.5));
        assert_eq!((second.requests().s3_write, second.requests().s3_read), (2, 0));
    }

    #[test]
    fn only_the_first_attempt_of_a_process_is_cold() {
        process_started();
        assert!(take_cold_start().is_some());
        assert_eq!(take_cold_start(), None);
    }

    #[test]
    fn trace_ids_are_the_root_of_the_header() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(trace_id(header).as_deref(), Some("1-5759e988-bd862e3fe1be46a994272793"));
        assert_eq!(trace_id("Parent=1;Sampled=0"), None);
    }
}

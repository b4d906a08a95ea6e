//! What each attempt at a job (or ingest) did and was billed for: the facts the asset records,
//! and the [`Cost`] that [`crate::cost`] computes from them at the stack's prices (which is why
//! `cost` depends on this module and not the other way).
//!
//! Requests are counted where they are made, by the adapters, into the [`Ledger`] of the attempt
//! running on the current task: a task-local rather than a parameter, because the requests are
//! made deep inside ports (a multipart upload, a paginated listing) that have no business knowing
//! about billing, and one process runs several attempts at once.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use media_core::ErrorCode;
use serde::{Deserialize, Serialize};

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
    /// Bytes S3's GETs returned: a video probed by ranged reads fetches a small part of its size.
    #[serde(default)]
    pub s3_read_bytes: u64,
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

/// How an attempt ended. Serialised as one string, as records have always carried it: `ok`,
/// `sent-to-worker`, `split`, `reconciled`, or the failure's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The work is done.
    Ok,
    /// Too long for the time left: handed to the long-job queue for worker mode.
    SentToWorker,
    /// Split into parts that run at once (the plan of a long video's transcode).
    Split,
    /// An ingest made by the reconciler for an upload whose notification was lost.
    Reconciled,
    /// Failed with this code (retried or recorded, as the code says).
    Failed(ErrorCode),
}

impl Outcome {
    /// Whether the attempt failed. A hand-over to worker mode, a split or a reconciler's ingest is
    /// not a failure: the work goes on elsewhere.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// The failure's code, for a failed attempt.
    pub fn error_code(self) -> Option<ErrorCode> {
        match self {
            Outcome::Failed(code) => Some(code),
            _ => None,
        }
    }

    /// The outcome as records and metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::SentToWorker => "sent-to-worker",
            Outcome::Split => "split",
            Outcome::Reconciled => "reconciled",
            Outcome::Failed(code) => code.as_str(),
        }
    }

    /// Parses a spelling of [`Outcome::as_str`].
    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Ok, Outcome::SentToWorker, Outcome::Split, Outcome::Reconciled]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
            .or_else(|| ErrorCode::parse(text).map(Outcome::Failed))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Outcome, D::Error> {
        let text = String::deserialize(deserializer)?;
        Outcome::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an attempt's outcome")))
    }
}

/// A cost in USD, by service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Lambda compute and invocations.
    pub lambda_usd: f64,
    /// S3 requests.
    pub s3_usd: f64,
    /// DynamoDB request units.
    pub dynamodb_usd: f64,
    /// The sum of the three.
    pub total_usd: f64,
}

impl Cost {
    /// The cost with these parts.
    pub fn of(lambda_usd: f64, s3_usd: f64, dynamodb_usd: f64) -> Cost {
        Cost { lambda_usd, s3_usd, dynamodb_usd, total_usd: lambda_usd + s3_usd + dynamodb_usd }
    }

    /// The sum of the recorded costs of `attempts`: what an upload cost, retries included.
    pub fn sum<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> Cost {
        let (lambda, s3, dynamodb) = attempts.into_iter().fold((0.0, 0.0, 0.0), |(l, s, d), attempt| {
            (l + attempt.cost.lambda_usd, s + attempt.cost.s3_usd, d + attempt.cost.dynamodb_usd)
        });
        Cost::of(lambda, s3, dynamodb)
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
    /// How it ended.
    pub outcome: Outcome,
    /// Which part of a split job it ran (`segment 3`, `audio`, `join`), or `plan` for the attempt
    /// that split it; absent for a job done in one attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
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
    /// The first attempt of the process's first invocation: it paid the init phase (`init_ms`).
    #[serde(default)]
    pub cold_start: bool,
    /// From the process's start to its first invocation, on a cold start.
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
    pub fn unmeasured(outcome: Outcome, at: Timestamp) -> Attempt {
        Attempt {
            number: 1,
            outcome,
            part: None,
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
static COLD_START: ColdStart = ColdStart::new();

/// Marks the process's start, from which a cold start's init time is measured: call it first
/// thing in `main`.
pub fn process_started() {
    LazyLock::force(&PROCESS_START);
}

/// Marks the start of a Lambda invocation (see [`ColdStart::invocation_started`]).
pub fn invocation_started() {
    COLD_START.invocation_started(|| u64::try_from(PROCESS_START.elapsed().as_millis()).unwrap_or(u64::MAX));
}

/// The init phase the current attempt paid for, if it is the first of the process's first
/// invocation (see [`ColdStart::take`]).
pub fn take_cold_start() -> Option<u64> {
    COLD_START.take()
}

/// Which attempt pays a process's init phase.
#[derive(Debug)]
pub struct ColdStart {
    invoked: AtomicBool,
    pending: Mutex<Option<u64>>,
}

impl ColdStart {
    const fn new() -> ColdStart {
        ColdStart { invoked: AtomicBool::new(false), pending: Mutex::new(None) }
    }

    /// The first invocation ends the init phase: its length (`init_ms()`) is offered to the first
    /// attempt of that invocation. Any later invocation withdraws it, so that an init whose
    /// invocation had no attempt (S3's test event, a malformed message) is not charged to an
    /// attempt that came minutes later.
    pub fn invocation_started(&self, init_ms: impl FnOnce() -> u64) {
        let first = !self.invoked.swap(true, Ordering::SeqCst);
        let init = first.then(init_ms);
        if let Ok(mut pending) = self.pending.lock() {
            *pending = init;
        }
    }

    /// The init time, once, for the first attempt to ask after the first invocation started;
    /// `None` for every other attempt, and in worker mode (no invocations, and instances are not
    /// billed per attempt).
    pub fn take(&self) -> Option<u64> {
        self.pending.lock().ok().and_then(|mut pending| pending.take())
    }
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

    #[test]
    fn outcomes_are_spelled_as_records_have_always_spelled_them_and_only_errors_fail() {
        let cases = [
            (Outcome::Ok, "\"ok\"", false),
            (Outcome::SentToWorker, "\"sent-to-worker\"", false),
            (Outcome::Split, "\"split\"", false),
            (Outcome::Reconciled, "\"reconciled\"", false),
            (Outcome::Failed(ErrorCode::CORRUPT_INPUT), "\"corrupt-input\"", true),
            (Outcome::Failed(ErrorCode::SERVICE_UNAVAILABLE), "\"service-unavailable\"", true),
        ];
        for (outcome, json, failure) in cases {
            assert_eq!(serde_json::to_string(&outcome).ok().as_deref(), Some(json));
            assert_eq!(serde_json::from_str::<Outcome>(json).ok(), Some(outcome));
            assert_eq!(outcome.is_failure(), failure, "{outcome}");
        }
        assert!(serde_json::from_str::<Outcome>("\"exploded\"").is_err());
    }

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
    fn only_the_first_attempt_of_the_first_invocation_is_cold() {
        let cold = ColdStart::new();
        assert_eq!(cold.take(), None, "no invocation yet (worker mode)");
        cold.invocation_started(|| 180);
        assert_eq!(cold.take(), Some(180));
        assert_eq!(cold.take(), None, "claimed once");
        // An init nobody in its invocation claimed is not charged to a later invocation.
        let unclaimed = ColdStart::new();
        unclaimed.invocation_started(|| 180);
        unclaimed.invocation_started(|| 999);
        assert_eq!(unclaimed.take(), None);
    }

    #[test]
    fn trace_ids_are_the_root_of_the_header() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(trace_id(header).as_deref(), Some("1-5759e988-bd862e3fe1be46a994272793"));
        assert_eq!(trace_id("Parent=1;Sampled=0"), None);
    }
}

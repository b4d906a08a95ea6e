//! The record of one attempt, measured around the work and reported once: shared by ingest, the
//! jobs and the parts of split jobs.

use crate::batch::Delivery;
use crate::cost::Architecture;
use crate::error::JobError;
use crate::job_support::JobOutput;
use crate::ports::{JobMetrics, Stage};
use crate::services::Services;
use crate::time::Timestamp;
use crate::usage::{Attempt, LambdaBilling, Ledger, Outcome, take_cold_start, trace_id};

/// An attempt being measured: started when its work was taken on, with the ledger its requests
/// are counted in.
pub(crate) struct Stopwatch {
    started: Timestamp,
    init_ms: Option<u64>,
    ledger: Ledger,
}

/// What an attempt ended with, besides its times and requests.
pub(crate) struct Facts {
    /// How it ended.
    pub outcome: Outcome,
    /// The attempt's number.
    pub number: u32,
    /// When the wait for this attempt began: the previous attempt's end, else the message's
    /// arrival in its queue.
    pub waiting_since: Option<Timestamp>,
    /// Bytes of the source it was given.
    pub bytes_in: u64,
    /// Bytes it wrote.
    pub bytes_out: u64,
    /// The part of a split job it ran, if any.
    pub part: Option<String>,
}

impl Facts {
    /// The outcome and bytes written of a job's (or part's) `output`; the rest is the caller's.
    pub(crate) fn of_job(output: &Result<JobOutput, JobError>) -> Facts {
        let (outcome, bytes_out) = match output {
            Ok(JobOutput::Done { derivatives, .. }) => {
                (Outcome::Ok, derivatives.iter().map(|derivative| derivative.bytes).sum())
            }
            Ok(JobOutput::SentToWorker) => (Outcome::SentToWorker, 0),
            Ok(JobOutput::Split { .. }) => (Outcome::Split, 0),
            Err(error) => (Outcome::Failed(error.code()), 0),
        };
        Facts { outcome, number: 1, waiting_since: None, bytes_in: 0, bytes_out, part: None }
    }
}

impl Stopwatch {
    /// Starts measuring at `started`, counting into `ledger` (the scope the work runs in).
    pub(crate) fn start(started: Timestamp, ledger: &Ledger) -> Stopwatch {
        Stopwatch { started, init_ms: take_cold_start(), ledger: ledger.clone() }
    }

    /// When the attempt started.
    pub(crate) fn started(&self) -> Timestamp {
        self.started
    }

    /// The attempt's record as of `ended`, costed at the stack's prices, and reported to the
    /// metrics as an attempt of `stage`.
    pub(crate) fn finish(
        &self,
        services: &Services,
        stage: Stage,
        delivery: &Delivery,
        facts: Facts,
        ended: Timestamp,
    ) -> Attempt {
        let duration_ms = ended.millis_since(self.started);
        let lambda = services.settings.lambda_memory_mb.map(|memory_mb| LambdaBilling {
            memory_mb,
            architecture: Architecture::current().as_str().to_owned(),
            billed_ms: duration_ms + self.init_ms.unwrap_or(0),
        });
        let requests = self.ledger.requests();
        let attempt = Attempt {
            number: facts.number,
            outcome: facts.outcome,
            part: facts.part,
            started_at: self.started,
            ended_at: ended,
            duration_ms,
            queue_wait_ms: facts.waiting_since.map(|since| self.started.millis_since(since)),
            cold_start: self.init_ms.is_some(),
            init_ms: self.init_ms,
            cost: services.settings.prices.attempt_cost(lambda.as_ref(), &requests),
            lambda,
            requests,
            bytes_in: facts.bytes_in,
            bytes_out: facts.bytes_out,
            trace_id: delivery.trace_header.as_deref().and_then(trace_id),
        };
        services.metrics.job_finished(&JobMetrics {
            stage,
            outcome: attempt.outcome,
            duration_ms: attempt.duration_ms,
            bytes_in: attempt.bytes_in,
            bytes_out: attempt.bytes_out,
            cost_usd: attempt.cost.total_usd,
        });
        attempt
    }
}

//! The cost report: what the completed uploads of a period cost, how long they took, what their
//! retries cost, and the Lambda-versus-workers break-even they imply. A pure function of the
//! asset records, so every number is checked against a hand computation.

use std::collections::BTreeMap;
use std::time::Duration;

use media_core::MediaKind;
use pipeline::cost::Cost;
use pipeline::error_codes::ErrorCode;
use pipeline::time::Timestamp;
use pipeline::usage::Attempt;
use pipeline::{Asset, AssetStatus, JobKind};
use serde::Serialize;

use super::break_even::{BreakEven, BreakEvenInputs, PerUpload, break_even};

/// The statuses of a completed upload, in the order the report shows them.
pub const COMPLETED: [AssetStatus; 3] = [AssetStatus::Ready, AssetStatus::Partial, AssetStatus::Failed];

/// The kinds, in the order the report shows them.
const KINDS: [MediaKind; 4] = [MediaKind::Image, MediaKind::Video, MediaKind::Audio, MediaKind::Unknown];

/// The name of the row that sums every kind.
const ALL: &str = "all";

/// The period reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Uploads whose record changed at or after this time are in.
    pub since: Timestamp,
    /// When the report was made.
    pub until: Timestamp,
}

/// Completed uploads of one kind, by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// `image`, `video`, `audio` or `unknown`.
    pub kind: &'static str,
    /// Every job succeeded.
    pub ready: usize,
    /// Some jobs failed.
    pub partial: usize,
    /// Every job failed, or the object is not media.
    pub failed: usize,
}

/// The mean cost of the uploads of one kind (or `all`), times 1,000.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostPerThousand {
    /// A kind, or `all`.
    pub kind: &'static str,
    /// How many uploads the mean is over.
    pub uploads: usize,
    /// What 1,000 such uploads cost, by service.
    pub per_1000: Cost,
}

/// Upload-to-completion latency of one kind (or `all`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// A kind, or `all`.
    pub kind: &'static str,
    /// How many uploads had a completion time (the others are left out).
    pub uploads: usize,
    /// Median, in milliseconds (nearest rank).
    pub p50_ms: u64,
    /// 95th percentile, in milliseconds (nearest rank).
    pub p95_ms: u64,
}

/// The attempts that were followed by another attempt at the same job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retries {
    /// How many.
    pub attempts: usize,
    /// What they cost.
    pub cost: Cost,
}

/// The attempts that ended with one error code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorAttempts {
    /// The stable code (`corrupt-input`, `service-unavailable`, ...).
    pub code: ErrorCode,
    /// Whether the code is retried.
    pub retryable: bool,
    /// How many attempts ended with it.
    pub attempts: usize,
    /// What they cost.
    pub cost_usd: f64,
}

/// The mean time of one stage's attempts: the CPU-seconds it would take on a worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    /// `ingest` or a job kind.
    pub stage: &'static str,
    /// How many attempts the mean is over (all outcomes: a failed attempt used the CPU too).
    pub attempts: usize,
    /// Their mean duration, in seconds.
    pub cpu_seconds: f64,
}

/// The break-even section: what the records say an upload takes, and the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakEvenReport {
    /// Mean time per attempt of each stage.
    pub stages: Vec<StageTime>,
    /// Mean CPU-seconds and Lambda cost per upload, over every attempt (ingest included).
    pub per_upload: PerUpload,
    /// Mean S3 and DynamoDB cost per upload: the same on Lambda and on workers, so left out of
    /// the comparison.
    pub s3_dynamodb_usd_per_upload: f64,
    /// The instance, utilization and rates compared.
    pub inputs: BreakEvenInputs,
    /// The model's answer.
    #[serde(flatten)]
    pub model: BreakEven,
}

/// Everything `mediaflow cost` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    /// The period.
    pub period: Period,
    /// How many completed uploads it had.
    pub uploads: usize,
    /// Uploads by kind and outcome (every kind, even without uploads).
    pub outcomes: Vec<Outcomes>,
    /// Cost per 1,000 uploads, for each kind that had uploads and for `all`.
    pub cost_per_1000: Vec<CostPerThousand>,
    /// What the period's uploads cost together.
    pub total: Cost,
    /// From the S3 notification reaching the ingest queue to the upload's completion, for each
    /// kind that had completion times and for `all`.
    pub latency: Vec<Latency>,
    /// Attempts that were retried (every attempt but the last of its job), and their cost.
    pub retries: Retries,
    /// Attempts that ended with an error code, by code, most frequent first.
    pub errors: Vec<ErrorAttempts>,
    /// Lambda against workers; `None` without uploads.
    pub break_even: Option<BreakEvenReport>,
}

/// The name of a kind, as the records spell it.
pub fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Unknown => "unknown",
    }
}

/// What an upload cost: the cost recorded at its completion or, for a record without one, the
/// same sum the completion makes (its attempts' recorded costs).
fn upload_cost(asset: &Asset) -> Cost {
    asset.cost.unwrap_or_else(|| Cost::sum(asset.attempts()))
}

/// When the upload started: the S3 notification's arrival in the ingest queue, that is the time
/// ingest recorded it less the ingest attempt's queue wait (or that time alone, unmeasured).
fn upload_started(asset: &Asset) -> Timestamp {
    let wait = asset.ingest.as_ref().and_then(|ingest| ingest.queue_wait_ms).unwrap_or(0);
    asset.source.received_at.minus(Duration::from_millis(wait))
}

/// The value at rank `ceil(percent / 100 × n)` of `sorted` (nearest rank: always a measured
/// value, never an interpolation).
fn percentile(sorted: &[u64], percent: usize) -> u64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}

fn mean_cost(costs: &[Cost]) -> Cost {
    let n = costs.len().max(1) as f64;
    let (lambda, s3, dynamodb) = costs.iter().fold((0.0, 0.0, 0.0), |(l, s, d), cost| {
        (l + cost.lambda_usd, s + cost.s3_usd, d + cost.dynamodb_usd)
    });
    Cost::of(lambda / n, s3 / n, dynamodb / n)
}

fn scaled(cost: Cost, factor: f64) -> Cost {
    Cost::of(cost.lambda_usd * factor, cost.s3_usd * factor, cost.dynamodb_usd * factor)
}

fn sum_costs(costs: &[Cost]) -> Cost {
    scaled(mean_cost(costs), costs.len() as f64)
}

/// Each kind that has values, then `all`, with `make(kind, values)`.
fn by_kind_and_all<V: Clone, R>(values: &[(MediaKind, V)], make: impl Fn(&'static str, &[V]) -> R) -> Vec<R> {
    let mut rows = Vec::new();
    for kind in KINDS {
        let of_kind: Vec<V> =
            values.iter().filter(|(k, _)| *k == kind).map(|(_, value)| value.clone()).collect();
        if !of_kind.is_empty() {
            rows.push(make(kind_name(kind), &of_kind));
        }
    }
    if !values.is_empty() {
        let all: Vec<V> = values.iter().map(|(_, value)| value.clone()).collect();
        rows.push(make(ALL, &all));
    }
    rows
}

/// The attempts that another attempt at the same job followed.
fn retried_attempts(asset: &Asset) -> impl Iterator<Item = &Attempt> {
    asset.jobs.values().flat_map(|job| job.history.iter().rev().skip(1))
}

fn error_attempts(assets: &[&Asset]) -> Vec<ErrorAttempts> {
    let mut by_code: BTreeMap<&str, (ErrorCode, usize, f64)> = BTreeMap::new();
    for attempt in assets.iter().flat_map(|asset| asset.attempts()) {
        let Some(code) = attempt.outcome.error_code() else { continue };
        let entry = by_code.entry(code.as_str()).or_insert((code, 0, 0.0));
        entry.1 += 1;
        entry.2 += attempt.cost.total_usd;
    }
    let mut rows: Vec<ErrorAttempts> = by_code
        .into_values()
        .map(|(code, attempts, cost_usd)| ErrorAttempts {
            code,
            retryable: code.is_retryable(),
            attempts,
            cost_usd,
        })
        .collect();
    // Stable: equal counts stay in code order.
    rows.sort_by_key(|row| std::cmp::Reverse(row.attempts));
    rows
}

fn stage_times(assets: &[&Asset]) -> Vec<StageTime> {
    let mean = |stage: &'static str, durations: Vec<u64>| {
        (!durations.is_empty()).then(|| StageTime {
            stage,
            attempts: durations.len(),
            cpu_seconds: durations.iter().sum::<u64>() as f64 / durations.len() as f64 / 1000.0,
        })
    };
    let ingest =
        mean("ingest", assets.iter().filter_map(|a| a.ingest.as_ref()).map(|a| a.duration_ms).collect());
    let jobs = JobKind::ALL.into_iter().filter_map(|job| {
        let durations = assets
            .iter()
            .filter_map(|asset| asset.jobs.get(&job))
            .flat_map(|state| state.history.iter().map(|attempt| attempt.duration_ms))
            .collect();
        mean(job.as_str(), durations)
    });
    ingest.into_iter().chain(jobs).collect()
}

fn break_even_report(assets: &[&Asset], inputs: &BreakEvenInputs) -> Option<BreakEvenReport> {
    if assets.is_empty() {
        return None;
    }
    let n = assets.len() as f64;
    let (mut cpu_seconds, mut lambda_usd, mut other_usd) = (0.0, 0.0, 0.0);
    for attempt in assets.iter().flat_map(|asset| asset.attempts()) {
        cpu_seconds += attempt.duration_ms as f64 / 1000.0;
        lambda_usd += attempt.cost.lambda_usd;
        other_usd += attempt.cost.s3_usd + attempt.cost.dynamodb_usd;
    }
    let per_upload = PerUpload { cpu_seconds: cpu_seconds / n, lambda_usd: lambda_usd / n };
    Some(BreakEvenReport {
        stages: stage_times(assets),
        per_upload,
        s3_dynamodb_usd_per_upload: other_usd / n,
        inputs: inputs.clone(),
        model: break_even(per_upload, inputs),
    })
}

/// The report on the `assets` completed (ready, partial or failed) and changed within `period`;
/// others are ignored.
pub fn report(assets: &[Asset], inputs: &BreakEvenInputs, period: Period) -> CostReport {
    let completed: Vec<&Asset> = assets
        .iter()
        .filter(|asset| COMPLETED.contains(&asset.status) && asset.updated_at >= period.since)
        .collect();
    let outcomes = KINDS
        .into_iter()
        .map(|kind| {
            let count = |status| completed.iter().filter(|a| a.kind == kind && a.status == status).count();
            Outcomes {
                kind: kind_name(kind),
                ready: count(AssetStatus::Ready),
                partial: count(AssetStatus::Partial),
                failed: count(AssetStatus::Failed),
            }
        })
        .collect();
    let costs: Vec<(MediaKind, Cost)> =
        completed.iter().map(|asset| (asset.kind, upload_cost(asset))).collect();
    let cost_per_1000 = by_kind_and_all(&costs, |kind, costs| CostPerThousand {
        kind,
        uploads: costs.len(),
        per_1000: scaled(mean_cost(costs), 1000.0),
    });
    let latencies: Vec<(MediaKind, u64)> = completed
        .iter()
        .filter_map(|asset| {
            let completed_at = asset.completed_at?;
            Some((asset.kind, completed_at.millis_since(upload_started(asset))))
        })
        .collect();
    let latency = by_kind_and_all(&latencies, |kind, values| {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        Latency {
            kind,
            uploads: sorted.len(),
            p50_ms: percentile(&sorted, 50),
            p95_ms: percentile(&sorted, 95),
        }
    });
    let retried: Vec<&Attempt> = completed.iter().flat_map(|asset| retried_attempts(asset)).collect();
    CostReport {
        period,
        uploads: completed.len(),
        outcomes,
        cost_per_1000,
        total: sum_costs(&costs.iter().map(|(_, cost)| *cost).collect::<Vec<_>>()),
        latency,
        retries: Retries { attempts: retried.len(), cost: Cost::sum(retried) },
        errors: error_attempts(&completed),
        break_even: break_even_report(&completed, inputs),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pipeline::usage::{LambdaBilling, Outcome};
    use pipeline::{AssetId, JobState, JobStatus, Sequencer};

    use super::*;

    const MICRO: f64 = 1e-6;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-12)
    }

    #[track_caller]
    fn assert_cost(cost: Cost, lambda: f64, s3: f64, dynamodb: f64) {
        let total = lambda + s3 + dynamodb;
        assert!(
            close(cost.lambda_usd, lambda)
                && close(cost.s3_usd, s3)
                && close(cost.dynamodb_usd, dynamodb)
                && close(cost.total_usd, total),
            "{cost:?} vs lambda {lambda}, s3 {s3}, dynamodb {dynamodb}, total {total}"
        );
    }

    /// An attempt of `duration_ms` that cost `lambda`, `s3` and `dynamodb` micro-dollars.
    fn attempt(outcome: Outcome, duration_ms: u64, [lambda, s3, dynamodb]: [f64; 3]) -> Attempt {
        Attempt {
            ended_at: Timestamp::from_millis(duration_ms),
            duration_ms,
            lambda: (lambda > 0.0).then(|| LambdaBilling {
                memory_mb: 1769,
                architecture: "arm64".into(),
                billed_ms: duration_ms,
            }),
            cost: Cost::of(lambda * MICRO, s3 * MICRO, dynamodb * MICRO),
            ..Attempt::unmeasured(outcome, Timestamp::from_millis(0))
        }
    }

    const T0: u64 = 1_750_000_000_000;

    fn asset(
        key: &str,
        kind: MediaKind,
        status: AssetStatus,
        ingest: Attempt,
        jobs: Vec<(JobKind, Vec<Attempt>)>,
    ) -> Asset {
        let received_at = Timestamp::from_millis(T0);
        let jobs: BTreeMap<JobKind, JobState> = jobs
            .into_iter()
            .map(|(job, history)| {
                let status = if history.last().is_some_and(|a| a.outcome == Outcome::Ok) {
                    JobStatus::Done
                } else {
                    JobStatus::Failed
                };
                (job, JobState { status, attempts: history.len() as u32, history, ..JobState::pending() })
            })
            .collect();
        let mut asset = Asset {
            id: AssetId::for_object("uploads", key),
            source: pipeline::model::SourceObject {
                bucket: "uploads".into(),
                key: key.into(),
                version_id: None,
                etag: None,
                size: 1,
                content_type: None,
                sequencer: Sequencer::parse("01"),
                received_at,
            },
            kind,
            status,
            error: None,
            jobs,
            metadata: None,
            sha256: None,
            moderation: None,
            ingest: Some(ingest),
            cost: None,
            completed_sequencer: None,
            published_sequencer: None,
            completed_at: None,
            created_at: received_at,
            updated_at: Timestamp::from_millis(T0 + 60_000),
        };
        asset.cost = Some(Cost::sum(asset.attempts()));
        asset
    }

    fn waited(mut attempt: Attempt, queue_wait_ms: u64) -> Attempt {
        attempt.queue_wait_ms = Some(queue_wait_ms);
        attempt
    }

    fn completed_after(mut asset: Asset, millis: u64) -> Asset {
        asset.completed_at = Some(Timestamp::from_millis(T0 + millis));
        asset
    }

    fn period() -> Period {
        Period { since: Timestamp::from_millis(T0), until: Timestamp::from_millis(T0 + 3_600_000) }
    }

    /// Four images, one retried and one never completed, a video and a record of another status.
    fn fixture() -> Vec<Asset> {
        use JobKind::*;
        let retried = asset(
            "retried.jpg",
            MediaKind::Image,
            AssetStatus::Ready,
            waited(attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]), 400),
            vec![
                (
                    Thumbnail,
                    vec![
                        attempt(Outcome::Failed(ErrorCode::SERVICE_UNAVAILABLE), 300, [30.0, 4.0, 1.0]),
                        attempt(Outcome::Ok, 500, [50.0, 10.0, 2.0]),
                    ],
                ),
                (Metadata, vec![attempt(Outcome::Ok, 200, [20.0, 1.0, 2.0])]),
            ],
        );
        let plain = |key: &str| {
            asset(
                key,
                MediaKind::Image,
                AssetStatus::Ready,
                attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]),
                vec![
                    (Thumbnail, vec![attempt(Outcome::Ok, 400, [40.0, 10.0, 2.0])]),
                    (Metadata, vec![attempt(Outcome::Ok, 200, [20.0, 1.0, 2.0])]),
                ],
            )
        };
        // Failed, and its cost never recorded: the report sums its attempts.
        let mut corrupt = asset(
            "corrupt.jpg",
            MediaKind::Image,
            AssetStatus::Failed,
            attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]),
            vec![
                (Thumbnail, vec![attempt(Outcome::Failed(ErrorCode::CORRUPT_INPUT), 100, [10.0, 1.0, 1.0])]),
                (Metadata, vec![attempt(Outcome::Failed(ErrorCode::CORRUPT_INPUT), 100, [10.0, 1.0, 1.0])]),
            ],
        );
        corrupt.cost = None;
        let video = asset(
            "clip.mp4",
            MediaKind::Video,
            AssetStatus::Partial,
            waited(attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]), 100),
            vec![
                (Transcode, vec![attempt(Outcome::Ok, 5000, [500.0, 20.0, 2.0])]),
                (
                    Metadata,
                    vec![attempt(Outcome::Failed(ErrorCode::UNSUPPORTED_CODEC), 300, [30.0, 1.0, 1.0])],
                ),
            ],
        );
        let mut processing = plain("processing.jpg");
        processing.status = AssetStatus::Processing;
        let mut old = plain("old.jpg");
        old.updated_at = Timestamp::from_millis(T0 - 1);
        vec![
            completed_after(retried, 2_600),
            completed_after(plain("a.jpg"), 1_000),
            completed_after(plain("b.jpg"), 1_500),
            // No completion time: in every section but latency.
            corrupt,
            completed_after(video, 9_900),
            processing,
            old,
        ]
    }

    #[test]
    fn counts_costs_and_latencies_by_kind_by_hand() {
        let report = report(&fixture(), &BreakEvenInputs::default(), period());
        assert_eq!(report.uploads, 5, "the processing and the old records are left out");
        let outcome = |kind: &str| {
            report
                .outcomes
                .iter()
                .find(|row| row.kind == kind)
                .map(|row| (row.ready, row.partial, row.failed))
        };
        assert_eq!(outcome("image"), Some((3, 0, 1)));
        assert_eq!(outcome("video"), Some((0, 1, 0)));
        assert_eq!(outcome("audio"), Some((0, 0, 0)));
        assert_eq!(outcome("unknown"), Some((0, 0, 0)));

        // Per upload, in micro-dollars (lambda, s3, dynamodb):
        //   retried.jpg: 10+30+50+20 = 110, 2+4+10+1 = 17, 1+1+2+2 = 6
        //   a.jpg, b.jpg: 10+40+20 = 70, 2+10+1 = 13, 1+2+2 = 5
        //   corrupt.jpg: 10+10+10 = 30, 2+1+1 = 4, 1+1+1 = 3
        //   clip.mp4: 10+500+30 = 540, 2+20+1 = 23, 1+2+1 = 4
        // Images, mean × 1000: lambda 280/4 = 70 m$, s3 47/4 = 11.75 m$, dynamodb 19/4 = 4.75 m$.
        let kinds: Vec<&str> = report.cost_per_1000.iter().map(|row| row.kind).collect();
        assert_eq!(kinds, ["image", "video", "all"]);
        assert_eq!(report.cost_per_1000[0].uploads, 4);
        assert_cost(report.cost_per_1000[0].per_1000, 0.070, 0.01175, 0.00475);
        assert_cost(report.cost_per_1000[1].per_1000, 0.540, 0.023, 0.004);
        // All five: lambda 820/5 = 164, s3 70/5 = 14, dynamodb 23/5 = 4.6.
        assert_cost(report.cost_per_1000[2].per_1000, 0.164, 0.014, 0.0046);
        assert_cost(report.total, 820.0 * MICRO, 70.0 * MICRO, 23.0 * MICRO);

        // Latency: completion minus (received - ingest's queue wait). Images: 2600 + 400 = 3000,
        // 1000, 1500 (corrupt.jpg has no completion time); the video: 9900 + 100 = 10000.
        // Nearest rank of [1000, 1500, 3000]: p50 rank 2, p95 rank 3. Of all four
        // [1000, 1500, 3000, 10000]: p50 rank 2, p95 rank 4.
        let latency: Vec<(&str, usize, u64, u64)> =
            report.latency.iter().map(|row| (row.kind, row.uploads, row.p50_ms, row.p95_ms)).collect();
        assert_eq!(
            latency,
            [("image", 3, 1500, 3000), ("video", 1, 10_000, 10_000), ("all", 4, 1500, 10_000)]
        );
    }

    #[test]
    fn retries_errors_and_the_break_even_inputs_by_hand() {
        let report = report(&fixture(), &BreakEvenInputs::default(), period());
        // Only retried.jpg's first thumbnail attempt was followed by another.
        assert_eq!(report.retries.attempts, 1);
        assert_cost(report.retries.cost, 30.0 * MICRO, 4.0 * MICRO, 1.0 * MICRO);
        let errors: Vec<(ErrorCode, bool, usize)> =
            report.errors.iter().map(|row| (row.code, row.retryable, row.attempts)).collect();
        assert_eq!(
            errors,
            [
                (ErrorCode::CORRUPT_INPUT, false, 2),
                (ErrorCode::SERVICE_UNAVAILABLE, true, 1),
                (ErrorCode::UNSUPPORTED_CODEC, false, 1)
            ]
        );
        assert!(close(report.errors[0].cost_usd, 24.0 * MICRO));

        let Some(break_even) = report.break_even else { panic!("uploads, so a break-even") };
        // Ingest: 5 × 100 ms. Thumbnail: 300, 500, 400, 400, 100 = 1700 / 5. Transcode: 5000.
        // Metadata: 200, 200, 200, 100, 300 = 1000 / 5.
        let stages: Vec<(&str, usize)> =
            break_even.stages.iter().map(|row| (row.stage, row.attempts)).collect();
        assert_eq!(stages, [("ingest", 5), ("thumbnail", 5), ("transcode", 1), ("metadata", 5)]);
        for (row, seconds) in break_even.stages.iter().zip([0.1, 0.34, 5.0, 0.2]) {
            assert!(close(row.cpu_seconds, seconds), "{row:?} vs {seconds}");
        }
        // Per upload: 1100 + 700 + 700 + 300 + 5400 = 8200 ms / 5 = 1.64 s; Lambda 820 / 5 = 164
        // micro-dollars; S3 + DynamoDB (70 + 23) / 5 = 18.6.
        assert!(close(break_even.per_upload.cpu_seconds, 1.64));
        assert!(close(break_even.per_upload.lambda_usd, 164.0 * MICRO));
        assert!(close(break_even.s3_dynamodb_usd_per_upload, 18.6 * MICRO));
        // One instance takes 1.4 / 1.64 = 0.85366/s; Lambda costs 3600 × 0.000164 = $0.5904/h per
        // upload/s and reaches $0.0725 at 0.122799/s. K / (K - N1) = 1.1680: the first band only.
        let Some(rate) = break_even.model.break_even_uploads_per_second else { panic!("workers win") };
        assert!(close(rate, 0.0725 / 0.5904), "{rate}");
        assert!(close(break_even.model.instance_uploads_per_second.unwrap_or_default(), 1.4 / 1.64));
    }

    #[test]
    fn no_uploads_make_an_empty_report() {
        let report = report(&[], &BreakEvenInputs::default(), period());
        assert_eq!(report.uploads, 0);
        assert!(report.outcomes.iter().all(|row| row.ready + row.partial + row.failed == 0));
        assert!(report.cost_per_1000.is_empty() && report.latency.is_empty() && report.errors.is_empty());
        assert_eq!(report.retries.attempts, 0);
        assert_eq!(report.total, Cost::default());
        assert_eq!(report.break_even, None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=20).collect();
        assert_eq!((percentile(&values, 50), percentile(&values, 95)), (10, 19));
        assert_eq!((percentile(&[7], 50), percentile(&[7], 95)), (7, 7));
        assert_eq!(percentile(&[], 50), 0);
    }
}

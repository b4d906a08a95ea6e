//! An upload's timeline, from the facts its record keeps: one row per attempt (ingest, then each
//! job's in order), placed on a clock that starts when the upload's notification reached the
//! ingest queue. `mediaflow trace` prints it as text, the demo gallery draws it in HTML.

use std::fmt::Write as _;

use pipeline::cost::Cost;
use pipeline::time::Timestamp;
use pipeline::usage::{Attempt, Outcome, Requests};
use pipeline::{Asset, AssetStatus, JobKind};
use serde::Serialize;

/// One attempt on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `ingest`, the job's name, or for a part of a split job the job's and the part's
    /// (`transcode segment 3`).
    pub stage: String,
    /// The attempt's number within its stage.
    pub number: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// When the wait before it began, in milliseconds from the timeline's start.
    pub waiting_from_ms: u64,
    /// When it started, in milliseconds from the timeline's start.
    pub start_ms: u64,
    /// How long it ran.
    pub duration_ms: u64,
    /// How long its message waited in the queue (or since the previous attempt).
    pub queue_wait_ms: Option<u64>,
    /// Whether it paid a cold start, and how long that init took.
    pub cold_start: bool,
    /// The init phase's length, on a cold start.
    pub init_ms: Option<u64>,
    /// Milliseconds billed by Lambda (none in worker mode).
    pub billed_ms: Option<u64>,
    /// The function's memory (none in worker mode).
    pub memory_mb: Option<u32>,
    /// Source bytes it was given.
    pub bytes_in: u64,
    /// Bytes it wrote.
    pub bytes_out: u64,
    /// Its S3 and DynamoDB requests.
    pub requests: Requests,
    /// What it cost.
    pub cost: Cost,
    /// Its X-Ray trace id.
    pub trace_id: Option<String>,
}

/// The whole upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The asset.
    pub asset_id: String,
    /// `s3://bucket/key`.
    pub source: String,
    /// `image`, `video`, `audio` or `unknown`.
    pub kind: String,
    /// The asset's status.
    pub status: AssetStatus,
    /// The timeline's start: the upload's notification reaching the ingest queue (else its
    /// ingest's start).
    pub started_at: Timestamp,
    /// From the start to the final status, once there is one.
    pub upload_to_final_ms: Option<u64>,
    /// What the upload cost (the recorded total once complete, else the sum so far).
    pub cost: Cost,
    /// Every recorded attempt, ingest first, then by job and attempt number.
    pub rows: Vec<Row>,
    /// Attempts a job's counter shows but its history lacks: their process died before it could
    /// record anything (killed, out of memory, timed out), by job.
    pub lost_attempts: Vec<(JobKind, u32)>,
    /// The failure message of each job that has one (the history keeps only codes).
    pub errors: Vec<(String, String)>,
}

impl Timeline {
    /// The timeline of `asset`'s current upload.
    pub fn of(asset: &Asset) -> Timeline {
        let started_at = asset.ingest.as_ref().map_or(asset.source.received_at, |ingest| {
            ingest.started_at.minus(std::time::Duration::from_millis(ingest.queue_wait_ms.unwrap_or(0)))
        });
        let row = |stage: &str, attempt: &Attempt| {
            let waited = attempt.queue_wait_ms.unwrap_or(0);
            Row {
                stage: stage.to_owned(),
                number: attempt.number,
                outcome: attempt.outcome,
                waiting_from_ms: attempt.started_at.millis_since(started_at).saturating_sub(waited),
                start_ms: attempt.started_at.millis_since(started_at),
                duration_ms: attempt.duration_ms,
                queue_wait_ms: attempt.queue_wait_ms,
                cold_start: attempt.cold_start,
                init_ms: attempt.init_ms,
                billed_ms: attempt.lambda.as_ref().map(|billing| billing.billed_ms),
                memory_mb: attempt.lambda.as_ref().map(|billing| billing.memory_mb),
                bytes_in: attempt.bytes_in,
                bytes_out: attempt.bytes_out,
                requests: attempt.requests.clone(),
                cost: attempt.cost,
                trace_id: attempt.trace_id.clone(),
            }
        };
        let mut rows: Vec<Row> = asset.ingest.iter().map(|ingest| row("ingest", ingest)).collect();
        for (job, state) in &asset.jobs {
            rows.extend(state.history.iter().map(|attempt| match &attempt.part {
                Some(part) => row(&format!("{job} {part}"), attempt),
                None => row(job.as_str(), attempt),
            }));
        }
        let lost_attempts = asset
            .jobs
            .iter()
            .filter_map(|(job, state)| {
                let lost = state.attempts.saturating_sub(state.history.len() as u32);
                // A job claimed right now is running, not lost.
                let running = u32::from(state.status == pipeline::JobStatus::Running);
                Some((*job, lost.checked_sub(running)?)).filter(|(_, lost)| *lost > 0)
            })
            .collect();
        let errors = asset
            .error
            .iter()
            .map(|failure| ("asset".to_owned(), format!("{}: {}", failure.code, failure.message)))
            .chain(asset.jobs.iter().filter_map(|(job, state)| {
                let failure = state.error.as_ref()?;
                Some((job.as_str().to_owned(), format!("{}: {}", failure.code, failure.message)))
            }))
            .collect();
        Timeline {
            asset_id: asset.id.to_string(),
            source: format!("s3://{}/{}", asset.source.bucket, asset.source.key),
            kind: format!("{:?}", asset.kind).to_lowercase(),
            status: asset.status,
            started_at,
            upload_to_final_ms: asset.completed_at.map(|at| at.millis_since(started_at)),
            cost: asset.cost.unwrap_or_else(|| Cost::sum(asset.attempts())),
            rows,
            lost_attempts,
            errors,
        }
    }

    /// The span the rows cover, in milliseconds from the start (at least 1).
    pub fn span_ms(&self) -> u64 {
        let ends = self.rows.iter().map(|row| row.start_ms + row.duration_ms);
        ends.chain(self.upload_to_final_ms).max().unwrap_or(0).max(1)
    }

    /// The timeline as aligned text with a Gantt bar per attempt, `width` characters wide for the
    /// bars: `░` while the message waited, `█` while the attempt ran.
    pub fn text(&self, width: usize) -> String {
        let mut out = String::new();
        let total = self.upload_to_final_ms.map_or_else(|| "not final yet".to_owned(), seconds);
        let _ = writeln!(out, "{}  {}  {}  {}", self.source, self.asset_id, self.kind, self.status);
        let _ = writeln!(out, "upload → {}: {total}   cost {}", self.status, usd(self.cost.total_usd));
        let _ = writeln!(
            out,
            "  lambda {}  s3 {}  dynamodb {}",
            usd(self.cost.lambda_usd),
            usd(self.cost.s3_usd),
            usd(self.cost.dynamodb_usd)
        );
        let span = self.span_ms();
        let labels: Vec<String> =
            self.rows.iter().map(|row| format!("{} #{}", row.stage, row.number)).collect();
        let stage_width = labels.iter().map(|label| label.chars().count()).max().unwrap_or(0).max(13);
        let _ = writeln!(
            out,
            "\n{:<stage_width$} {:>7} {:>7} {:>7}  {:<width$}  {:<5} {:<18} {:>9} {:>9} {:>11}",
            "stage",
            "start",
            "wait",
            "run",
            format!("0 ─ {}", seconds(span)),
            "init",
            "outcome",
            "in",
            "out",
            "cost",
        );
        for (row, label) in self.rows.iter().zip(&labels) {
            let _ = writeln!(
                out,
                "{:<stage_width$} {:>7} {:>7} {:>7}  {}  {:<5} {:<18} {:>9} {:>9} {:>11}",
                label,
                seconds(row.start_ms),
                row.queue_wait_ms.map_or_else(|| "-".to_owned(), seconds),
                seconds(row.duration_ms),
                bar(row, span, width),
                if row.cold_start { "cold" } else { "warm" },
                row.outcome,
                bytes(row.bytes_in),
                bytes(row.bytes_out),
                usd(row.cost.total_usd),
            );
        }
        for (job, lost) in &self.lost_attempts {
            let _ = writeln!(out, "{job}: {lost} attempt(s) lost: the process died before recording them");
        }
        for (stage, error) in &self.errors {
            let _ = writeln!(out, "{stage}: {error}");
        }
        let traces: Vec<&str> = self.rows.iter().filter_map(|row| row.trace_id.as_deref()).collect();
        if let Some(first) = traces.first() {
            let _ = writeln!(out, "X-Ray trace: {first}");
        }
        out
    }

    /// The timeline as an HTML table with CSS bars (no script), for the demo gallery.
    pub fn html(&self) -> String {
        let span = self.span_ms() as f64;
        let percent = |ms: u64| 100.0 * ms as f64 / span;
        let mut out = String::from("<table class=\"timeline\">");
        for row in &self.rows {
            let wait = row.start_ms - row.waiting_from_ms;
            let _ = write!(
                out,
                "<tr><td>{} #{}</td><td class=\"lane\"><span class=\"wait\" style=\"left:{:.2}%;width:{:.2}%\"></span>\
                 <span class=\"run {}\" style=\"left:{:.2}%;width:{:.2}%\"></span></td>\
                 <td>{} {} {}</td><td>{}</td></tr>",
                row.stage,
                row.number,
                percent(row.waiting_from_ms),
                percent(wait),
                if row.outcome.is_failure() { "failed" } else { "ok" },
                percent(row.start_ms),
                percent(row.duration_ms).max(0.5),
                seconds(row.duration_ms),
                if row.cold_start { "cold" } else { "warm" },
                row.outcome,
                usd(row.cost.total_usd),
            );
        }
        out.push_str("</table>");
        out
    }
}

/// The bar of one row: spaces before, `░` for the wait, `█` for the run (at least one cell).
fn bar(row: &Row, span: u64, width: usize) -> String {
    let cell = |ms: u64| ((ms as f64 / span as f64) * width as f64).round() as usize;
    let (wait_from, start) = (cell(row.waiting_from_ms).min(width), cell(row.start_ms).min(width));
    let end = cell(row.start_ms + row.duration_ms).clamp(start + 1, width.max(start + 1));
    let mut text = " ".repeat(wait_from);
    text.push_str(&"░".repeat(start - wait_from));
    text.push_str(&"█".repeat(end - start));
    text.push_str(&" ".repeat(width.saturating_sub(end)));
    text
}

/// Milliseconds as seconds with two decimals (`1.25s`).
pub fn seconds(ms: u64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

/// USD with enough digits for sub-cent amounts (`$0.0000412`).
pub fn usd(amount: f64) -> String {
    format!("${amount:.7}")
}

/// Bytes as B, KB, MB or GB.
fn bytes(count: u64) -> String {
    match count {
        0..1_000 => format!("{count} B"),
        1_000..1_000_000 => format!("{:.1} KB", count as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", count as f64 / 1e6),
        _ => format!("{:.1} GB", count as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use media_core::MediaKind;
    use pipeline::cost::Prices;
    use pipeline::model::SourceObject;
    use pipeline::usage::LambdaBilling;
    use pipeline::{AssetId, ErrorCode, Failure, JobState, JobStatus, Sequencer};

    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn attempt(number: u32, outcome: Outcome, start: u64, wait: u64, run: u64) -> Attempt {
        let lambda = LambdaBilling { memory_mb: 1024, architecture: "x86_64".into(), billed_ms: run };
        let requests = Requests { s3_read: 1, ..Requests::default() };
        Attempt {
            number,
            ended_at: Timestamp::from_millis(T0 + start + run),
            duration_ms: run,
            queue_wait_ms: Some(wait),
            cold_start: number == 1,
            cost: Prices::default().attempt_cost(Some(&lambda), &requests),
            lambda: Some(lambda),
            requests,
            bytes_in: 1000,
            trace_id: Some("1-abc-def".into()),
            ..Attempt::unmeasured(outcome, Timestamp::from_millis(T0 + start))
        }
    }

    fn asset() -> Asset {
        let mut jobs = BTreeMap::new();
        // The thumbnail failed once, waited 1 s, then succeeded; metadata died once unrecorded.
        let thumbnail = JobState {
            status: JobStatus::Done,
            attempts: 2,
            history: vec![
                attempt(1, Outcome::Failed(ErrorCode::SERVICE_UNAVAILABLE), 300, 100, 200),
                attempt(2, Outcome::Ok, 1500, 1000, 500),
            ],
            ..JobState::pending()
        };
        let metadata = JobState {
            status: JobStatus::Failed,
            attempts: 2,
            error: Some(Failure::new(ErrorCode::CORRUPT_INPUT, "bad bytes")),
            history: vec![attempt(2, Outcome::Failed(ErrorCode::CORRUPT_INPUT), 400, 150, 100)],
            ..JobState::pending()
        };
        jobs.insert(JobKind::Thumbnail, thumbnail);
        jobs.insert(JobKind::Metadata, metadata);
        Asset {
            id: AssetId::for_object("b", "k.jpg"),
            source: SourceObject {
                bucket: "b".into(),
                key: "k.jpg".into(),
                version_id: None,
                etag: None,
                size: 1000,
                content_type: None,
                sequencer: Sequencer::parse("01"),
                received_at: Timestamp::from_millis(T0 + 50),
            },
            kind: MediaKind::Image,
            status: AssetStatus::Partial,
            error: None,
            jobs,
            metadata: None,
            sha256: None,
            moderation: None,
            ingest: Some(attempt(1, Outcome::Ok, 50, 50, 100)),
            cost: None,
            completed_sequencer: None,
            published_sequencer: None,
            completed_at: Some(Timestamp::from_millis(T0 + 2100)),
            created_at: Timestamp::from_millis(T0),
            updated_at: Timestamp::from_millis(T0 + 2100),
        }
    }

    #[test]
    fn rows_start_at_the_upload_and_every_attempt_is_placed_with_its_wait() {
        let timeline = Timeline::of(&asset());
        assert_eq!(
            timeline.started_at,
            Timestamp::from_millis(T0),
            "the ingest's start minus its queue wait"
        );
        assert_eq!(timeline.upload_to_final_ms, Some(2100));
        let placed: Vec<(&str, u32, u64, u64)> = timeline
            .rows
            .iter()
            .map(|row| (row.stage.as_str(), row.number, row.waiting_from_ms, row.start_ms))
            .collect();
        assert_eq!(
            placed,
            [
                ("ingest", 1, 0, 50),
                ("thumbnail", 1, 200, 300),
                ("thumbnail", 2, 500, 1500),
                ("metadata", 2, 250, 400)
            ]
        );
        assert_eq!(timeline.lost_attempts, [(JobKind::Metadata, 1)]);
        assert_eq!(timeline.errors, [("metadata".to_owned(), "corrupt-input: bad bytes".to_owned())]);
        let sum: f64 = timeline.rows.iter().map(|row| row.cost.total_usd).sum();
        assert!((timeline.cost.total_usd - sum).abs() < 1e-15 && sum > 0.0);
    }

    #[test]
    fn the_chart_draws_waits_and_runs_to_scale() {
        let text = Timeline::of(&asset()).text(21);
        // 2.1 s over 21 cells: 100 ms a cell. The retry waited from 0.5 s to 1.5 s (cells 5 to 15),
        // then ran for 0.5 s (cells 15 to 20).
        let retry = text.lines().find(|line| line.starts_with("thumbnail #2")).expect("the retry's row");
        assert!(retry.contains(&format!("     {}{}", "░".repeat(10), "█".repeat(5))), "{retry}");
        assert!(text.contains("metadata: 1 attempt(s) lost"), "{text}");
        assert!(text.contains("upload → partial: 2.10s"), "{text}");
        let html = Timeline::of(&asset()).html();
        assert_eq!(html.matches("<tr>").count(), 4);
        assert!(html.contains("class=\"run failed\""), "{html}");
    }
}

//! Metrics: each attempt and each reconciler run in CloudWatch Embedded Metric Format on stdout,
//! which Lambda's log capture turns into CloudWatch metrics (namespace `mediaflow`). Logging is
//! set up by the `runtime` crate.

use std::io::Write;

use pipeline::ReconcileReport;
use pipeline::ports::{JobMetrics, Metrics};
use pipeline::time::Timestamp;

/// [`Metrics`] as CloudWatch Embedded Metric Format lines on stdout: per job attempt `Processed`,
/// `Failed`, `DurationMs`, `BytesIn`, `BytesOut` and `CostUsd`, by `Job` and by `Job` and `Outcome`
/// (`ok`, `split`, `sent-to-worker` or the error code; only an error counts as `Failed`); per
/// reconciler run its counts (`JobsRequeued`, `UploadsIngested`,
/// ...).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmfMetrics;

impl EmfMetrics {
    /// The EMF document of one job.
    pub fn document(metrics: &JobMetrics, timestamp_ms: u64) -> serde_json::Value {
        let failed = u64::from(metrics.outcome.is_failure());
        serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": "mediaflow",
                    "Dimensions": [["Job"], ["Job", "Outcome"]],
                    "Metrics": [
                        {"Name": "Processed", "Unit": "Count"},
                        {"Name": "Failed", "Unit": "Count"},
                        {"Name": "DurationMs", "Unit": "Milliseconds"},
                        {"Name": "BytesIn", "Unit": "Bytes"},
                        {"Name": "BytesOut", "Unit": "Bytes"},
                        {"Name": "CostUsd", "Unit": "None"}
                    ]
                }]
            },
            "Job": metrics.stage.as_str(),
            "Outcome": metrics.outcome.as_str(),
            "Processed": 1,
            "Failed": failed,
            "DurationMs": metrics.duration_ms,
            "BytesIn": metrics.bytes_in,
            "BytesOut": metrics.bytes_out,
            "CostUsd": metrics.cost_usd,
        })
    }

    /// The EMF document of one reconciler run: one metric per count of the report, by `Function`.
    pub fn reconcile_document(report: &ReconcileReport, timestamp_ms: u64) -> serde_json::Value {
        let counts = [
            ("AssetsChecked", report.assets_checked),
            ("ObjectsChecked", report.objects_checked),
            ("JobsRequeued", report.jobs_requeued),
            ("UploadsCompleted", report.uploads_completed),
            ("UploadsIngested", report.uploads_ingested),
            ("JobsGivenUp", report.jobs_given_up),
            ("Errors", report.errors),
        ];
        let mut document = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": "mediaflow",
                    "Dimensions": [["Function"]],
                    "Metrics": counts.iter().map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
                }]
            },
            "Function": "reconcile",
        });
        for (name, count) in counts {
            document[name] = count.into();
        }
        document
    }
}

impl Metrics for EmfMetrics {
    fn job_finished(&self, metrics: &JobMetrics) {
        emit(&EmfMetrics::document(metrics, Timestamp::now().as_millis()));
    }

    fn reconciled(&self, report: &ReconcileReport) {
        emit(&EmfMetrics::reconcile_document(report, Timestamp::now().as_millis()));
    }
}

/// One EMF document, one line on stdout (where Lambda's log capture reads it).
fn emit(document: &serde_json::Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{document}");
}

#[cfg(test)]
mod tests {
    use pipeline::usage::Outcome;

    use super::*;

    #[test]
    fn emf_documents_declare_every_metric_they_carry() {
        let metrics = JobMetrics {
            stage: pipeline::ports::Stage::Job(pipeline::JobKind::Thumbnail),
            outcome: Outcome::Failed(pipeline::ErrorCode::CORRUPT_INPUT),
            duration_ms: 12,
            bytes_in: 1000,
            bytes_out: 0,
            cost_usd: 0.000_004_2,
        };
        let document = EmfMetrics::document(&metrics, 1_700_000_000_000);
        assert_eq!(document["Failed"], 1);
        assert_eq!(document["Outcome"], "corrupt-input");
        for (outcome, failed) in [(Outcome::Split, 0), (Outcome::SentToWorker, 0), (Outcome::Ok, 0)] {
            let document = EmfMetrics::document(&JobMetrics { outcome, ..metrics.clone() }, 0);
            assert_eq!(document["Failed"], failed, "a {outcome} attempt is not a failure");
        }
        let declared: Vec<&str> = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics declared at _aws.CloudWatchMetrics[0].Metrics, where CloudWatch reads them")
            .iter()
            .map(|metric| metric["Name"].as_str().expect("a metric's name"))
            .collect();
        assert_eq!(declared, ["Processed", "Failed", "DurationMs", "BytesIn", "BytesOut", "CostUsd"]);
        for name in declared {
            assert!(document[name].is_number(), "{name} declared but missing");
        }
    }

    #[test]
    fn reconcile_documents_carry_every_count_of_the_report() {
        let report = ReconcileReport { jobs_requeued: 3, uploads_ingested: 1, ..ReconcileReport::default() };
        let document = EmfMetrics::reconcile_document(&report, 1_700_000_000_000);
        assert_eq!(
            (document["JobsRequeued"].as_u64(), document["UploadsIngested"].as_u64()),
            (Some(3), Some(1))
        );
        let declared: Vec<&str> = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics declared")
            .iter()
            .filter_map(|metric| metric["Name"].as_str())
            .collect();
        let reported = serde_json::to_value(&report).expect("json");
        assert_eq!(
            declared.len(),
            reported.as_object().map_or(0, |fields| fields.len() - 1),
            "every count but `truncated`"
        );
        for name in declared {
            assert!(document[name].is_u64(), "{name} declared but missing");
        }
    }
}

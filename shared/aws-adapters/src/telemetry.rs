//! Logging: `tracing` to stderr, JSON on Lambda (or with `MEDIAFLOW_LOG_FORMAT=json`), filtered
//! by `RUST_LOG` (default `info`); job metrics in CloudWatch Embedded Metric Format on stdout, which
//! Lambda's log capture turns into CloudWatch metrics (namespace `mediaflow`).

use std::io::Write;

use pipeline::ports::{JobMetrics, Metrics};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("MEDIAFLOW_LOG_FORMAT").map(|format| format == "json").unwrap_or(false)
        || std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(true).with_span_list(true).try_init()
    } else {
        builder.try_init()
    };
}

/// [`Metrics`] as CloudWatch Embedded Metric Format lines on stdout: `Processed`, `Failed`,
/// `DurationMs`, `BytesIn`, `BytesOut`, by `Job` and by `Job` and `Outcome` (`ok` or the error code).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmfMetrics;

impl EmfMetrics {
    /// The EMF document of one job.
    pub fn document(metrics: &JobMetrics, timestamp_ms: u64) -> serde_json::Value {
        let failed = u64::from(metrics.outcome != "ok");
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
                        {"Name": "BytesOut", "Unit": "Bytes"}
                    ]
                }]
            },
            "Job": metrics.job.as_str(),
            "Outcome": metrics.outcome,
            "Processed": 1,
            "Failed": failed,
            "DurationMs": metrics.duration_ms,
            "BytesIn": metrics.bytes_in,
            "BytesOut": metrics.bytes_out,
        })
    }
}

impl Metrics for EmfMetrics {
    fn job_finished(&self, metrics: &JobMetrics) {
        let document = EmfMetrics::document(metrics, pipeline::time::Timestamp::now().as_millis());
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{document}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_documents_declare_every_metric_they_carry() {
        let metrics = JobMetrics {
            job: pipeline::JobKind::Thumbnail,
            outcome: "corrupt-input".into(),
            duration_ms: 12,
            bytes_in: 1000,
            bytes_out: 0,
        };
        let document = EmfMetrics::document(&metrics, 1_700_000_000_000);
        assert_eq!(document["Failed"], 1);
        assert_eq!(document["Outcome"], "corrupt-input");
        let declared: Vec<&str> = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics declared at _aws.CloudWatchMetrics[0].Metrics, where CloudWatch reads them")
            .iter()
            .map(|metric| metric["Name"].as_str().expect("a metric's name"))
            .collect();
        assert_eq!(declared, ["Processed", "Failed", "DurationMs", "BytesIn", "BytesOut"]);
        for name in declared {
            assert!(document[name].is_number(), "{name} declared but missing");
        }
    }
}

//! The `reconcile` function: run by an EventBridge schedule, it sends again the jobs of uploads
//! stuck past `MEDIAFLOW_RECONCILE_STUCK_AFTER`, completes uploads whose jobs all ended, and
//! ingests objects of the uploads bucket that have no asset (see `pipeline::reconcile`). It
//! answers each invocation with the run's report (JSON), which is also logged and emitted as
//! metrics. `reconcile once` runs it one time off Lambda (cron, a shell) and prints the report.
//!
//! Configuration: `aws_adapters::config` (it needs `UPLOADS_BUCKET`) and `pipeline::ReconcileSettings`.

use aws_adapters::Config;
use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use pipeline::{ReconcileReport, ReconcileSettings, Services, reconcile};
use tracing::{Instrument, info_span};

#[derive(Debug, Parser)]
#[command(about = "The mediaflow reconciler: serves Lambda's Runtime API, or runs once with `once`.")]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Reconcile once and print the report.
    Once,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_adapters::telemetry::init();
    let args = Args::parse();
    let config = Config::from_env()?;
    let uploads = config
        .uploads_bucket
        .clone()
        .ok_or("UPLOADS_BUCKET is not set: the reconciler needs the uploads bucket (the template sets it)")?;
    let settings = ReconcileSettings::from_lookup(uploads, |name| {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    })?;
    let sdk = aws_adapters::sdk_config().await;
    let services = aws_adapters::function::services(&config, &sdk);
    match args.mode {
        Some(Mode::Once) => {
            let report = reconcile(&services, &settings).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        None => {
            let (services, settings) = (&services, &settings);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
                run(services, settings, &event.context.request_id).await
            }))
            .await
        }
    }
}

async fn run(
    services: &Services,
    settings: &ReconcileSettings,
    request_id: &str,
) -> Result<ReconcileReport, lambda_runtime::Error> {
    let span = info_span!("reconcile_run", request_id);
    Ok(reconcile(services, settings).instrument(span).await?)
}

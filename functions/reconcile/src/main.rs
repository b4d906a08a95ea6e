//! The `reconcile` function: run by an EventBridge schedule, it sends again the jobs of uploads
//! stuck past `MEDIAFLOW_RECONCILE_STUCK_AFTER`, completes uploads whose jobs all ended, and
//! ingests objects of the uploads bucket that have no asset (see `pipeline::reconcile`). It
//! answers each invocation with the run's report (JSON), which is also logged and emitted as
//! metrics. `reconcile once` runs it one time off Lambda (cron, a shell) and prints the report.
//!
//! Configuration: `aws_adapters::config` (it needs `UPLOADS_BUCKET`) and `pipeline::ReconcileSettings`.

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::Function::reconcile().run().await
}

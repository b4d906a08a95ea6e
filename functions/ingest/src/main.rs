//! The `ingest` function: turns S3 upload and removal events into asset records and enqueues their jobs.
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `ingest worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::Function::ingest().run().await
}

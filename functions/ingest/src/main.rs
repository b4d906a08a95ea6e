//! The `ingest` function: turns S3 upload and removal events into asset records and enqueues their jobs.
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `ingest worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

use aws_adapters::ImageDecoders;
use aws_adapters::function::{Function, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::Ingest, None, ImageDecoders::default()).await
}

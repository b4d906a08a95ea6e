//! The `thumbnail` function: makes the thumbnails of an uploaded image.
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `thumbnail worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

use aws_adapters::function::{Function, run};
use pipeline::JobKind;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(Function::Job(JobKind::Thumbnail), None, media_heif::image_decoders()).await
}

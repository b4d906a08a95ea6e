//! The `thumbnail` function: makes the thumbnails of an uploaded image.
//!
//! On Lambda (behind its SQS queue) it serves the Runtime API; `thumbnail worker --queue-url URL` runs
//! the same handler as a long-polling worker. Configuration: see `aws_adapters::config`.

use pipeline::JobKind;

#[tokio::main]
async fn main() -> Result<(), runtime::Error> {
    runtime::Function::job(JobKind::Thumbnail).with_image_decoders(media_heif::image_decoders()).run().await
}

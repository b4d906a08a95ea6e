//! The use-cases: what each function does with one message.

mod completion;
mod ingest;
mod jobs;
mod metadata;
mod thumbnail;
mod transcode;

pub use ingest::handle_ingest_message;
pub use jobs::handle_job_message;
pub use transcode::estimate_transcode_seconds;

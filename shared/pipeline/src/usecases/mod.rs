//! The use-cases: what each function does with one message.

mod attempt;
mod claims;
mod completion;
mod ingest;
mod jobs;
mod metadata;
mod moderate;
mod parts;
mod reconcile;
mod thumbnail;

pub use ingest::handle_ingest_message;
pub use jobs::handle_job_message;
pub use reconcile::{ReconcileReport, ReconcileSettings, reconcile};

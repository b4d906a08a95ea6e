//! The pure core of the mediaflow pipeline: the asset model, the ports the functions talk to,
//! the use-cases (ingest, thumbnail, metadata), S3 event handling, batch handling with partial
//! failures, and the SQS worker loop. No AWS SDK here: `aws-adapters` implements the ports on S3,
//! DynamoDB, SQS and EventBridge. No FFmpeg either: the video jobs are behind the [`VideoJobs`]
//! port, implemented by `pipeline-video`, so the functions that never see a video stay small.
//!
//! Delivery is at least once, so every use-case is idempotent: asset writes are conditional on the
//! S3 event sequencer (an older event never overwrites a newer upload), jobs are claimed with
//! leases (a duplicate delivery does no duplicate work) and the completion event is published once
//! per upload.

pub mod batch;
pub mod config;
pub mod cost;
pub mod error;
pub mod error_codes;
pub mod job_support;
pub mod messages;
pub mod model;
pub mod moderation;
pub mod ports;
pub mod s3_event;
pub mod sequencer;
pub mod services;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod usage;
mod usecases;
pub mod video;
pub mod worker;

pub use error::{JobError, PortError, PortErrorKind};
pub use media_core::ErrorCode;
pub use model::{
    Asset, AssetId, AssetStatus, Derivative, DerivativeRole, Failure, JobKind, JobState, JobStatus,
};
pub use sequencer::Sequencer;
pub use services::{Services, Settings};
pub use usecases::{
    ReconcileReport, ReconcileSettings, handle_ingest_message, handle_job_message, reconcile,
};
pub use video::VideoJobs;

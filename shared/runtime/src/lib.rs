//! The only mediaflow crate that knows Lambda: `lambda_runtime` and `aws_lambda_events` are named
//! here and nowhere else. Every function binary is one [`Function`], built by one builder:
//!
//! ```no_run
//! # async fn main_of_transcode() -> Result<(), runtime::Error> {
//! # fn video() -> Result<std::sync::Arc<dyn pipeline::VideoJobs>, aws_adapters::config::ConfigError> { todo!() }
//! runtime::Function::job(pipeline::JobKind::Transcode).with_video_jobs(video).run().await
//! # }
//! ```
//!
//! Started without arguments it serves Lambda's Runtime API: SQS batches with partial batch
//! responses for the queue functions, the scheduled event for `reconcile`. `worker --queue-url URL`
//! runs a queue function's handler as a long-polling worker instead (jobs past Lambda's 15
//! minutes, or off AWS), and `reconcile once` runs the reconciler one time. What a function's job
//! needs (video jobs, HEIF decoders, a classifier) is checked at init, so a binary built without it
//! fails to start with a message saying what to add, instead of failing each message into a DLQ.

mod ingest_events;
mod sqs_events;
mod telemetry;

use std::sync::Arc;
use std::time::SystemTime;

use aws_adapters::Config;
use aws_adapters::config::ConfigError;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use media_core::{ImageDecoders, MediaFormat};
use pipeline::batch::{Delivery, handle_batch};
use pipeline::moderation::Classifier;
use pipeline::worker::{WorkerOptions, run_worker};
use pipeline::{JobError, JobKind, ReconcileReport, ReconcileSettings, Services, VideoJobs};
use tracing::{Instrument, info, info_span, warn};

/// What a function's `main` returns: any error that stops the process at init.
pub use lambda_runtime::Error;

/// Builds a function's video jobs from the environment (`pipeline_video::FfmpegVideoJobs::from_env`),
/// for the functions that handle videos; passed in by the binary so that the others never link
/// FFmpeg.
pub type VideoJobsFromEnv = fn() -> Result<Arc<dyn VideoJobs>, ConfigError>;

/// Builds the moderate function's classifier from the stack's choice (`config.moderation`),
/// passed in by that binary so that no other function links a model runtime or the Rekognition
/// client. `None` when moderation is off.
pub type ClassifierFromEnv =
    fn(&Config, &aws_config::SdkConfig) -> Result<Option<Arc<dyn Classifier>>, Error>;

/// Which function a binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// S3 events → assets and jobs.
    Ingest,
    /// One job kind's queue.
    Job(JobKind),
    /// The scheduled reconciler.
    Reconcile,
}

/// A function binary: its role and what its job needs, then [`run`](Function::run).
#[must_use = "a function does nothing until it is run"]
pub struct Function {
    role: Role,
    video: Option<VideoJobsFromEnv>,
    images: ImageDecoders,
    classifier: Option<ClassifierFromEnv>,
}

#[derive(Debug, Parser)]
#[command(about = "A mediaflow function: serves Lambda's Runtime API when started without a command.")]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Long-poll a queue and handle its messages (off Lambda); stops cleanly on SIGTERM or Ctrl-C.
    Worker {
        /// The queue to poll.
        #[arg(long, env = "QUEUE_URL")]
        queue_url: String,
        /// Messages handled at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
    /// Reconcile once and print the report (the reconcile function only).
    Once,
}

impl Function {
    /// The ingest function.
    pub fn ingest() -> Function {
        Function::with_role(Role::Ingest)
    }

    /// The function of `job`'s queue.
    pub fn job(job: JobKind) -> Function {
        Function::with_role(Role::Job(job))
    }

    /// The reconcile function.
    pub fn reconcile() -> Function {
        Function::with_role(Role::Reconcile)
    }

    fn with_role(role: Role) -> Function {
        Function { role, video: None, images: ImageDecoders::default(), classifier: None }
    }

    /// With the video jobs (FFmpeg), which the transcode, metadata and moderate functions need.
    pub fn with_video_jobs(self, video: VideoJobsFromEnv) -> Function {
        Function { video: Some(video), ..self }
    }

    /// With these image decoders (`media_heif::image_decoders()` adds HEIF and AVIF, which the
    /// functions that decode images need); the core's own otherwise.
    pub fn with_image_decoders(self, images: ImageDecoders) -> Function {
        Function { images, ..self }
    }

    /// With the moderation classifier, which the moderate function needs.
    pub fn with_classifier(self, classifier: ClassifierFromEnv) -> Function {
        Function { classifier: Some(classifier), ..self }
    }

    /// Runs the function: on Lambda when started without arguments, as a queue worker with
    /// `worker`, once with `once` (reconcile). Returns only on an init error (or, in worker mode,
    /// after a clean shutdown).
    pub async fn run(self) -> Result<(), Error> {
        pipeline::usage::process_started();
        telemetry::init();
        self.check_capabilities()?;
        let args = Args::parse();
        let mut config = Config::from_env()?;
        if matches!(args.mode, Some(Mode::Worker { .. })) {
            // Worker mode runs on instances paid for by the hour: its attempts are not billed by the
            // GB-second, whatever the environment copied from a function says.
            config.settings.lambda_memory_mb = None;
        }
        let video = self.video.map(|from_env| from_env()).transpose()?;
        let sdk = aws_adapters::sdk_config().await;
        let classifier = match self.classifier {
            Some(from_env) => from_env(&config, &sdk)?,
            None => None,
        };
        if self.role == Role::Job(JobKind::Moderate) && config.moderation.is_some() && classifier.is_none() {
            return Err(
                "the moderate function has no classifier for MEDIAFLOW_MODERATION: check its build".into()
            );
        }
        let images = self.images.with_embedded_previews(config.embedded_previews);
        let services = Services { video, images, classifier, ..aws_adapters::services(&config, &sdk) };
        match (self.role, args.mode) {
            (Role::Reconcile, mode) => run_reconcile(&config, services, mode).await,
            (role, None) => serve_queue_batches(role, services, aws_sdk_sqs::Client::new(&sdk)).await,
            (role, Some(Mode::Worker { queue_url, concurrency })) => {
                let source =
                    Arc::new(aws_adapters::SqsMessageSource::new(aws_sdk_sqs::Client::new(&sdk), queue_url));
                let options = WorkerOptions { concurrency, ..WorkerOptions::default() };
                let handler = move |delivery: Delivery| {
                    let services = services.clone();
                    async move { dispatch(role, &services, &delivery, None).await }
                };
                run_worker(source, options, handler, shutdown_signal()).await?;
                Ok(())
            }
            (_, Some(Mode::Once)) => {
                Err("`once` runs the reconciler only; a queue function runs as `worker`".into())
            }
        }
    }

    /// Fails when this binary lacks what its role needs, naming the builder call to add.
    fn check_capabilities(&self) -> Result<(), Error> {
        let needs_video =
            matches!(self.role, Role::Job(JobKind::Transcode | JobKind::Metadata | JobKind::Moderate));
        let needs_images =
            matches!(self.role, Role::Job(JobKind::Thumbnail | JobKind::Metadata | JobKind::Moderate));
        let name = self.name();
        if needs_video && self.video.is_none() {
            return Err(format!(
                "the {name} function handles videos but was built without video jobs: add \
                 `.with_video_jobs(pipeline_video::FfmpegVideoJobs::from_env)`"
            )
            .into());
        }
        if needs_images && !self.images.decodes(MediaFormat::Heif) {
            return Err(format!(
                "the {name} function decodes images but was built without HEIF and AVIF: add \
                 `.with_image_decoders(media_heif::image_decoders())`"
            )
            .into());
        }
        if self.role == Role::Job(JobKind::Moderate) && self.classifier.is_none() {
            return Err(
                "the moderate function was built without a classifier: add `.with_classifier(...)`".into()
            );
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        match self.role {
            Role::Ingest => "ingest",
            Role::Job(job) => job.as_str(),
            Role::Reconcile => "reconcile",
        }
    }
}

/// Serves SQS batches through the Runtime API until the process is stopped.
async fn serve_queue_batches(role: Role, services: Services, sqs: aws_sdk_sqs::Client) -> Result<(), Error> {
    info!(?role, "serving the Lambda Runtime API");
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (services, sqs) = (services.clone(), sqs.clone());
        async move { Ok::<_, Error>(handle_lambda_batch(role, &services, &sqs, event).await) }
    }))
    .await
}

async fn handle_lambda_batch(
    role: Role,
    services: &Services,
    sqs: &aws_sdk_sqs::Client,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    pipeline::usage::invocation_started();
    let deadline = event.context.deadline();
    let span =
        info_span!("batch", request_id = %event.context.request_id, records = event.payload.records.len());
    let retries = handle_batch(sqs_events::batch_messages(event.payload), |delivery| {
        let services = services.clone();
        async move { dispatch(role, &services, &delivery, Some(deadline)).await }
    })
    .instrument(span.clone())
    .await;
    for retry in &retries {
        let Some(not_before) = retry.not_before else { continue };
        let delay = JobError::delay_until(not_before);
        let message = &retry.message;
        match aws_adapters::delay_redelivery(sqs, &message.queue_arn, &message.receipt, delay).await {
            Ok(()) => {
                info!(parent: &span, message_id = %message.id, delay_s = delay.as_secs(), "redelivery delayed (a busy job's lease, or a part's back-off)")
            }
            Err(error) => {
                warn!(parent: &span, message_id = %message.id, %error, "could not delay a redelivery")
            }
        }
    }
    sqs_events::batch_response(&retries)
}

/// Handles one message as the function of `role` does.
async fn dispatch(
    role: Role,
    services: &Services,
    delivery: &Delivery,
    deadline: Option<SystemTime>,
) -> Result<(), JobError> {
    match role {
        Role::Ingest => match ingest_events::parse(&delivery.body) {
            Ok(message) => pipeline::handle_ingest_message(services, delivery, message).await,
            Err(error) => {
                // Retrying cannot fix a body that is not an S3 event: acknowledged, logged.
                warn!(%error, "ignoring a message that is not an S3 event");
                Ok(())
            }
        },
        Role::Job(job) => pipeline::handle_job_message(services, job, delivery, deadline).await,
        Role::Reconcile => Err(JobError::Internal("the reconciler has no queue".into())),
    }
}

/// The reconciler: on Lambda each (scheduled) invocation runs it and answers its report; `once`
/// runs it here and prints the report.
async fn run_reconcile(config: &Config, services: Services, mode: Option<Mode>) -> Result<(), Error> {
    let uploads = config
        .uploads_bucket
        .clone()
        .ok_or("UPLOADS_BUCKET is not set: the reconciler needs the uploads bucket (the template sets it)")?;
    let settings = ReconcileSettings::from_lookup(uploads, |name| {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    })?;
    match mode {
        Some(Mode::Once) => {
            let report = pipeline::reconcile(&services, &settings).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Some(Mode::Worker { .. }) => {
            Err("the reconciler has no queue: run it with `once`, or on a schedule".into())
        }
        None => {
            let (services, settings) = (&services, &settings);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
                let span = info_span!("reconcile_run", request_id = %event.context.request_id);
                Ok::<ReconcileReport, Error>(pipeline::reconcile(services, settings).instrument(span).await?)
            }))
            .await
        }
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_missing_what_its_job_needs_fails_at_init_saying_what_to_add() {
        let error = Function::job(JobKind::Transcode).check_capabilities().expect_err("no video");
        assert!(error.to_string().contains("with_video_jobs"), "{error}");
        let error = Function::job(JobKind::Thumbnail).check_capabilities().expect_err("no HEIF");
        assert!(error.to_string().contains("media_heif::image_decoders()"), "{error}");
        assert!(Function::ingest().check_capabilities().is_ok());
        assert!(Function::reconcile().check_capabilities().is_ok());
    }
}

//! The entry point every function binary shares: on Lambda it serves SQS batches through the
//! Runtime API with partial batch responses; with `worker --queue-url URL` it long-polls the queue
//! itself and runs the same handler (jobs past Lambda's 15 minutes, or off AWS).

use std::sync::Arc;
use std::time::SystemTime;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use media_core::ImageDecoders;
use pipeline::batch::{Delivery, batch_messages, batch_response, handle_batch};
use pipeline::moderation::Classifier;
use pipeline::time::SystemClock;
use pipeline::worker::{WorkerOptions, run_worker};
use pipeline::{JobError, JobKind, Services, VideoJobs};
use tracing::{Instrument, info, info_span, warn};

use crate::config::ConfigError;
use crate::{
    Config, DynamoAssetRepository, EventBridgePublisher, S3ObjectStore, SqsJobQueue, SqsMessageSource,
};

/// Which function a binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// S3 events → assets and jobs.
    Ingest,
    /// One job kind's queue.
    Job(JobKind),
}

#[derive(Debug, Parser)]
#[command(about = "A mediaflow function: serves Lambda's Runtime API, or polls its queue with `worker`.")]
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
}

/// Builds a function's video jobs from the environment (`pipeline_video::FfmpegVideoJobs::from_env`),
/// for the functions that handle videos; passed in by the binary so that the others never link FFmpeg.
pub type VideoJobsFromEnv = fn() -> Result<Arc<dyn VideoJobs>, ConfigError>;

/// Builds the moderate function's classifier from the stack's choice (`config.moderation`):
/// passed in by that binary so that no other function links a model runtime or the Rekognition
/// client. `None` when moderation is off.
pub type ClassifierFromEnv =
    fn(&Config, &aws_config::SdkConfig) -> Result<Option<Arc<dyn Classifier>>, lambda_runtime::Error>;

/// The ports on AWS, from `config` and the SDK configuration (without video jobs).
pub fn services(config: &Config, sdk: &aws_config::SdkConfig) -> Services {
    Services {
        objects: Arc::new(S3ObjectStore::new(crate::s3_client(sdk))),
        assets: Arc::new(DynamoAssetRepository::new(aws_sdk_dynamodb::Client::new(sdk), &config.table)),
        queue: Arc::new(SqsJobQueue::new(aws_sdk_sqs::Client::new(sdk), config.queues.clone())),
        events: Arc::new(EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), &config.event_bus)),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(crate::telemetry::EmfMetrics),
        settings: Arc::new(config.settings.clone()),
        video: None,
        images: ImageDecoders::default(),
        classifier: None,
    }
}

/// Runs `function`: on Lambda when started without arguments, as a queue worker with `worker`.
/// `video` builds the video jobs, for the functions that handle videos (transcode, metadata);
/// `images` are the image decoders, with HEIF/AVIF in the functions that decode images.
pub async fn run(
    function: Function,
    video: Option<VideoJobsFromEnv>,
    images: ImageDecoders,
) -> Result<(), lambda_runtime::Error> {
    run_with_classifier(function, video, images, None).await
}

/// [`run`], with the moderation `classifier` built at start (the Lambda init phase: a local
/// model is loaded and optimised once, not per message).
pub async fn run_with_classifier(
    function: Function,
    video: Option<VideoJobsFromEnv>,
    images: ImageDecoders,
    classifier: Option<ClassifierFromEnv>,
) -> Result<(), lambda_runtime::Error> {
    pipeline::usage::process_started();
    crate::telemetry::init();
    let args = Args::parse();
    let mut config = Config::from_env()?;
    if args.mode.is_some() {
        // Worker mode runs on instances paid for by the hour: its attempts are not billed by the
        // GB-second, whatever the environment copied from a function says.
        config.settings.lambda_memory_mb = None;
    }
    let video = video.map(|from_env| from_env()).transpose()?;
    let sdk = crate::sdk_config().await;
    let classifier = match classifier {
        Some(from_env) => from_env(&config, &sdk)?,
        None => None,
    };
    let images = images.with_embedded_previews(config.embedded_previews);
    let services = Services { video, images, classifier, ..services(&config, &sdk) };
    match args.mode {
        None => {
            info!(?function, "serving the Lambda Runtime API");
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let (services, sqs) = (services.clone(), sqs.clone());
                async move {
                    Ok::<_, lambda_runtime::Error>(
                        handle_lambda_batch(function, &services, &sqs, event).await,
                    )
                }
            }))
            .await
        }
        Some(Mode::Worker { queue_url, concurrency }) => {
            let source = Arc::new(SqsMessageSource::new(aws_sdk_sqs::Client::new(&sdk), queue_url));
            let options = WorkerOptions { concurrency, ..WorkerOptions::default() };
            let handler = move |delivery: Delivery| {
                let services = services.clone();
                async move { dispatch(function, &services, &delivery, None).await }
            };
            run_worker(source, options, handler, shutdown_signal()).await?;
            Ok(())
        }
    }
}

async fn handle_lambda_batch(
    function: Function,
    services: &Services,
    sqs: &aws_sdk_sqs::Client,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    pipeline::usage::invocation_started();
    let deadline = event.context.deadline();
    let span =
        info_span!("batch", request_id = %event.context.request_id, records = event.payload.records.len());
    let retries = handle_batch(batch_messages(event.payload), |delivery| {
        let services = services.clone();
        async move { dispatch(function, &services, &delivery, Some(deadline)).await }
    })
    .instrument(span.clone())
    .await;
    for retry in &retries {
        let Some(not_before) = retry.not_before else { continue };
        let delay = JobError::delay_until(not_before);
        let message = &retry.message;
        match crate::sqs::delay_redelivery(sqs, &message.queue_arn, &message.receipt, delay).await {
            Ok(()) => {
                info!(parent: &span, message_id = %message.id, delay_s = delay.as_secs(), "redelivery delayed (a busy job's lease, or a part's back-off)")
            }
            Err(error) => {
                warn!(parent: &span, message_id = %message.id, %error, "could not delay a redelivery")
            }
        }
    }
    batch_response(&retries)
}

/// Handles one message as `function` does.
pub async fn dispatch(
    function: Function,
    services: &Services,
    delivery: &Delivery,
    deadline: Option<SystemTime>,
) -> Result<(), JobError> {
    match function {
        Function::Ingest => pipeline::handle_ingest_message(services, delivery).await,
        Function::Job(job) => pipeline::handle_job_message(services, job, delivery, deadline).await,
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

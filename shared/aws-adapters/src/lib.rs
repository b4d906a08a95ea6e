//! The mediaflow pipeline on AWS: implementations of `pipeline`'s ports on S3 ([`S3ObjectStore`]),
//! DynamoDB ([`DynamoAssetRepository`]), SQS ([`SqsJobQueue`], [`SqsMessageSource`]) and
//! EventBridge ([`EventBridgePublisher`]); [`Config`] from the environment; the metrics
//! ([`telemetry::EmfMetrics`]); and [`services`], the ports wired for a function. Nothing here
//! knows Lambda: the `runtime` crate runs the functions.
//!
//! Clients are built from the standard AWS environment (`AWS_REGION`, credentials chain,
//! `AWS_ENDPOINT_URL` for LocalStack), as the SDK examples do.

mod classify;
pub mod config;
mod dynamodb;
mod eventbridge;
/// Content moderation with Amazon Rekognition, behind feature `rekognition` so that only the
/// moderate function links the Rekognition client.
#[cfg(feature = "rekognition")]
pub mod rekognition;
mod s3;
mod s3_requests;
mod sqs;
pub mod telemetry;

pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use config::Config;
pub use dynamodb::{DynamoAssetRepository, SHA256_INDEX, STATUS_INDEX};
pub use eventbridge::EventBridgePublisher;
/// The image decoders a function runs with (`media_heif::image_decoders()` adds HEIF and AVIF).
pub use media_core::ImageDecoders;
pub use s3::S3ObjectStore;
pub use sqs::{SqsJobQueue, SqsMessageSource, delay_redelivery, redrive};

/// The ports on AWS, from `config` and the SDK configuration; without video jobs, HEIF decoders or
/// a classifier, which the functions that need them add.
pub fn services(config: &Config, sdk: &aws_config::SdkConfig) -> pipeline::Services {
    pipeline::Services {
        objects: std::sync::Arc::new(S3ObjectStore::new(s3_client(sdk))),
        assets: std::sync::Arc::new(DynamoAssetRepository::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &config.table,
        )),
        queue: std::sync::Arc::new(SqsJobQueue::new(aws_sdk_sqs::Client::new(sdk), config.queues.clone())),
        events: std::sync::Arc::new(EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(sdk),
            &config.event_bus,
        )),
        clock: std::sync::Arc::new(pipeline::time::SystemClock),
        metrics: std::sync::Arc::new(telemetry::EmfMetrics),
        settings: std::sync::Arc::new(config.settings.clone()),
        video: None,
        images: ImageDecoders::default(),
        classifier: None,
    }
}

/// Loads the shared AWS SDK configuration from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

/// An S3 client for `sdk`: path-style addressing when an endpoint override (LocalStack, MinIO) is
/// set, since virtual-host names such as `bucket.localhost` do not resolve there. Its requests
/// count in the running attempt's ledger (`pipeline::usage`).
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style = sdk.endpoint_url().is_some() || std::env::var_os("MEDIAFLOW_S3_PATH_STYLE").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .interceptor(s3_requests::CountRequests)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

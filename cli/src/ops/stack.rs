//! Resource names from a deployed CloudFormation stack's outputs (`--stack NAME`). Here, in the CLI,
//! so that no function links the CloudFormation client.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_cloudformation::error::DisplayErrorContext;

/// The outputs of stack `name`, by output key.
pub async fn outputs(sdk: &aws_config::SdkConfig, name: &str) -> anyhow::Result<HashMap<String, String>> {
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let described = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("{}", DisplayErrorContext(&error)))
        .context("cloudformation:DescribeStacks")?;
    Ok(described
        .stacks()
        .iter()
        .flat_map(|stack| stack.outputs())
        .filter_map(|output| Some((output.output_key.clone()?, output.output_value.clone()?)))
        .collect())
}

/// The environment variables [`Config`](crate::Config) reads, from a stack's outputs.
pub fn config_variables(outputs: &HashMap<String, String>) -> Vec<(&'static str, String)> {
    [
        ("ASSETS_TABLE", "AssetsTableName"),
        ("UPLOADS_BUCKET", "UploadsBucketName"),
        ("DERIVATIVES_BUCKET", "DerivativesBucketName"),
        ("EVENT_BUS_NAME", "EventBusName"),
        ("THUMBNAIL_QUEUE_URL", "ThumbnailQueueUrl"),
        ("TRANSCODE_QUEUE_URL", "TranscodeQueueUrl"),
        ("TRANSCODE_LONG_QUEUE_URL", "TranscodeLongQueueUrl"),
        ("METADATA_QUEUE_URL", "MetadataQueueUrl"),
    ]
    .into_iter()
    .filter_map(|(variable, output)| Some((variable, outputs.get(output)?.clone())))
    .collect()
}

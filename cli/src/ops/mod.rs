//! Commands that operate a deployed stack: `assets`, `dlq`, `demo`, `trace`, `cost`. They use the standard AWS
//! environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for LocalStack) and take resource
//! names from `--stack NAME`'s CloudFormation outputs or from the environment variables the
//! functions read (`ASSETS_TABLE`, `UPLOADS_BUCKET`, `DERIVATIVES_BUCKET`, `<NAME>_QUEUE_URL`).

pub mod assets_command;
pub mod cost_command;
pub mod demo_command;
pub mod dlq_command;
pub mod stack;
pub mod timeline;
pub mod trace_command;

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_adapters::{Config, DynamoAssetRepository};

/// `--stack` shared by the operator commands.
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// Read resource names from this CloudFormation stack's outputs (else from the environment).
    #[arg(long, env = "MEDIAFLOW_STACK")]
    pub stack: Option<String>,
}

/// The deployed stack's names and clients.
pub struct Deployment {
    /// Resource names.
    pub config: Config,
    /// Stack outputs (empty without `--stack`).
    pub outputs: HashMap<String, String>,
    /// SDK configuration.
    pub sdk: aws_config::SdkConfig,
}

impl Deployment {
    /// Resolves names from `--stack` or the environment.
    pub async fn connect(args: &StackArgs) -> Result<Deployment> {
        let sdk = aws_adapters::sdk_config().await;
        let outputs = match &args.stack {
            Some(name) => stack::outputs(&sdk, name)
                .await
                .with_context(|| format!("reading the outputs of stack {name}"))?,
            None => HashMap::new(),
        };
        let from_stack: HashMap<&str, String> = stack::config_variables(&outputs).into_iter().collect();
        let config = Config::from_lookup(|name| {
            from_stack.get(name).cloned().or_else(|| std::env::var(name).ok().filter(|v| !v.is_empty()))
        })?;
        Ok(Deployment { config, outputs, sdk })
    }

    /// The assets table.
    pub fn assets(&self) -> DynamoAssetRepository {
        DynamoAssetRepository::new(aws_adapters::DynamoClient::new(&self.sdk), &self.config.table)
    }

    /// A stack output or, failing that, an environment variable.
    pub fn name(&self, output: &str, variable: &str) -> Result<String> {
        self.outputs
            .get(output)
            .cloned()
            .or_else(|| std::env::var(variable).ok().filter(|v| !v.is_empty()))
            .with_context(|| {
                format!("no stack output {output} and no {variable} in the environment (use --stack)")
            })
    }
}

/// Runs an async command on a fresh runtime.
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}

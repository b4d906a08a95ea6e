//! `mediaflow dlq redrive --queue NAME`: move a dead-letter queue's messages back to their queue.

use anyhow::{Result, bail};

use super::{Deployment, StackArgs, block_on};

/// `mediaflow dlq ...`.
#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DlqCommand {
    /// Move every message of NAME's dead-letter queue back to NAME's queue (after fixing the cause).
    Redrive {
        /// ingest, thumbnail, metadata, transcode or transcode-long.
        #[arg(long)]
        queue: String,
        #[command(flatten)]
        stack: StackArgs,
    },
}

/// The output-key stem of a queue name (`transcode-long` → `TranscodeLong`).
fn stem(queue: &str) -> Result<&'static str> {
    Ok(match queue {
        "ingest" => "Ingest",
        "thumbnail" => "Thumbnail",
        "metadata" => "Metadata",
        "transcode" => "Transcode",
        "transcode-long" => "TranscodeLong",
        other => bail!("unknown queue {other:?}: ingest, thumbnail, metadata, transcode or transcode-long"),
    })
}

/// Runs `mediaflow dlq`.
pub fn run(args: DlqArgs) -> Result<bool> {
    let DlqCommand::Redrive { queue, stack } = args.command;
    block_on(async move {
        let stem = stem(&queue)?;
        let deployment = Deployment::connect(&stack).await?;
        let variable = queue.to_ascii_uppercase().replace('-', "_");
        let target = deployment.name(&format!("{stem}QueueUrl"), &format!("{variable}_QUEUE_URL"))?;
        let dlq = deployment
            .name(&format!("{stem}DeadLetterQueueUrl"), &format!("{variable}_DEAD_LETTER_QUEUE_URL"))?;
        let client = aws_sdk_sqs::Client::new(&deployment.sdk);
        let moved = aws_adapters::redrive(&client, &dlq, &target).await?;
        println!("moved {moved} message(s) from the {queue} dead-letter queue back to its queue");
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_map_to_output_keys() {
        assert_eq!(stem("transcode-long").ok(), Some("TranscodeLong"));
        assert_eq!(stem("thumbnail").ok(), Some("Thumbnail"));
        assert!(stem("thumbnails").is_err());
    }
}

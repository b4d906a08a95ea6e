//! `mediaflow trace <s3://bucket/key | asset-id> [--json]`: where an upload's time and money went.

use anyhow::Result;
use pipeline::ports::AssetQueries;

use super::assets_command::asset_id;
use super::timeline::Timeline;
use super::{Deployment, StackArgs, block_on};

/// `mediaflow trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// `s3://bucket/key` of the upload, or the 32-hex-digit asset id.
    asset: String,
    /// Print the timeline's data as JSON instead of the chart.
    #[arg(long)]
    json: bool,
    /// Width of the chart's bars, in characters.
    #[arg(long, default_value_t = 40)]
    width: usize,
    #[command(flatten)]
    stack: StackArgs,
}

/// Runs `mediaflow trace`; `Ok(false)` when there is no such asset.
pub fn run(args: TraceArgs) -> Result<bool> {
    block_on(async move {
        let repository = Deployment::connect(&args.stack).await?.assets();
        let Some(asset) = repository.get(&asset_id(&args.asset)?).await? else {
            eprintln!("mediaflow: no asset {}", args.asset);
            return Ok(false);
        };
        let timeline = Timeline::of(&asset);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&timeline)?);
        } else {
            print!("{}", timeline.text(args.width.clamp(10, 200)));
        }
        Ok(true)
    })
}

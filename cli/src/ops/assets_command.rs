//! `mediaflow assets get|list|duplicates`: read the assets table.

use anyhow::{Context, Result, bail};
use pipeline::ports::AssetQueries;
use pipeline::{Asset, AssetId, AssetStatus};

use super::{Deployment, StackArgs, block_on};

/// `mediaflow assets ...`.
#[derive(Debug, clap::Args)]
pub struct AssetsArgs {
    #[command(subcommand)]
    command: AssetsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AssetsCommand {
    /// One asset, by `s3://bucket/key` or asset id.
    Get {
        /// `s3://bucket/key` of the upload, or the 32-hex-digit asset id.
        asset: String,
        /// Print the whole record as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Assets with a status, most recently updated first.
    List {
        /// received, processing, ready, partial, failed or deleted.
        #[arg(long, default_value = "ready")]
        status: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON record per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Other assets with the same bytes (same SHA-256) as this one.
    Duplicates {
        /// The asset id (or `s3://bucket/key`).
        asset: String,
        #[command(flatten)]
        stack: StackArgs,
    },
}

/// Parses `s3://bucket/key` or an asset id.
pub(crate) fn asset_id(text: &str) -> Result<AssetId> {
    if let Some(rest) = text.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').context("expected s3://bucket/key")?;
        return Ok(AssetId::for_object(bucket, key));
    }
    AssetId::parse(text).with_context(|| format!("{text:?} is neither s3://bucket/key nor an asset id"))
}

/// One line about an asset.
pub fn summary_line(asset: &Asset) -> String {
    let derivatives = asset.derivatives().count();
    let error = asset
        .error
        .iter()
        .chain(asset.jobs.values().filter_map(|job| job.error.as_ref()))
        .map(|error| error.code.as_str())
        .next()
        .unwrap_or("");
    format!(
        "{}  {:<10} {:<7} {:>3} derivatives  {}  s3://{}/{} {error}",
        asset.id,
        asset.status,
        format!("{:?}", asset.kind).to_lowercase(),
        derivatives,
        asset.updated_at,
        asset.source.bucket,
        asset.source.key
    )
}

/// Runs `mediaflow assets`.
pub fn run(args: AssetsArgs) -> Result<bool> {
    block_on(async move {
        match args.command {
            AssetsCommand::Get { asset, json, stack } => {
                let repository = Deployment::connect(&stack).await?.assets();
                let Some(found) = repository.get(&asset_id(&asset)?).await? else {
                    eprintln!("mediaflow: no asset {asset}");
                    return Ok(false);
                };
                if json {
                    println!("{}", serde_json::to_string_pretty(&found)?);
                } else {
                    println!("{}", summary_line(&found));
                    for (job, state) in &found.jobs {
                        let error = state
                            .error
                            .as_ref()
                            .map(|e| format!(" {}: {}", e.code, e.message))
                            .unwrap_or_default();
                        println!("  job {job:<9} {:?} attempts {}{error}", state.status, state.attempts);
                    }
                    for derivative in found.derivatives() {
                        println!("  {} ({} bytes)", derivative.key, derivative.bytes);
                    }
                }
                Ok(true)
            }
            AssetsCommand::List { status, limit, json, stack } => {
                let Some(status) = AssetStatus::parse(&status) else {
                    bail!(
                        "unknown status {status:?}: received, processing, ready, partial, failed or deleted"
                    );
                };
                let repository = Deployment::connect(&stack).await?.assets();
                for asset in repository.list_by_status(status, limit).await? {
                    if json {
                        println!("{}", serde_json::to_string(&asset)?);
                    } else {
                        println!("{}", summary_line(&asset));
                    }
                }
                Ok(true)
            }
            AssetsCommand::Duplicates { asset, stack } => {
                let repository = Deployment::connect(&stack).await?.assets();
                let id = asset_id(&asset)?;
                let found = repository.get(&id).await?.with_context(|| format!("no asset {asset}"))?;
                let sha256 = found.sha256.context("the asset has no checksum yet (metadata job not done)")?;
                for other in
                    repository.find_by_sha256(&sha256).await?.into_iter().filter(|other| *other != id)
                {
                    match repository.get(&other).await? {
                        Some(duplicate) => println!("{}", summary_line(&duplicate)),
                        None => println!("{other}"),
                    }
                }
                Ok(true)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_named_by_s3_url_or_id() {
        let id = AssetId::for_object("uploads", "a/b c.jpg");
        assert_eq!(asset_id("s3://uploads/a/b c.jpg").ok(), Some(id.clone()));
        assert_eq!(asset_id(id.as_str()).ok(), Some(id));
        assert!(asset_id("s3://no-key").is_err());
        assert!(asset_id("cat.jpg").is_err());
    }
}

//! `mediaflow cost` (being written).

use anyhow::Result;

/// `mediaflow cost`.
#[derive(Debug, clap::Args)]
pub struct CostArgs {}

/// Runs `mediaflow cost`.
pub fn run(_args: CostArgs) -> Result<bool> {
    anyhow::bail!("not yet")
}

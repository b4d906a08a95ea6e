//! `mediaflow cost`: what the uploads completed over a period cost, by kind and outcome, how long
//! they took, what their retries cost, and at which upload rate always-on workers would be
//! cheaper than Lambda. The numbers come from the attempts each asset record keeps (see
//! `pipeline::usage`); the report itself is a pure function (`cost_command/report.rs`), printed as text
//! tables or, with `--json`, as is.

mod break_even;
mod report;
mod text;

use std::time::Duration;

use anyhow::{Context, Result};
use pipeline::time::Timestamp;

use super::{Deployment, StackArgs, block_on};
use break_even::BreakEvenInputs;
use report::{COMPLETED, Period};

/// `mediaflow cost`.
#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// The period: the completed uploads whose record changed within this long (`90m`, `24h`,
    /// `7days`).
    #[arg(long, default_value = "24h", value_parser = since)]
    since: Duration,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    break_even: BreakEvenInputs,
    #[command(flatten)]
    stack: StackArgs,
}

fn since(text: &str) -> Result<Duration, String> {
    pipeline::config::parse_duration("--since", text).map_err(|error| error.reason)
}

/// Runs `mediaflow cost`.
pub fn run(args: CostArgs) -> Result<bool> {
    block_on(async move {
        let until = Timestamp::now();
        let period = Period { since: until.minus(args.since), until };
        let repository = Deployment::connect(&args.stack).await?.assets();
        let mut assets = Vec::new();
        for status in COMPLETED {
            let found = repository
                .list_updated_since(status, period.since)
                .await
                .with_context(|| format!("reading the {status} assets changed since {}", period.since))?;
            assets.extend(found);
        }
        let report = report::report(&assets, &args.break_even, period);
        if args.json {
            if report.uploads == 0 {
                eprintln!("no completed uploads changed since {}", period.since);
            }
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", text::render(&report));
        }
        Ok(true)
    })
}

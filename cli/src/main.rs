//! The `mediaflow` command: runs the media core on local files.

mod inputs;
mod metadata_command;
mod process_command;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mediaflow: thumbnails, renditions and metadata for images and videos.
#[derive(Debug, Parser)]
#[command(name = "mediaflow", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make thumbnails and metadata.json for every image under the given paths.
    Process(process_command::ProcessArgs),
    /// Print the metadata of images.
    Metadata(metadata_command::MetadataArgs),
}

fn main() -> ExitCode {
    // clap exits with status 2 on a usage error, as documented.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process(args) => process_command::run(args),
        Command::Metadata(args) => metadata_command::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("mediaflow: {error:#}");
            ExitCode::from(2)
        }
    }
}

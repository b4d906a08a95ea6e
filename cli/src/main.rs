//! The `mediaflow` command: runs the media core on local files, and operates a deployed stack.

mod inputs;
mod metadata_command;
mod moderate_command;
mod ops;
mod probe_command;
mod process_command;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mediaflow: thumbnails, renditions and metadata for images, videos and audio files.
#[derive(Debug, Parser)]
#[command(name = "mediaflow", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make thumbnails (images), posters and renditions (videos), AAC renditions (audio) and
    /// metadata.json for every input.
    Process(process_command::ProcessArgs),
    /// Print the metadata of images.
    Metadata(metadata_command::MetadataArgs),
    /// Print the probe of videos and audio files: container, duration, bit rate and streams.
    Probe(probe_command::ProbeArgs),
    /// Classify images and videos for content moderation with the local open_nsfw model.
    Moderate(moderate_command::ModerateArgs),
    /// Read the assets of a deployed stack (get, list, duplicates).
    Assets(ops::assets_command::AssetsArgs),
    /// The timeline of one upload: ingest and each job's attempts, queue waits, cold starts,
    /// durations, errors, bytes and cost.
    Trace(ops::trace_command::TraceArgs),
    /// What uploads cost over a period, by kind and outcome, and the Lambda-versus-workers
    /// break-even.
    Cost(ops::cost_command::CostArgs),
    /// Operate the dead-letter queues of a deployed stack (redrive).
    Dlq(ops::dlq_command::DlqArgs),
    /// Upload sample media to a deployed stack, wait for the results, print them and write a gallery.
    Demo(ops::demo_command::DemoArgs),
}

fn main() -> ExitCode {
    // clap exits with status 2 on a usage error, as documented.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process(args) => process_command::run(args),
        Command::Metadata(args) => metadata_command::run(args),
        Command::Probe(args) => probe_command::run(args),
        Command::Moderate(args) => moderate_command::run(args),
        Command::Assets(args) => ops::assets_command::run(args),
        Command::Trace(args) => ops::trace_command::run(args),
        Command::Cost(args) => ops::cost_command::run(args),
        Command::Dlq(args) => ops::dlq_command::run(args),
        Command::Demo(args) => ops::demo_command::run(args),
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

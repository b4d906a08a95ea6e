//! `mediaflow metadata`: print what the core knows about images.

use std::path::PathBuf;

use clap::Args;
use media_core::{ErrorCode, Limits};

/// Options of `mediaflow metadata`.
#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// One compact JSON object per line, instead of pretty JSON.
    #[arg(long)]
    json: bool,
    /// Image files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs the command; `Ok(false)` when any file failed.
pub fn run(args: MetadataArgs) -> anyhow::Result<bool> {
    let limits = Limits::default();
    let images = media_heif::image_decoders();
    let mut all_ok = true;
    for file in &args.files {
        let result = std::fs::read(file)
            .map_err(|e| (ErrorCode::IO_ERROR, e.to_string()))
            .and_then(|bytes| images.read_metadata(&bytes, &limits).map_err(|e| (e.code(), e.to_string())));
        match result {
            Ok(metadata) => {
                let value = serde_json::json!({ "input": file.display().to_string(), "metadata": metadata });
                if args.json {
                    println!("{}", serde_json::to_string(&value)?);
                } else {
                    println!("{}", serde_json::to_string_pretty(&value)?);
                }
            }
            Err((code, message)) => {
                all_ok = false;
                let value = serde_json::json!({
                    "input": file.display().to_string(),
                    "error": { "code": code, "message": message },
                });
                if args.json {
                    println!("{}", serde_json::to_string(&value)?);
                } else {
                    eprintln!("{}: {code}: {message}", file.display());
                }
            }
        }
    }
    Ok(all_ok)
}

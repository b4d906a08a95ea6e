//! Classifies pictures with open_nsfw and says how long each step took; the benchmark script
//! (benches/compare-onnxruntime.sh) runs it on one core and under `/usr/bin/time -v` for peak RSS.
//!
//! Usage: classify [--runs N] [--write-tensors DIR] PICTURE...
//! The model comes from MEDIAFLOW_MODEL_PATH (or the default path, see `model_path_from_env`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use moderation_local::{OpenNsfw, model_path_from_env, preprocess};

fn main() -> anyhow::Result<()> {
    let mut runs = 1usize;
    let mut tensors: Option<PathBuf> = None;
    let mut pictures = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().context("--runs N")?.parse()?,
            "--write-tensors" => tensors = Some(args.next().context("--write-tensors DIR")?.into()),
            _ => pictures.push(PathBuf::from(arg)),
        }
    }
    if pictures.is_empty() || runs == 0 {
        bail!("usage: classify [--runs N] [--write-tensors DIR] PICTURE...");
    }
    let start = Instant::now();
    let model = OpenNsfw::load(&model_path_from_env())?;
    println!("load_ms {:.1}", start.elapsed().as_secs_f64() * 1000.0);
    let (mut preprocess_ms, mut infer_ms) = (0.0, 0.0);
    for picture in &pictures {
        let image = image::open(picture).with_context(|| picture.display().to_string())?.to_rgb8();
        let start = Instant::now();
        let input = preprocess(&image)?;
        preprocess_ms += start.elapsed().as_secs_f64() * 1000.0;
        if let Some(dir) = &tensors {
            let name = picture.file_stem().context("a file name")?.to_string_lossy();
            let bytes: Vec<u8> = input.iter().flat_map(|value| value.to_le_bytes()).collect();
            std::fs::write(dir.join(format!("{name}.f32")), bytes)?;
        }
        let mut score = model.score(&input)?; // the first run also warms the caches up
        let start = Instant::now();
        for _ in 0..runs {
            score = model.score(&input)?;
        }
        infer_ms += start.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        println!("{} {score:.6}", picture.display());
    }
    println!("preprocess_ms {:.2}", preprocess_ms / pictures.len() as f64);
    println!("infer_ms {:.2}", infer_ms / pictures.len() as f64);
    Ok(())
}

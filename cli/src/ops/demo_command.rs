//! `mediaflow demo`: upload sample media to a deployed stack, wait for the pipeline, print a table
//! and write an HTML gallery of every derivative with its metadata.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use media_core::MediaKind;
use pipeline::moderation::ModerationDecision;
use pipeline::ports::AssetRepository;
use pipeline::time::Timestamp;
use pipeline::{Asset, AssetId, DerivativeRole};

use super::timeline::{Timeline, usd};
use super::{Deployment, StackArgs, block_on};

/// `mediaflow demo [--stack NAME] [--out DIR] PATH...`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Files or folders of media to upload.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where the gallery (index.html and the downloaded derivatives) goes.
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Give up waiting for an asset after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    #[command(flatten)]
    stack: StackArgs,
}

struct Upload {
    file: PathBuf,
    id: AssetId,
    uploaded_at: Timestamp,
}

/// Runs `mediaflow demo`; `Ok(false)` when an asset did not become ready.
pub fn run(args: DemoArgs) -> Result<bool> {
    block_on(async move {
        let deployment = Deployment::connect(&args.stack).await?;
        let bucket = deployment.name("UploadsBucketName", "UPLOADS_BUCKET")?;
        let s3 = aws_adapters::s3_client(&deployment.sdk);
        let repository = deployment.assets();
        let files = crate::inputs::collect_inputs(&args.paths);
        let mut uploads = Vec::new();
        for input in
            files.into_iter().filter(|input| input.relative.extension().is_none_or(|ext| ext != "md"))
        {
            let key = format!("demo/{}", input.relative.display());
            let body = ByteStream::from_path(&input.path)
                .await
                .with_context(|| format!("reading {}", input.path.display()))?;
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .with_context(|| format!("uploading {key}"))?;
            println!("uploaded s3://{bucket}/{key}");
            let id = AssetId::for_object(&bucket, &key);
            uploads.push(Upload { file: input.relative.clone(), id, uploaded_at: Timestamp::now() });
        }
        let mut finished = Vec::new();
        for upload in &uploads {
            let asset = wait_final(&repository, &upload.id, Duration::from_secs(args.timeout)).await?;
            // Upload to completion, from the record's own clock (the waits here are sequential).
            let took = asset.as_ref().map_or(Duration::ZERO, |a| {
                Duration::from_millis(a.updated_at.millis_since(upload.uploaded_at))
            });
            finished.push((upload, asset, took));
        }
        println!();
        println!(
            "{:<34} {:<6} {:<8} {:>5}  {:<40} {:<22} {:>8} {:>11}",
            "file", "kind", "status", "deriv", "metadata", "moderation", "ready in", "cost"
        );
        for (upload, asset, took) in &finished {
            match asset {
                Some(asset) => println!(
                    "{:<34} {:<6} {:<8} {:>5}  {:<40} {:<22} {:>7.1}s {:>11}",
                    upload.file.display(),
                    format!("{:?}", asset.kind).to_lowercase(),
                    asset.status,
                    asset.derivatives().count(),
                    key_metadata(asset),
                    moderation_summary(asset),
                    took.as_secs_f64(),
                    usd(asset.cost.map_or(0.0, |cost| cost.total_usd)),
                ),
                None => println!("{:<34} timed out after {}s", upload.file.display(), args.timeout),
            }
        }
        for kind in [MediaKind::Image, MediaKind::Video, MediaKind::Audio] {
            let mut times: Vec<Duration> = finished
                .iter()
                .filter_map(|(_, asset, took)| asset.as_ref().filter(|a| a.kind == kind).map(|_| *took))
                .collect();
            let costs: Vec<f64> = finished
                .iter()
                .filter_map(|(_, asset, _)| asset.as_ref().filter(|a| a.kind == kind)?.cost)
                .map(|cost| cost.total_usd)
                .collect();
            if let Some(summary) = latency_summary(&mut times) {
                let per_thousand = 1000.0 * costs.iter().sum::<f64>() / costs.len().max(1) as f64;
                println!(
                    "upload → ready, {}: {summary}; cost per 1,000 uploads {}",
                    format!("{kind:?}").to_lowercase(),
                    usd(per_thousand)
                );
            }
        }
        println!("where each upload's time and money went: mediaflow trace s3://{bucket}/<key>");
        let derivatives_bucket = deployment.config.derivatives_bucket.clone();
        let page = write_gallery(&s3, &derivatives_bucket, &args.out, &finished).await?;
        println!("\ngallery: {}", page.display());
        Ok(finished
            .iter()
            .all(|(_, asset, _)| asset.as_ref().is_some_and(|a| a.status == pipeline::AssetStatus::Ready)))
    })
}

async fn wait_final(
    repository: &impl AssetRepository,
    id: &AssetId,
    timeout: Duration,
) -> Result<Option<Asset>> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(asset) = repository.get(id).await?
            && asset.status.is_final()
            && asset.completed_sequencer.is_some()
        {
            return Ok(Some(asset));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(None)
}

/// The metadata a person looks at first: size, camera or codec, duration (for sound alone: codec,
/// rate, channels, duration); or the error.
fn key_metadata(asset: &Asset) -> String {
    if let Some(error) = asset.error.iter().chain(asset.jobs.values().filter_map(|j| j.error.as_ref())).next()
    {
        return error.code.to_string();
    }
    let Some(metadata) = &asset.metadata else { return String::new() };
    if let Some(video) = metadata["video"].get(0) {
        return format!(
            "{}x{} {} {:.1}s",
            video["display_width"],
            video["display_height"],
            video["codec"].as_str().unwrap_or("?"),
            metadata["duration_seconds"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(audio) = metadata["audio"].get(0) {
        return format!(
            "{} {} Hz {} ch {:.1}s",
            audio["codec"].as_str().unwrap_or("?"),
            audio["sample_rate"],
            audio["channels"],
            metadata["duration_seconds"].as_f64().unwrap_or(0.0)
        );
    }
    let camera = metadata["exif"]["model"].as_str().map(|model| format!(" {model}")).unwrap_or_default();
    format!(
        "{}x{} {}{camera}",
        metadata["display_width"],
        metadata["display_height"],
        metadata["format"].as_str().unwrap_or("?")
    )
}

/// The moderation decision and its worst label (`allowed nsfw 0.002`), `-` when not moderated
/// (audio, or a stack with moderation off).
fn moderation_summary(asset: &Asset) -> String {
    let Some(moderation) = &asset.moderation else { return "-".into() };
    let decision = match moderation.decision {
        ModerationDecision::Allowed => "allowed",
        ModerationDecision::Flagged => "flagged",
    };
    match moderation.labels.first() {
        Some(label) => format!("{decision} {} {:.3}", label.name, label.confidence),
        None => decision.to_owned(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn write_gallery(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    out: &Path,
    finished: &[(&Upload, Option<Asset>, Duration)],
) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut html = String::from(
        "<!doctype html><meta charset=utf-8><title>mediaflow demo</title>\
         <style>body{font-family:sans-serif;margin:2em}section{border-top:1px solid #ccc;padding:1em 0}\
         img,video{max-width:480px;margin:.3em;vertical-align:top}pre{background:#f6f6f6;padding:.5em;\
         max-height:20em;overflow:auto}table.timeline{border-collapse:collapse;font-size:.85em;margin:.5em 0}\
         table.timeline td{padding:1px .5em;white-space:nowrap}td.lane{position:relative;width:32em;\
         background:#f6f6f6}td.lane span{position:absolute;top:3px;bottom:3px}span.wait{background:#cde}\
         span.run.ok{background:#4a8}span.run.failed{background:#d54}</style><h1>mediaflow demo</h1>",
    );
    for (upload, asset, took) in finished {
        let _ = write!(html, "<section><h2>{}</h2>", escape(&upload.file.display().to_string()));
        let Some(asset) = asset else {
            html.push_str("<p>timed out</p></section>");
            continue;
        };
        let _ = write!(
            html,
            "<p>{} · {} · ready in {:.1} s · cost {} · moderation: <b>{}</b> · asset <code>{}</code></p>",
            format!("{:?}", asset.kind).to_lowercase(),
            asset.status,
            took.as_secs_f64(),
            usd(asset.cost.map_or(0.0, |cost| cost.total_usd)),
            escape(&moderation_summary(asset)),
            asset.id
        );
        // Where the time went: each attempt's queue wait (light) and run (green, red if it failed).
        html.push_str(&Timeline::of(asset).html());
        for derivative in asset.derivatives() {
            let local = out.join(&derivative.key);
            if let Some(parent) = local.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let object = s3
                .get_object()
                .bucket(bucket)
                .key(&derivative.key)
                .send()
                .await
                .with_context(|| format!("downloading {}", derivative.key))?;
            let bytes = object.body.collect().await.context("reading a derivative")?.into_bytes();
            std::fs::write(&local, &bytes)?;
            let src = escape(&derivative.key);
            let label = format!(
                "{} {}{}",
                derivative.key.rsplit('/').next().unwrap_or_default(),
                derivative.width.zip(derivative.height).map(|(w, h)| format!("{w}×{h} ")).unwrap_or_default(),
                derivative.bytes
            );
            match derivative.role {
                DerivativeRole::Thumbnail | DerivativeRole::Poster => {
                    let _ = write!(
                        html,
                        "<figure style=display:inline-block><img src=\"{src}\"><figcaption>{} B</figcaption></figure>",
                        escape(&label)
                    );
                }
                DerivativeRole::Rendition => {
                    let _ = write!(
                        html,
                        "<figure style=display:inline-block><video controls src=\"{src}\"></video><figcaption>{} B</figcaption></figure>",
                        escape(&label)
                    );
                }
                DerivativeRole::Audio => {
                    let _ = write!(
                        html,
                        "<figure style=display:inline-block><audio controls src=\"{src}\"></audio><figcaption>{} B</figcaption></figure>",
                        escape(&label)
                    );
                }
                DerivativeRole::HlsPlaylist => {
                    let _ = write!(html, "<div><a href=\"{src}\">{}</a></div>", escape(&label));
                }
            }
        }
        // HLS playlists reference segments: fetch the whole hls/ folder so the links work offline.
        let mut pages = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(format!("{}hls/", asset.id.derivatives_prefix()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.context("listing HLS files")?.contents() {
                let Some(key) = object.key() else { continue };
                let local = out.join(key);
                if local.exists() {
                    continue;
                }
                if let Some(parent) = local.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let body =
                    s3.get_object().bucket(bucket).key(key).send().await.context("downloading HLS")?.body;
                std::fs::write(&local, body.collect().await.context("reading HLS")?.into_bytes())?;
            }
        }
        if let Some(metadata) = &asset.metadata {
            let _ = write!(
                html,
                "<details><summary>metadata</summary><pre>{}</pre></details>",
                escape(&serde_json::to_string_pretty(metadata)?)
            );
        }
        html.push_str("</section>");
    }
    let page = out.join("index.html");
    std::fs::write(&page, html).with_context(|| format!("writing {}", page.display()))?;
    Ok(std::fs::canonicalize(&page).unwrap_or(page))
}

/// `p50 … p95 … (n=…)` of `times` (nearest rank), or `None` when there are none.
fn latency_summary(times: &mut [Duration]) -> Option<String> {
    times.sort();
    let rank = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    (!times.is_empty()).then(|| {
        format!(
            "p50 {:.1} s, p95 {:.1} s (n={})",
            rank(0.50).as_secs_f64(),
            rank(0.95).as_secs_f64(),
            times.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_takes_nearest_rank_percentiles() {
        let mut times: Vec<Duration> = (1..=20).rev().map(Duration::from_secs).collect();
        assert_eq!(latency_summary(&mut times).as_deref(), Some("p50 10.0 s, p95 19.0 s (n=20)"));
        assert_eq!(latency_summary(&mut []), None);
    }
}

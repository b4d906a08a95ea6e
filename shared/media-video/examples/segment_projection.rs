//! Times the parts of a segment-parallel transcode on this machine, next to the serial
//! [`transcode()`](media_video::transcode()) of the same clip with the same options, for
//! `benches/segment-projection.sh`, which projects from them the wall time of a long video split
//! across Lambda invocations.
//!
//! ```text
//! cargo run --release -p media-video --example segment_projection -- CLIP [--long LONG_FILE]
//!     [--segment-seconds 30,10] [--work-dir DIR] [--no-serial]
//! ```
//!
//! On `CLIP` (a short clip, read whole by every step): probe, poster, the serial transcode, and for
//! each segment target: `plan_segments`, every `transcode_segment` (the whole ladder), each rung
//! alone on the one full-length segment whose length is nearest the target, `transcode_audio_track`
//! and `join_segments` (in the folder the parts were fetched into, as the join function does). On
//! `LONG_FILE`: the per-file steps whose cost grows with the file rather than with a segment: probe,
//! `plan_segments`, poster, `transcode_audio_track`.
//!
//! Every step reads its input as the functions read S3: through a ranged [`VideoSource`] (here over
//! the local file, with the functions' cache settings), a fresh one per step as each step is its
//! own invocation, so the bytes and requests it would have fetched are counted. Each step is timed
//! with [`Instant`] and printed as a table row on stderr and as one JSON line on stdout
//! (`{"step":"segment","file":"clip","target_seconds":30,...}`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use media_video::{
    Probe, RangeReader, ReadCacheOptions, SegmentOutputs, TranscodeOptions, VideoLimits, VideoSource,
    default_ladder,
};
use serde_json::{Value, json};

const USAGE: &str = "usage: segment_projection CLIP [--long LONG_FILE] [--segment-seconds 30,10] [--work-dir DIR] [--no-serial]";

/// Ranged reads of a local file, standing in for the functions' ranged S3 GETs.
struct FileRanges {
    file: File,
    size: u64,
}

impl RangeReader for FileRanges {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, length: usize) -> std::io::Result<Vec<u8>> {
        let mut buffer = vec![0; length];
        self.file.read_exact_at(&mut buffer, offset)?;
        Ok(buffer)
    }
}

/// A fresh ranged source over `path`, with the cache the functions give their S3 source
/// (`shared/pipeline-video/src/source.rs`): one per step, as each step is its own invocation.
fn ranged_source(path: &Path) -> anyhow::Result<VideoSource> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata()?.len();
    let cache = ReadCacheOptions { block_bytes: 1 << 20, max_bytes: 32 << 20 };
    Ok(VideoSource::ranged_with_cache(path.display().to_string(), FileRanges { file, size }, cache))
}

/// What a step fetched from its source.
fn fetched(source: &VideoSource) -> (u64, u64) {
    source.stats().map_or((0, 0), |stats| (stats.bytes_read, stats.requests))
}

/// Files and bytes under `dir`, recursively.
fn files_and_bytes(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    if !dir.exists() {
        return Ok((0, 0));
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let (more_files, more_bytes) = files_and_bytes(&entry.path())?;
            files += more_files;
            bytes += more_bytes;
        } else {
            files += 1;
            bytes += entry.metadata()?.len();
        }
    }
    Ok((files, bytes))
}

/// Prints one measurement: a table row on stderr, a JSON line on stdout.
fn report(row: Value) {
    let text = |key: &str| match row.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(value) => value.to_string(),
    };
    let seconds = row["seconds"].as_f64().unwrap_or(0.0);
    let cpu_seconds = row["cpu_seconds"].as_f64().unwrap_or(0.0);
    let media = row.get("media_seconds").and_then(Value::as_f64);
    let fetched_mb = row.get("bytes_read").and_then(Value::as_u64).unwrap_or(0) as f64 / 1e6;
    let written_mb = row.get("bytes_written").and_then(Value::as_u64).unwrap_or(0) as f64 / 1e6;
    eprintln!(
        "{:<5} {:<14} {:>6} {:>5} {:<12} {:>9.3} s {:>8.2} s {:>8} {:>9.2} MB {:>6} req {:>9.2} MB {:>5} files",
        text("file").trim_matches('"'),
        text("step").trim_matches('"'),
        text("target_seconds"),
        text("index"),
        text("ladder").trim_matches('"'),
        seconds,
        cpu_seconds,
        media.map_or(String::new(), |media| format!("{media:.2} s")),
        fetched_mb,
        text("requests"),
        written_mb,
        text("files_written"),
    );
    println!("{row}");
}

/// Runs `work`, returning its result, the seconds it took and the CPU-seconds the process spent
/// meanwhile (every thread, user and system). On a machine shared with other work, the wall time
/// grows with the contention and the CPU time hardly at all: their ratio shows how many cores the
/// step had.
fn timed<T>(work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, (f64, f64))> {
    let cpu_before = process_cpu_seconds()?;
    let started = Instant::now();
    let value = work()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((value, (seconds, process_cpu_seconds()? - cpu_before)))
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (fields 14 and 15, in
/// clock ticks of 1/100 s, Linux's `USER_HZ` on every architecture it reports to user space).
fn process_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = stat.rsplit_once(')').context("/proc/self/stat has no command name")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |field: usize| -> anyhow::Result<f64> {
        Ok(fields.get(field - 3).context("/proc/self/stat is short")?.parse::<u64>()? as f64)
    };
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

/// A fresh empty folder `name` under `work_dir`.
fn fresh_dir(work_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = work_dir.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Probe, plan (per target), poster: the plan invocation's steps. Returns the probe.
fn plan_steps(file: &str, path: &Path, targets: &[f64]) -> anyhow::Result<Probe> {
    let source = ranged_source(path)?;
    let (probe, (seconds, cpu_seconds)) =
        timed(|| Ok(media_video::probe(&source, &VideoLimits::default())?))?;
    let (bytes_read, requests) = fetched(&source);
    let duration = probe.duration_seconds.unwrap_or(0.0);
    report(
        json!({"file": file, "step": "probe", "seconds": seconds, "cpu_seconds": cpu_seconds, "media_seconds": duration,
        "bytes_read": bytes_read, "requests": requests, "source_bytes": std::fs::metadata(path)?.len()}),
    );
    for &target in targets {
        let source = ranged_source(path)?;
        let (plans, (seconds, cpu_seconds)) =
            timed(|| Ok(media_video::plan_segments(&source, &probe, target)?))?;
        let (bytes_read, requests) = fetched(&source);
        report(
            json!({"file": file, "step": "plan", "target_seconds": target, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "segments": plans.len(), "bytes_read": bytes_read, "requests": requests}),
        );
    }
    let source = ranged_source(path)?;
    let thumbnails = media_core::ThumbnailOptions::default();
    let (poster, (seconds, cpu_seconds)) =
        timed(|| Ok(media_video::extract_poster(&source, &probe, &thumbnails)?))?;
    let (bytes_read, requests) = fetched(&source);
    let poster_bytes: usize = poster.thumbnails.iter().map(|thumbnail| thumbnail.bytes.len()).sum();
    report(
        json!({"file": file, "step": "poster", "seconds": seconds, "cpu_seconds": cpu_seconds, "bytes_read": bytes_read,
        "requests": requests, "bytes_written": poster_bytes, "files_written": poster.thumbnails.len()}),
    );
    Ok(probe)
}

/// The audio part: `transcode_audio_track` into `parts_dir`, as its own invocation.
fn audio_step(
    file: &str,
    path: &Path,
    probe: &Probe,
    options: &TranscodeOptions,
    target: Option<f64>,
) -> anyhow::Result<media_video::AudioTrackOutputs> {
    let out = fresh_dir(&options.work_dir, &format!("{file}-audio-out"))?;
    let mut audio_options = options.clone();
    audio_options.out_dir = out.clone();
    let source = ranged_source(path)?;
    let (audio, (seconds, cpu_seconds)) =
        timed(|| Ok(media_video::transcode_audio_track(&source, probe, &audio_options, &mut |_| {})?))?;
    let (bytes_read, requests) = fetched(&source);
    let (files_written, bytes_written) = files_and_bytes(&out)?;
    report(
        json!({"file": file, "step": "audio", "target_seconds": target, "seconds": seconds, "cpu_seconds": cpu_seconds,
        "media_seconds": audio.duration_seconds, "bytes_read": bytes_read, "requests": requests,
        "bytes_written": bytes_written, "files_written": files_written}),
    );
    // The join reads the audio's chunks from the parts folder.
    for entry in std::fs::read_dir(out.join("hls"))? {
        let entry = entry?;
        std::fs::rename(entry.path(), options.out_dir.join("hls").join(entry.file_name()))?;
    }
    Ok(audio)
}

/// The representative segment: a full-length one (not the tail, unless it is the only one) whose
/// length is nearest the target.
fn representative(segments: &[SegmentOutputs], target: f64) -> Option<&SegmentOutputs> {
    let length = |segment: &SegmentOutputs| segment.end_seconds - segment.start_seconds;
    let candidates = if segments.len() > 1 { &segments[..segments.len() - 1] } else { segments };
    candidates.iter().min_by(|a, b| (length(a) - target).abs().total_cmp(&(length(b) - target).abs()))
}

/// Every segment of `clip` for `target`, the full ladder each; each rung alone on the
/// representative segment; the audio; the join.
fn segmented_steps(clip: &Path, probe: &Probe, target: f64, work_dir: &Path) -> anyhow::Result<()> {
    let plans = media_video::plan_segments(clip, probe, target)?;
    let parts_dir = fresh_dir(work_dir, &format!("parts-{target}"))?;
    std::fs::create_dir_all(parts_dir.join("hls"))?;
    let mut options = TranscodeOptions::new(&parts_dir, work_dir);
    let ladder_label = |options: &TranscodeOptions| {
        options.ladder.iter().map(|rung| rung.height.to_string()).collect::<Vec<_>>().join(",")
    };
    let mut segments = Vec::with_capacity(plans.len());
    for plan in &plans {
        // Each part writes into a folder of its own (an invocation's /tmp) and uploads that.
        let out = fresh_dir(work_dir, "segment-out")?;
        let mut part_options = options.clone();
        part_options.out_dir = out.clone();
        let source = ranged_source(clip)?;
        let (segment, (seconds, cpu_seconds)) =
            timed(|| Ok(media_video::transcode_segment(&source, probe, &part_options, plan, &mut |_| {})?))?;
        let (bytes_read, requests) = fetched(&source);
        let (files_written, bytes_written) = files_and_bytes(&out)?;
        let frames: u64 = segment.rungs.iter().map(|rung| rung.frames).sum();
        report(json!({"file": "clip", "step": "segment", "target_seconds": target, "index": plan.index,
            "ladder": ladder_label(&part_options), "seconds": seconds, "cpu_seconds": cpu_seconds,
            "media_seconds": segment.end_seconds - segment.start_seconds, "frames": frames,
            "bytes_read": bytes_read, "requests": requests, "bytes_written": bytes_written,
            "files_written": files_written}));
        for entry in std::fs::read_dir(out.join("hls"))? {
            let entry = entry?;
            std::fs::rename(entry.path(), parts_dir.join("hls").join(entry.file_name()))?;
        }
        segments.push(segment);
    }

    if let Some(chosen) = representative(&segments, target) {
        let plan = &plans[chosen.index as usize];
        for rung in default_ladder() {
            let out = fresh_dir(work_dir, "rung-out")?;
            let mut rung_options = options.clone();
            rung_options.out_dir = out.clone();
            rung_options.ladder = vec![rung];
            let source = ranged_source(clip)?;
            let (segment, (seconds, cpu_seconds)) = timed(|| {
                Ok(media_video::transcode_segment(&source, probe, &rung_options, plan, &mut |_| {})?)
            })?;
            let (bytes_read, requests) = fetched(&source);
            let (files_written, bytes_written) = files_and_bytes(&out)?;
            report(json!({"file": "clip", "step": "segment-rung", "target_seconds": target,
                "index": plan.index, "ladder": ladder_label(&rung_options), "seconds": seconds, "cpu_seconds": cpu_seconds,
                "media_seconds": segment.end_seconds - segment.start_seconds, "bytes_read": bytes_read,
                "requests": requests, "bytes_written": bytes_written, "files_written": files_written}));
        }
    }

    let audio = audio_step("clip", clip, probe, &options, Some(target))?;

    // The join function downloads every chunk into one folder and joins there: it writes the
    // playlists beside the chunks and the MP4s beside `hls/`, and uploads only those.
    let (files_downloaded, bytes_downloaded) = files_and_bytes(&parts_dir)?;
    let out = parts_dir.clone();
    options.out_dir = out.clone();
    let (outputs, (seconds, cpu_seconds)) =
        timed(|| Ok(media_video::join_segments(&parts_dir, probe, &segments, Some(&audio), &options)?))?;
    let (files_after, bytes_after) = files_and_bytes(&out)?;
    let (files_written, bytes_written) = (files_after - files_downloaded, bytes_after - bytes_downloaded);
    let mp4_bytes: u64 = outputs.renditions.iter().map(|rendition| rendition.bytes).sum();
    let (playlists, playlist_bytes) = {
        let mut count = 0;
        let mut bytes = 0;
        for entry in std::fs::read_dir(out.join("hls"))? {
            let entry = entry?;
            if entry.path().extension().is_some_and(|ext| ext == "m3u8") {
                count += 1;
                bytes += entry.metadata()?.len();
            }
        }
        (count, bytes)
    };
    report(
        json!({"file": "clip", "step": "join", "target_seconds": target, "seconds": seconds, "cpu_seconds": cpu_seconds,
        "media_seconds": outputs.duration_seconds, "files_downloaded": files_downloaded,
        "bytes_downloaded": bytes_downloaded, "bytes_written": bytes_written, "files_written": files_written,
        "mp4_files": outputs.renditions.len(), "mp4_bytes": mp4_bytes, "playlists": playlists,
        "playlist_bytes": playlist_bytes}),
    );
    std::fs::remove_dir_all(&parts_dir)?;
    Ok(())
}

/// The serial transcode of `clip` with the same options (default ladder, HLS, veryfast).
fn serial_step(clip: &Path, probe: &Probe, work_dir: &Path) -> anyhow::Result<()> {
    let out = fresh_dir(work_dir, "serial-out")?;
    let options = TranscodeOptions::new(&out, work_dir);
    let source = ranged_source(clip)?;
    let (outputs, (seconds, cpu_seconds)) =
        timed(|| Ok(media_video::transcode(&source, probe, &options, &mut |_| {})?))?;
    let (bytes_read, requests) = fetched(&source);
    let (files_written, bytes_written) = files_and_bytes(&out)?;
    report(
        json!({"file": "clip", "step": "serial", "ladder": "1080,720,480", "seconds": seconds, "cpu_seconds": cpu_seconds,
        "media_seconds": outputs.duration_seconds, "bytes_read": bytes_read, "requests": requests,
        "bytes_written": bytes_written, "files_written": files_written}),
    );
    std::fs::remove_dir_all(&out)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let clip = PathBuf::from(args.next().context(USAGE)?);
    let mut long = None;
    let mut targets = vec![30.0, 10.0];
    let mut work_dir = std::env::temp_dir().join("segment-projection");
    let mut serial = true;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--long" => long = Some(PathBuf::from(args.next().context(USAGE)?)),
            "--segment-seconds" => {
                targets = args
                    .next()
                    .context(USAGE)?
                    .split(',')
                    .map(|target| target.trim().parse::<f64>().context("segment seconds are numbers"))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--work-dir" => work_dir = args.next().context(USAGE)?.into(),
            "--no-serial" => serial = false,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    std::fs::create_dir_all(&work_dir)?;
    eprintln!(
        "{:<5} {:<14} {:>6} {:>5} {:<12} {:>11} {:>10} {:>8} {:>12} {:>10} {:>12} {:>11}",
        "file", "step", "target", "seg", "ladder", "wall", "CPU", "media", "fetched", "", "written", ""
    );
    if let Some(long) = &long {
        let probe = plan_steps("long", long, &targets)?;
        let parts = fresh_dir(&work_dir, "long-audio-parts")?;
        std::fs::create_dir_all(parts.join("hls"))?;
        audio_step("long", long, &probe, &TranscodeOptions::new(&parts, &work_dir), None)?;
        std::fs::remove_dir_all(&parts)?;
    }
    let probe = plan_steps("clip", &clip, &targets)?;
    if serial {
        serial_step(&clip, &probe, &work_dir)?;
    }
    for &target in &targets {
        segmented_steps(&clip, &probe, target, &work_dir)?;
    }
    Ok(())
}

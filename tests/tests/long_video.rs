//! Long and large videos through the deployed stack: a 52-second film clip transcoded in segments
//! by many transcode invocations (LocalStack runs them one batch at a time; on AWS they run at
//! once), and the metadata of a 600 MB video read by ranged GETs of a small part of it.
//!
//! Run with one test thread (`scripts/e2e.sh`): the second test watches `/tmp`, which the first
//! one's transcodes write to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{Stack, asset_with_pending_job, check_derivatives};
use pipeline::messages::JobMessage;
use pipeline::usage::Outcome;
use pipeline::{AssetStatus, ErrorCode, JobKind};

/// The outcome of a part that found the plan gone.
const NOT_FOUND: Outcome = Outcome::Failed(ErrorCode::NOT_FOUND);

/// The Sintel trailer (52.2 s, 1280x720, H.264 and AAC, keyframes 1.5 to 10.4 s apart), fetched by
/// `make fixtures` into `MEDIAFLOW_SAMPLE_VIDEOS` (the Makefile sets it).
fn long_clip() -> PathBuf {
    let dir = std::env::var("MEDIAFLOW_SAMPLE_VIDEOS").unwrap_or_else(|_| {
        panic!(
            "MEDIAFLOW_SAMPLE_VIDEOS is not set: run `make e2e`, or scripts/fetch.py sample-videos=DIR first"
        )
    });
    Path::new(&dir).join("long-clip.mp4")
}

const CLIP_SECONDS: f64 = 52.209;

#[tokio::test]
async fn a_long_clip_fans_out_into_segments_and_a_failed_segment_is_retried_into_one_join() {
    let stack = Stack::connect().await;
    let clip = std::fs::read(long_clip()).expect("the long clip");
    let key = stack.key("long/sintel trailer.mp4");
    let (_, id) = stack.upload(&key, clip).await;

    // As soon as the transcode is split, take its plan away: the parts that start now fail
    // (`not-found`, retryable) and come back after their back-off, by which time it is back.
    let split = stack
        .wait_for(&id, Duration::from_secs(180), |asset| {
            asset.jobs.get(&JobKind::Transcode).is_some_and(|job| job.segments.is_some())
        })
        .await;
    let total = split.jobs[&JobKind::Transcode].segments.as_ref().map_or(0, |segments| segments.total);
    assert!(total >= 5, "at least 4 segments of 10 s and the audio: {total} parts");
    let plan_key = format!("{id}/.transcode/plan.json");
    let plan = stack.get(stack.derivatives(), &plan_key).await.expect("the plan is stored before the split");
    stack.delete(stack.derivatives(), &plan_key).await;
    stack
        .wait_for(&id, Duration::from_secs(300), |asset| {
            asset.jobs[&JobKind::Transcode].history.iter().any(|attempt| attempt.outcome == NOT_FOUND)
        })
        .await;
    stack.put(stack.derivatives(), &plan_key, plan).await;

    let done = stack.wait_final(&id, Duration::from_secs(600)).await;
    assert_eq!(done.status, AssetStatus::Ready, "{done:#?}");
    let transcode = &done.jobs[&JobKind::Transcode];
    let segments = transcode.segments.as_ref().expect("the parts are counted");
    assert_eq!((segments.done, segments.total), (total, total));
    let mut outcomes: BTreeMap<&str, Vec<Outcome>> = BTreeMap::new();
    for attempt in &transcode.history {
        let part = attempt.part.as_deref().expect("every attempt of a split job names its part");
        outcomes.entry(part).or_default().push(attempt.outcome);
    }
    println!("attempts by part: {outcomes:?}");
    assert_eq!(outcomes.get("plan"), Some(&vec![Outcome::Split]));
    assert_eq!(outcomes.get("join"), Some(&vec![Outcome::Ok]), "exactly one join");
    assert_eq!(outcomes.len() as u32, total + 2, "every part, the plan and the join");
    for (part, attempts) in &outcomes {
        let last = if *part == "plan" { Outcome::Split } else { Outcome::Ok };
        assert_eq!(attempts.last(), Some(&last), "{part}: {attempts:?}");
        let before = &attempts[..attempts.len() - 1];
        assert!(before.iter().all(|outcome| *outcome == NOT_FOUND), "{part}: {attempts:?}");
    }
    assert!(
        outcomes.values().any(|attempts| attempts.first() == Some(&NOT_FOUND)),
        "a part failed once and was retried: {outcomes:?}"
    );

    let keys: Vec<&str> = done.derivatives().map(|derivative| derivative.key.as_str()).collect();
    for name in ["poster-256.jpg", "720p.mp4", "480p.mp4", "hls/master.m3u8", "hls/audio.m3u8"] {
        assert!(keys.contains(&format!("{id}/{name}").as_str()), "{name} missing: {keys:?}");
    }
    check_derivatives(&stack, &done).await;
    let rendition = done.derivatives().find(|d| d.key.ends_with("/720p.mp4")).expect("720p");
    let seconds = rendition.duration_seconds.unwrap_or(0.0);
    assert!((seconds - CLIP_SECONDS).abs() < 0.1, "720p.mp4 lasts {seconds} s");

    // ffmpeg plays the whole HLS presentation (every variant, the audio rendition) without an error.
    let folder = scratch_dir("hls");
    for key in stack.list(stack.derivatives(), &format!("{id}/hls/")).await {
        let bytes = stack.get(stack.derivatives(), &key).await.expect("listed");
        std::fs::write(folder.join(key.rsplit('/').next().expect("a name")), bytes).expect("write");
    }
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(folder.join("master.m3u8"))
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let errors = String::from_utf8_lossy(&decoded.stderr);
    assert!(decoded.status.success() && errors.trim().is_empty(), "ffmpeg: {errors}");
    let _ = std::fs::remove_dir_all(&folder);

    let events = stack.events_once_quiet(&[&id], Duration::from_secs(5), Duration::from_secs(60)).await;
    assert_eq!(events[0].len(), 1, "one completion event");
}

#[tokio::test]
async fn a_600_mb_video_gets_its_metadata_from_ranged_reads_of_a_small_part_and_no_temp_files() {
    let stack = Stack::connect().await;
    let big = scratch_dir("big").join("sintel-x80.mp4");
    // The clip 80 times over by remuxing (no re-encode), its index at the end as the clip's is:
    // the probe must seek there.
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "79", "-i"])
        .arg(long_clip())
        .args(["-c", "copy"])
        .arg(&big)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let bytes = std::fs::read(&big).expect("the big video");
    let _ = std::fs::remove_dir_all(big.parent().expect("its folder"));
    let size = bytes.len() as u64;
    assert!(size >= 600_000_000, "{size} bytes");

    let (asset, message) =
        asset_with_pending_job(&stack, "big/sintel-x80.mp4", JobKind::Metadata, media_core::MediaKind::Video)
            .await;
    stack.put(stack.derivatives(), &message.key, bytes).await;
    let message = JobMessage { size, ..message };
    let before = temp_entries();
    stack.send(stack.output("MetadataQueueUrl"), &serde_json::to_string(&message).expect("json")).await;
    let started = Instant::now();
    let mut most_in_tmp = 0;
    let done = loop {
        most_in_tmp = most_in_tmp.max(new_temp_bytes(&before));
        let current = stack.asset(&asset.id).await.filter(|asset| asset.completed_sequencer.is_some());
        if let Some(done) = current {
            break done;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "no metadata after 3 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done.status, AssetStatus::Ready, "{done:#?}");
    let metadata = done.metadata.as_ref().expect("the probe is recorded");
    let duration = metadata["duration_seconds"].as_f64().unwrap_or(0.0);
    assert!((duration - 80.0 * CLIP_SECONDS).abs() < 80.0 * 0.5, "{duration} s");
    assert_eq!(done.sha256, None, "over MEDIAFLOW_VIDEO_CHECKSUM_MAX_BYTES: no checksum read");
    let attempt = done.jobs[&JobKind::Metadata].history.last().expect("the attempt");
    let read = attempt.requests.s3_read_bytes;
    println!(
        "metadata of {size} bytes: {read} bytes read in {} GETs ({:.3} %), at most {most_in_tmp} bytes new in /tmp",
        attempt.requests.s3_read,
        read as f64 * 100.0 / size as f64
    );
    assert!(read > 0 && read * 100 < size, "{read} of {size} bytes read");
    assert!(most_in_tmp < 1 << 20, "{most_in_tmp} bytes written to /tmp");
}

/// A fresh folder for this test's own files, outside `/tmp` (which the second test watches): in
/// the target folder cargo gives integration tests, an absolute path whatever the current folder.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-long-video").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test folder");
    dir
}

/// The entries of `/tmp` now.
fn temp_entries() -> Vec<PathBuf> {
    std::fs::read_dir("/tmp")
        .map_or_else(|_| Vec::new(), |dir| dir.flatten().map(|entry| entry.path()).collect())
}

/// Bytes in the entries of `/tmp` that were not there `before`.
fn new_temp_bytes(before: &[PathBuf]) -> u64 {
    fn size(path: &Path) -> u64 {
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if metadata.is_dir() => {
                std::fs::read_dir(path).map_or(0, |dir| dir.flatten().map(|entry| size(&entry.path())).sum())
            }
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        }
    }
    temp_entries().iter().filter(|path| !before.contains(path)).map(|path| size(path)).sum()
}

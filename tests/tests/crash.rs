//! Function processes killed (SIGKILL) in the middle of their work, as a Lambda crash, an
//! out-of-memory kill or a timeout would end them: every upload still ends `ready` with one
//! completion event, every job done, nothing dead-lettered. Runs on its own (`scripts/e2e.sh`),
//! since it kills the processes the other tests rely on.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{Stack, repo_root};
use pipeline::{AssetStatus, JobStatus};

/// The executor plugin's live counters (`localstack/README.md`): per function, its processes
/// (`pids`), invocations running now (`in_flight`) and failed invocations (`errors`).
fn executor_stats() -> serde_json::Value {
    let path = std::env::var("MEDIAFLOW_EXECUTOR_STATS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".localstack/executor-stats.json"));
    serde_json::from_slice(&std::fs::read(&path).expect("executor stats")).expect("stats are JSON")
}

fn failed_invocations(stats: &serde_json::Value, functions: &[String]) -> u64 {
    functions.iter().map(|name| stats["functions"][name]["errors"].as_u64().unwrap_or(0)).sum()
}

/// A 12-megapixel JPEG of noise, so that each job takes long enough to be caught mid-run.
fn large_photo() -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let pixels = image::RgbImage::from_fn(4000, 3000, |x, y| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let noise = (state >> 59) as u8;
        image::Rgb([(x / 16) as u8 ^ noise, (y / 12) as u8 ^ noise, ((x + y) / 28) as u8])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&pixels).expect("encodes");
    jpeg
}

#[tokio::test]
async fn processes_killed_mid_job_lose_no_upload_and_dead_letter_nothing() {
    let stack = Stack::connect().await;
    let functions: Vec<String> =
        ["thumbnail", "metadata"].iter().map(|name| format!("{}-{name}", stack.name)).collect();
    let failed_before = failed_invocations(&executor_stats(), &functions);

    let photo = large_photo();
    let mut ids = Vec::new();
    for index in 0..20 {
        let key = stack.key(&format!("crash/photo-{index:02}.jpg"));
        ids.push(stack.upload(&key, photo.clone()).await.1);
    }
    // Whenever one of these uploads has a job running (claimed, mid-work), kill every process of
    // that job's function; until three jobs were caught so, for at most 15 s: less than those
    // queues' visibility timeouts, so the redeliveries run undisturbed.
    let mut caught = std::collections::HashSet::new();
    let mut kills = 0;
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until && caught.len() < 3 {
        for id in &ids {
            let Some(asset) = stack.asset(id).await else { continue };
            for (job, state) in &asset.jobs {
                if state.status != JobStatus::Running || !caught.insert((id.clone(), *job)) {
                    continue;
                }
                let function = format!("{}-{job}", stack.name);
                let stats = executor_stats();
                let pids = stats["functions"][&function]["pids"].as_array().cloned().unwrap_or_default();
                for pid in pids.iter().filter_map(|pid| pid.as_u64()) {
                    let killed = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                    kills += u32::from(killed.is_ok_and(|status| status.success()));
                }
            }
        }
    }

    for id in &ids {
        let asset = stack.wait_final(id, Duration::from_secs(180)).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{asset:#?}");
        assert!(asset.jobs.values().all(|job| job.status == JobStatus::Done), "{:#?}", asset.jobs);
        let events = stack.wait_events(id, 1, Duration::from_secs(30)).await;
        assert_eq!(events.len(), 1, "one completion event for {id}");
    }
    for dlq in [
        "IngestDeadLetterQueueUrl",
        "ThumbnailDeadLetterQueueUrl",
        "MetadataDeadLetterQueueUrl",
        "ModerateDeadLetterQueueUrl",
    ] {
        assert_eq!(
            stack.queue_depth(stack.output(dlq)).await,
            0,
            "{dlq}: a healthy message was dead-lettered"
        );
    }
    let died = failed_invocations(&executor_stats(), &functions) - failed_before;
    let mut taken_over = 0;
    for id in &ids {
        let asset = stack.asset(id).await.expect("asset");
        taken_over += asset.jobs.values().filter(|job| job.attempts > 1).count();
    }
    println!(
        "e2e crash: {kills} processes killed, {died} invocations died mid-job, {taken_over} jobs taken over"
    );
    assert!(died > 0, "no invocation died mid-job ({kills} kills): the test proved nothing");
    assert!(taken_over > 0, "no job was taken over after its process died: the leases were not tested");
}

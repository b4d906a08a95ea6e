//! End to end through the deployed stack: S3 uploads → LocalStack's notifications and event source
//! mappings → the real function binaries → DynamoDB, the derivatives bucket and EventBridge.
//! They need the deployed stack: `make e2e` deploys it and runs them (`make unit` excludes this crate).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use e2e::{Stack, asset_with_pending_job, check_derivatives, data, percentile};
use futures::StreamExt;
use pipeline::cost::{Cost, Prices};
use pipeline::messages::JobMessage;
use pipeline::moderation::{ModerationDecision, ModerationProvider};
use pipeline::usage::Outcome;
use pipeline::{Asset, AssetId, AssetStatus, DerivativeRole, ErrorCode, JobKind, JobStatus, Sequencer};

/// The stack moderates with the local model (the template's default): images and videos carry its
/// record, with the model's checksum, and these ordinary files are allowed; audio is not moderated.
fn check_moderation(asset: &Asset, kind: &str) {
    let Some(moderation) = &asset.moderation else {
        assert_eq!(kind, "audio", "{} has no moderation record", asset.source.key);
        return;
    };
    assert_ne!(kind, "audio", "audio is not moderated");
    assert_eq!(moderation.provider, ModerationProvider::Local);
    assert_eq!(moderation.model.name, "open_nsfw");
    assert_eq!(moderation.model.sha256.as_ref().map(String::len), Some(64));
    assert_eq!(moderation.decision, ModerationDecision::Allowed, "{}: {moderation:?}", asset.source.key);
    assert_eq!(moderation.frames, if kind == "video" { 5 } else { 1 });
    assert!(moderation.labels.iter().all(|label| (0.0..=1.0).contains(&label.confidence)));
    assert_eq!(asset.jobs[&JobKind::Moderate].status, JobStatus::Done);
}

#[tokio::test]
async fn real_images_a_video_and_a_song_reach_ready_with_every_derivative_and_one_event() {
    let stack = Stack::connect().await;
    let uploads = [
        ("deep/a/b/c/d/my holiday photo +1.jpg", "media-core/tests/data/inputs/photo-camera.jpg", "image"),
        ("ünïcödé/写真 ☀.png", "media-core/tests/data/inputs/png-rgba.png", "image"),
        ("cmyk+spaces in name.jpg", "media-core/tests/data/inputs/jpeg-cmyk.jpg", "image"),
        ("animated.webp", "media-core/tests/data/inputs/webp-animated.webp", "image"),
        ("clips/big buck bunny.mp4", "media-video/tests/data/bigbuckbunny.mp4", "video"),
        ("music/tone.mp3", "media-core/tests/data/inputs/audio/mp3-id3.mp3", "audio"),
    ];
    let mut started = Vec::new();
    for (name, file, kind) in uploads {
        let key = stack.key(name);
        let (at, id) = stack.upload(&key, data(file)).await;
        started.push((key, id, at, kind));
    }
    let mut latencies: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (key, id, at, kind) in &started {
        let asset = stack.wait_final(id, Duration::from_secs(180)).await;
        latencies.entry(kind).or_default().push(e2e::latency(&asset, *at));
        assert_eq!(asset.status, AssetStatus::Ready, "{key}: {asset:#?}");
        assert_eq!(&asset.source.key, key, "key decoded");
        let roles: Vec<DerivativeRole> = asset.derivatives().map(|d| d.role).collect();
        if *kind == "image" {
            assert_eq!(roles, vec![DerivativeRole::Thumbnail; 2], "{key}");
            assert!(asset.metadata.as_ref().is_some_and(|m| m["width"].as_u64().is_some()));
        } else if *kind == "audio" {
            assert_eq!(roles, vec![DerivativeRole::Audio], "{key}");
            let metadata = asset.metadata.as_ref().expect("the probe");
            assert_eq!(metadata["audio"][0]["codec"], "mp3", "{metadata:#}");
        } else {
            for role in [DerivativeRole::Poster, DerivativeRole::Rendition, DerivativeRole::HlsPlaylist] {
                assert!(roles.contains(&role), "{key}: no {role:?} in {roles:?}");
            }
            let keys: Vec<&str> = asset.derivatives().map(|d| d.key.as_str()).collect();
            for name in ["poster-256.jpg", "720p.mp4", "480p.mp4", "hls/master.m3u8"] {
                assert!(keys.contains(&format!("{id}/{name}").as_str()), "{name} missing: {keys:?}");
            }
            assert_eq!(asset.metadata.as_ref().map(|m| m["video"][0]["width"].clone()), Some(1280.into()));
        }
        assert!(asset.sha256.as_ref().is_some_and(|sha| sha.len() == 64));
        check_moderation(&asset, kind);
        check_derivatives(&stack, &asset).await;
        check_cost_and_trace(&stack, &asset);

        let events = stack.wait_events(id, 1, Duration::from_secs(30)).await;
        assert_eq!(events[0]["detail-type"], "Asset Ready");
        assert_eq!(events[0]["source"], "mediaflow");
        assert_eq!(
            events[0]["detail"]["moderation"]["decision"].as_str(),
            asset.moderation.as_ref().map(|_| "allowed")
        );
        let listed: Vec<&str> = events[0]["detail"]["derivatives"]
            .as_array()
            .map(|all| all.iter().filter_map(|d| d["key"].as_str()).collect())
            .unwrap_or_default();
        let recorded: Vec<&str> = asset.derivatives().map(|d| d.key.as_str()).collect();
        assert_eq!(listed, recorded, "the event lists every derivative");
    }
    let ids: Vec<&AssetId> = started.iter().map(|(_, id, _, _)| id).collect();
    let events = stack.events_once_quiet(&ids, Duration::from_secs(3), Duration::from_secs(60)).await;
    for (id, events) in ids.iter().zip(&events) {
        assert_eq!(events.len(), 1, "exactly one completion event for {id}");
    }
    for (kind, values) in &latencies {
        println!(
            "e2e latency upload→ready, {kind}: p50 {:?} p95 {:?} (n={})",
            percentile(values, 50.0),
            percentile(values, 95.0),
            values.len()
        );
    }
}

#[tokio::test]
async fn iphone_heic_and_avif_reach_ready_with_upright_thumbnails() {
    let stack = Stack::connect().await;
    let photos = std::env::var("MEDIAFLOW_SAMPLE_PHOTOS")
        .expect("MEDIAFLOW_SAMPLE_PHOTOS (`make fixtures` fetches them; `make e2e` sets it)");
    let iphone = std::fs::read(format!("{photos}/iphone8-rotated.heic")).expect("the iPhone photo");
    // (upload, bytes, the 256 px thumbnail's size, the displayed size in the metadata)
    let uploads = [
        // A 12 MP iPhone 8 Plus HEIC, stored landscape, turned portrait by irot; EXIF says it again.
        ("phone/IMG_0001.HEIC", iphone, (192, 256), (3024u32, 4032u32)),
        (
            "avif/rotated.avif",
            data("media-core/tests/data/inputs/heif/avif-irot-exif6.avif"),
            (240, 160),
            (240, 160),
        ),
    ];
    let mut started = Vec::new();
    for (name, bytes, thumbnail, displayed) in uploads {
        let key = stack.key(name);
        let (_, id) = stack.upload(&key, bytes).await;
        started.push((key, id, thumbnail, displayed));
    }
    for (key, id, thumbnail, displayed) in started {
        let asset = stack.wait_final(&id, Duration::from_secs(120)).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{key}: {asset:#?}");
        let metadata = asset.metadata.as_ref().expect("metadata");
        let shown = (metadata["display_width"].as_u64(), metadata["display_height"].as_u64());
        assert_eq!(
            shown,
            (Some(u64::from(displayed.0)), Some(u64::from(displayed.1))),
            "{key}: {metadata:#}"
        );
        assert_eq!(metadata["orientation"], 1, "{key}: the container's rotation is applied once");
        let small = asset.derivatives().find(|d| d.key.ends_with("thumb-256.jpg")).expect("thumb-256");
        assert_eq!(small.width.zip(small.height), Some(thumbnail), "{key}");
        check_derivatives(&stack, &asset).await;
    }
}

/// The S3 event of the upload at `sequencer` as S3 would deliver it again (same S3 sequencer and
/// event time; the key encoded the AWS way).
fn s3_event(bucket: &str, key: &str, name: &str, sequencer: &Sequencer) -> String {
    let (s3_sequencer, time) = sequencer.parts();
    let encoded = pipeline::s3_event::encode_key(key);
    serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
        "eventTime": time.to_string(), "userIdentity": {"principalId": "AWS:e2e"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"}, "responseElements": {},
        "s3": {"bucket": {"name": bucket}, "object": {"key": encoded, "size": 1, "sequencer": s3_sequencer}}}]})
    .to_string()
}

#[tokio::test]
async fn duplicates_re_uploads_stale_events_and_deletion() {
    let stack = Stack::connect().await;
    let key = stack.key("versions/the same key.jpg");
    let (_, id) = stack.upload(&key, data("media-core/tests/data/inputs/photo-gps.jpg")).await;
    let first = stack.wait_final(&id, Duration::from_secs(120)).await;
    assert_eq!(first.status, AssetStatus::Ready);
    let ingest = stack.output("IngestQueueUrl").to_owned();

    // Duplicate delivery of the upload event and of a finished job: each is received and
    // recognised (its function logs so for this asset), and causes no new work and no new event.
    let sent = SystemTime::now();
    stack.send(&ingest, &s3_event(stack.uploads(), &key, "ObjectCreated:Put", &first.source.sequencer)).await;
    let job = JobMessage {
        asset_id: id.clone(),
        job: JobKind::Thumbnail,
        sequencer: first.source.sequencer.clone(),
        bucket: stack.uploads().into(),
        key: key.clone(),
        version_id: None,
        size: first.source.size,
        kind: first.kind,
        part: None,
    };
    stack.send(stack.output("ThumbnailQueueUrl"), &serde_json::to_string(&job).expect("json")).await;
    // The burst test runs beside this one and fills the same queues and log groups: under that load
    // LocalStack has taken over 30 s to make a line written 2 s after `sent` searchable.
    let timeout = Duration::from_secs(90);
    stack.wait_log("ingest", sent, &[id.as_str(), "duplicate delivery"], timeout).await;
    stack.wait_log("thumbnail", sent, &[id.as_str(), "duplicate delivery of a finished job"], timeout).await;
    let after = stack.asset(&id).await.expect("asset");
    assert_eq!(after.updated_at, first.updated_at, "duplicates changed nothing");
    assert!(after.jobs.values().all(|job| job.attempts == 1));
    assert_eq!(stack.wait_events(&id, 1, Duration::from_secs(10)).await.len(), 1);

    // Re-upload of the same key with other content: reprocessed, a second event.
    stack.upload(&key, data("media-core/tests/data/inputs/png-palette.png")).await;
    let second = stack
        .wait_for(&id, Duration::from_secs(120), |a| {
            a.source.sequencer > first.source.sequencer && a.status.is_final()
        })
        .await;
    assert_eq!(second.status, AssetStatus::Ready);
    assert_eq!(second.metadata.as_ref().map(|m| m["format"].clone()), Some("png".into()));
    assert_eq!(stack.wait_events(&id, 2, Duration::from_secs(30)).await.len(), 2);

    // The first upload's event, late: received, recognised as stale, nothing changes.
    let sent = SystemTime::now();
    stack.send(&ingest, &s3_event(stack.uploads(), &key, "ObjectCreated:Put", &first.source.sequencer)).await;
    stack.wait_log("ingest", sent, &[id.as_str(), "stale event"], timeout).await;
    let still = stack.asset(&id).await.expect("asset");
    assert_eq!(still.source.sequencer, second.source.sequencer);
    assert_eq!(still.updated_at, second.updated_at);

    // Deletion: the asset is marked deleted and its derivatives are removed.
    assert!(!stack.list(stack.derivatives(), &id.derivatives_prefix()).await.is_empty());
    stack.s3.delete_object().bucket(stack.uploads()).key(&key).send().await.expect("delete");
    stack.wait_for(&id, Duration::from_secs(60), |a| a.status == AssetStatus::Deleted).await;
    let start = Instant::now();
    while !stack.list(stack.derivatives(), &id.derivatives_prefix()).await.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "derivatives of {id} not deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn bad_input_fails_without_retries_and_a_retryable_failure_goes_to_the_dlq_and_is_redriven() {
    let stack = Stack::connect().await;
    let dlqs = [
        "ThumbnailDeadLetterQueueUrl",
        "MetadataDeadLetterQueueUrl",
        "ModerateDeadLetterQueueUrl",
        "IngestDeadLetterQueueUrl",
    ];

    // A corrupt image: failed with its code, acknowledged, nothing dead-lettered.
    let key = stack.key("corrupt.jpg");
    let (_, id) = stack.upload(&key, data("media-core/tests/data/bad/truncated-photo-camera-600.jpg")).await;
    let asset = stack.wait_final(&id, Duration::from_secs(60)).await;
    assert_eq!(asset.status, AssetStatus::Failed);
    for job in asset.jobs.values() {
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.attempts, 1, "not retried");
        assert_eq!(job.error.as_ref().map(|e| e.code), Some(ErrorCode::CORRUPT_INPUT));
    }
    let events = stack.wait_events(&id, 1, Duration::from_secs(30)).await;
    assert_eq!(events[0]["detail-type"], "Asset Failed");

    // A job whose source object is missing (a retryable, not-found error): retried maxReceiveCount
    // times, then in the DLQ. The source is put where it belongs and `mediaflow dlq redrive`
    // brings the message back; the job then succeeds. (The source lives in the derivatives bucket,
    // which has no notifications, so putting it there does not start another upload.)
    let (asset, job) =
        asset_with_pending_job(&stack, "late-source.jpg", JobKind::Thumbnail, media_core::MediaKind::Image)
            .await;
    let (id, bucket, source_key) = (asset.id.clone(), job.bucket.clone(), job.key.clone());
    stack.send(stack.output("ThumbnailQueueUrl"), &serde_json::to_string(&job).expect("json")).await;
    let dlq = stack.output("ThumbnailDeadLetterQueueUrl").to_owned();
    let max_receives = stack.number("MaxReceiveCount");
    let visibility = stack.number("ThumbnailQueueVisibilityTimeout");
    let deadline = Instant::now() + Duration::from_secs((max_receives + 2) * visibility + 60);
    while stack.queue_depth(&dlq).await == 0 {
        assert!(Instant::now() < deadline, "the failing job never reached the DLQ");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let failed = stack.asset(&id).await.expect("asset");
    let state = &failed.jobs[&JobKind::Thumbnail];
    assert_eq!(state.status, JobStatus::Pending, "released after each retryable failure");
    assert_eq!(state.attempts as u64, max_receives, "tried maxReceiveCount times");
    assert_eq!(state.error.as_ref().map(|e| e.code), Some(ErrorCode::NOT_FOUND));
    for url in dlqs.iter().filter(|name| **name != "ThumbnailDeadLetterQueueUrl") {
        assert_eq!(stack.queue_depth(stack.output(url)).await, 0, "{url}: nothing else dead-lettered");
    }

    stack.put(&bucket, &source_key, data("media-core/tests/data/inputs/jpeg-gray.jpg")).await;
    let mediaflow = e2e::absolute_path_from_env("MEDIAFLOW_CLI");
    let output = std::process::Command::new(&mediaflow)
        .args(["dlq", "redrive", "--queue", "thumbnail", "--stack", &stack.name])
        .output()
        .unwrap_or_else(|error| panic!("{}: {error}", mediaflow.display()));
    assert!(output.status.success(), "redrive failed: {}", String::from_utf8_lossy(&output.stderr));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("moved 1"), "{said}");
    let done = stack.wait_final(&id, Duration::from_secs(60)).await;
    assert_eq!(done.status, AssetStatus::Ready);
    let thumbnail = &done.jobs[&JobKind::Thumbnail];
    assert_eq!(thumbnail.attempts as u64, max_receives + 1);
    assert_eq!(stack.queue_depth(&dlq).await, 0);
    // Every attempt is on the record and in the cost: the failed ones too.
    let outcomes: Vec<Outcome> = thumbnail.history.iter().map(|attempt| attempt.outcome).collect();
    let mut expected = vec![Outcome::Failed(ErrorCode::NOT_FOUND); max_receives as usize];
    expected.push(Outcome::Ok);
    assert_eq!(outcomes, expected);
    assert!(thumbnail.history.iter().all(|attempt| attempt.cost.lambda_usd > 0.0));
    // The asset was recorded by the test (no ingest) with this one job: its attempts are the cost.
    let attempts: f64 = thumbnail.history.iter().map(|attempt| attempt.cost.total_usd).sum();
    let cost = done.cost.expect("the cost");
    assert!((cost.total_usd - attempts).abs() < 1e-12, "{cost:?} vs {attempts}");
    let output = std::process::Command::new(&mediaflow)
        .args(["trace", "--stack", &stack.name, id.as_str()])
        .output()
        .unwrap_or_else(|error| panic!("{}: {error}", mediaflow.display()));
    let chart = String::from_utf8_lossy(&output.stdout);
    println!("{chart}");
    for number in 1..=max_receives + 1 {
        assert!(chart.contains(&format!("thumbnail #{number}")), "attempt {number} missing:\n{chart}");
    }
    assert_eq!(chart.matches(ErrorCode::NOT_FOUND.as_str()).count() as u64, max_receives, "{chart}");
}

/// The upload's recorded facts and cost: every attempt billed as a Lambda invocation with the
/// requests it made, the upload's cost the formula over them at the stack's (default) prices, and
/// `mediaflow trace --json` listing every attempt of every job.
fn check_cost_and_trace(stack: &Stack, asset: &Asset) {
    let prices = Prices::default();
    let ingest = asset.ingest.as_ref().expect("the ingest attempt is recorded");
    assert_eq!(ingest.outcome, Outcome::Ok);
    assert!(ingest.requests.s3_read >= 2, "a HEAD and the sniffing GET: {:?}", ingest.requests);
    for attempt in asset.attempts() {
        let billing = attempt.lambda.as_ref().unwrap_or_else(|| panic!("not billed as Lambda: {attempt:#?}"));
        assert!(billing.memory_mb >= 128 && billing.billed_ms >= attempt.duration_ms, "{billing:?}");
        assert!(attempt.queue_wait_ms.is_some(), "SentTimestamp reached the function: {attempt:#?}");
        assert_eq!(attempt.cost, prices.attempt_cost(Some(billing), &attempt.requests), "{attempt:#?}");
    }
    for (job, state) in &asset.jobs {
        let last = state.history.last().unwrap_or_else(|| panic!("{job}: no attempt recorded"));
        assert_eq!(last.outcome, Outcome::Ok, "{job}");
        assert!(
            last.requests.dynamodb_writes >= 1 && last.requests.dynamodb_write_units >= 1.0,
            "{job}: the claim"
        );
        assert!(last.requests.s3_read >= 1, "{job}: the source was read: {:?}", last.requests);
        assert_eq!(last.bytes_out > 0, !state.derivatives.is_empty(), "{job}");
        if !state.derivatives.is_empty() {
            assert!(last.requests.s3_write as usize >= state.derivatives.len(), "{job}: {:?}", last.requests);
        }
    }
    let cost = asset.cost.expect("the completed upload's cost");
    let sum = Cost::sum(asset.attempts());
    assert!(cost.total_usd > 0.0 && (cost.total_usd - sum.total_usd).abs() < 1e-12, "{cost:?} vs {sum:?}");
    assert!(cost.lambda_usd > 0.0 && cost.s3_usd > 0.0 && cost.dynamodb_usd > 0.0, "{cost:?}");

    let mediaflow = e2e::absolute_path_from_env("MEDIAFLOW_CLI");
    let source = format!("s3://{}/{}", asset.source.bucket, asset.source.key);
    let output = std::process::Command::new(&mediaflow)
        .args(["trace", "--json", "--stack", &stack.name, &source])
        .output()
        .unwrap_or_else(|error| panic!("{}: {error}", mediaflow.display()));
    assert!(output.status.success(), "trace failed: {}", String::from_utf8_lossy(&output.stderr));
    let trace: serde_json::Value = serde_json::from_slice(&output.stdout).expect("trace --json is JSON");
    let rows = trace["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), asset.attempts().count(), "{trace:#}");
    let stages: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|row| row["stage"].as_str()).collect();
    let expected: std::collections::BTreeSet<&str> =
        std::iter::once("ingest").chain(asset.jobs.keys().map(|job| job.as_str())).collect();
    assert_eq!(stages, expected, "{source}");
    assert!((trace["cost"]["total_usd"].as_f64().unwrap_or_default() - cost.total_usd).abs() < 1e-12);
}

/// A binary of the workspace next to this test's (same target folder and profile).
#[tokio::test]
async fn worker_mode_runs_long_transcodes_from_its_queue_and_stops_cleanly_on_sigterm() {
    let stack = Stack::connect().await;
    let (asset, message) =
        asset_with_pending_job(&stack, "long/bunny.mp4", JobKind::Transcode, media_core::MediaKind::Video)
            .await;
    stack.put(stack.derivatives(), &message.key, data("media-video/tests/data/bigbuckbunny.mp4")).await;
    let queue = stack.output("TranscodeLongQueueUrl").to_owned();
    stack.send(&queue, &serde_json::to_string(&message).expect("json")).await;

    // The packaged release bootstrap, run inside the Debian bullseye root (glibc 2.31) that
    // `make package` checks the artifacts in: what ships, on an older glibc than provided.al2023's.
    let mut worker = e2e::packaged_function_in_old_glibc_root("transcode")
        .args(["worker", "--queue-url", &queue, "--concurrency", "1"])
        .env("ASSETS_TABLE", stack.output("AssetsTableName"))
        .env("DERIVATIVES_BUCKET", stack.derivatives())
        .env("EVENT_BUS_NAME", stack.output("EventBusName"))
        .env("MEDIAFLOW_RENDITIONS", "240")
        .env("MEDIAFLOW_X264_PRESET", "ultrafast")
        .spawn()
        .expect("chroot runs");
    let done = stack.wait_final(&asset.id, Duration::from_secs(120)).await;
    assert_eq!(done.status, AssetStatus::Ready, "{done:#?}");
    let keys: Vec<&str> = done.derivatives().map(|d| d.key.as_str()).collect();
    assert!(keys.contains(&format!("{}/240p.mp4", asset.id).as_str()), "{keys:?}");
    check_derivatives(&stack, &done).await;
    assert_eq!(stack.queue_depth(&queue).await, 0, "the handled message was deleted");

    let stopped = std::process::Command::new("kill").args(["-TERM", &worker.id().to_string()]).status();
    assert!(stopped.is_ok_and(|status| status.success()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = worker.try_wait().expect("worker status") {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the worker did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "worker exited with {status}");
}

#[tokio::test]
async fn a_burst_of_200_uploads_completes_with_nothing_lost() {
    let stack = Stack::connect().await;
    let files = [
        "media-core/tests/data/inputs/png-palette.png",
        "media-core/tests/data/inputs/gif-static.gif",
        "media-core/tests/data/inputs/jpeg-gray.jpg",
        "media-core/tests/data/inputs/png-gray.png",
        "media-core/tests/data/inputs/webp-lossy.webp",
    ];
    let bodies: Vec<Vec<u8>> = files.iter().map(|file| data(file)).collect();
    let started = Instant::now();
    let uploads: Vec<(Instant, AssetId)> = futures::stream::iter(0..200)
        .map(|n| {
            let (stack, body) = (&stack, bodies[n % bodies.len()].clone());
            async move { stack.upload(&stack.key(&format!("burst/{n:03}.img")), body).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut latencies = Vec::new();
    for (at, id) in &uploads {
        let asset = stack.wait_final(id, Duration::from_secs(600)).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{asset:#?}");
        latencies.push(e2e::latency(&asset, *at));
    }
    let total = started.elapsed();
    println!(
        "e2e burst: 200 uploads ready in {total:?} ({:.1}/s); upload→ready p50 {} ms p95 {} ms",
        200.0 / total.as_secs_f64(),
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 95.0)
    );
    for dlq in [
        "IngestDeadLetterQueueUrl",
        "ThumbnailDeadLetterQueueUrl",
        "MetadataDeadLetterQueueUrl",
        "ModerateDeadLetterQueueUrl",
    ] {
        assert_eq!(stack.queue_depth(stack.output(dlq)).await, 0, "{dlq}");
    }

    // No claim about MaximumConcurrency here: LocalStack 4.13 runs one batch per mapping at a time
    // whatever the limit says, so no assertion about it could fail on this stack.
}

fn percentile_ms(values: &[Duration], p: f64) -> u128 {
    percentile(values, p).as_millis()
}

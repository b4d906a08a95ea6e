//! The use-cases end to end over the in-memory ports, with real images and a real video clip:
//! ingest → jobs → derivatives → completion, and the at-least-once cases (duplicates, stale
//! events, re-uploads, removals, poison and retryable failures).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use pipeline::ports::{JobMessage, JobQueueName};
use pipeline::testing::MemoryPipeline;
use pipeline::{
    AssetId, AssetStatus, DerivativeRole, JobKind, JobStatus, handle_ingest_message, handle_job_message,
};

const UPLOADS: &str = "uploads";

fn data(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn photo() -> Vec<u8> {
    data("media-core/tests/data/inputs/photo-camera.jpg")
}

fn event(name: &str, key: &str, sequencer: &str) -> String {
    let encoded: String = url_encode(key);
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": "2024-05-01T12:00:00.000Z",
        "eventName": name,
        "s3": {"bucket": {"name": UPLOADS}, "object": {"key": encoded, "size": 1, "sequencer": sequencer}}
    }]})
    .to_string()
}

/// Encodes a key the way AWS does in events: `+` for spaces, percent-encoding for the rest.
fn url_encode(key: &str) -> String {
    key.bytes()
        .map(|byte| match byte {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn upload(pipeline: &MemoryPipeline, key: &str, body: Vec<u8>) {
    pipeline.objects.insert(UPLOADS, key, body);
}

/// Runs every queued job message through its handler until the queues are empty; returns the
/// messages it ran.
async fn drain_jobs(pipeline: &MemoryPipeline) -> Vec<JobMessage> {
    let mut ran = Vec::new();
    loop {
        let sent = pipeline.queue.drain();
        if sent.is_empty() {
            return ran;
        }
        for (queue, message) in sent {
            let JobQueueName::Job(kind) = queue else { continue };
            let body = serde_json::to_string(&message).expect("serialises");
            handle_job_message(&pipeline.services, kind, &body, None).await.expect("job handled");
            ran.push(message);
        }
    }
}

fn decoded_size(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("derivative decodes");
    (image.width(), image.height())
}

#[tokio::test]
async fn an_uploaded_photo_gets_thumbnails_metadata_and_one_ready_event() {
    let pipeline = MemoryPipeline::new(|_| {});
    let key = "albums/2024/my holiday +1 café.jpg";
    upload(&pipeline, key, photo());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", key, "0A01"))
        .await
        .expect("ingested");

    let id = AssetId::for_object(UPLOADS, key);
    let asset = pipeline.assets.all().pop().expect("asset recorded");
    assert_eq!(asset.id, id);
    assert_eq!(asset.source.key, key, "key decoded form-style");
    assert_eq!(asset.status, AssetStatus::Processing);
    assert_eq!(asset.source.content_type.as_deref(), Some("image/jpeg"));

    let ran = drain_jobs(&pipeline).await;
    assert_eq!(ran.iter().map(|m| m.job).collect::<Vec<_>>(), vec![JobKind::Thumbnail, JobKind::Metadata]);

    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!(asset.status, AssetStatus::Ready);
    assert!(asset.jobs.values().all(|job| job.status == JobStatus::Done && job.attempts == 1));
    let thumbs: Vec<_> = asset.derivatives().filter(|d| d.role == DerivativeRole::Thumbnail).collect();
    assert_eq!(thumbs.len(), 2);
    for thumb in thumbs {
        assert!(thumb.key.starts_with(&format!("{id}/thumb-")), "{}", thumb.key);
        let (bytes, content_type) = pipeline.objects.object("derivatives", &thumb.key).expect("stored");
        assert_eq!(content_type, "image/jpeg");
        assert_eq!(bytes.len() as u64, thumb.bytes);
        assert_eq!(Some(decoded_size(&bytes)), thumb.width.zip(thumb.height));
    }
    let metadata = asset.metadata.as_ref().expect("metadata");
    assert_eq!(metadata["format"], "jpeg");
    assert_eq!(metadata["exif"]["make"], "Canon");
    assert_eq!(asset.sha256.as_deref(), metadata["sha256"].as_str());

    let events = pipeline.events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type(), "Asset Ready");
    assert_eq!(events[0].derivatives.len(), 2);

    let metrics = pipeline.metrics.recorded();
    assert_eq!(
        metrics.iter().map(|m| (m.job, m.outcome.as_str())).collect::<Vec<_>>(),
        vec![(JobKind::Thumbnail, "ok"), (JobKind::Metadata, "ok")]
    );
    assert_eq!(metrics[0].bytes_in, photo().len() as u64);
    assert_eq!(metrics[0].bytes_out, asset.derivatives().map(|d| d.bytes).sum::<u64>());
}

#[tokio::test]
async fn duplicate_deliveries_do_no_duplicate_work() {
    let pipeline = MemoryPipeline::new(|_| {});
    upload(&pipeline, "a.jpg", photo());
    let body = event("ObjectCreated:Put", "a.jpg", "0A01");
    handle_ingest_message(&pipeline.services, &body).await.expect("ingested");
    let first = pipeline.queue.drain();
    handle_ingest_message(&pipeline.services, &body).await.expect("duplicate acknowledged");
    assert!(pipeline.queue.drain().is_empty(), "a duplicate event enqueues nothing once jobs are enqueued");

    for (queue, message) in &first {
        let JobQueueName::Job(kind) = *queue else { continue };
        let body = serde_json::to_string(message).expect("json");
        handle_job_message(&pipeline.services, kind, &body, None).await.expect("handled");
        handle_job_message(&pipeline.services, kind, &body, None).await.expect("duplicate acknowledged");
    }
    let asset = pipeline.assets.all().pop().expect("asset");
    assert!(asset.jobs.values().all(|job| job.attempts == 1), "duplicates were not run: {:?}", asset.jobs);
    assert_eq!(pipeline.events.events().len(), 1, "one completion event");
}

#[tokio::test]
async fn a_running_job_is_not_taken_over_until_its_lease_expires() {
    let pipeline = MemoryPipeline::new(|settings| settings.worker_lease = Duration::from_secs(60));
    upload(&pipeline, "a.jpg", photo());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "a.jpg", "01"))
        .await
        .expect("ingested");
    let (_, message) = pipeline.queue.drain().into_iter().next().expect("a job");
    let id = message.asset_id.clone();
    let now = pipeline.services.clock.now();
    let lease = now.plus(Duration::from_secs(60));
    let claim = pipeline.services.assets.claim_job(&id, &message.sequencer, message.job, now, lease).await;
    assert!(matches!(claim, Ok(pipeline::ports::Claim::Claimed(_))));
    let body = serde_json::to_string(&message).expect("json");
    let busy = handle_job_message(&pipeline.services, message.job, &body, None).await;
    assert!(matches!(&busy, Err(error) if error.is_retryable() && error.code() == "job-busy"), "{busy:?}");
    pipeline.clock.advance(Duration::from_secs(61));
    handle_job_message(&pipeline.services, message.job, &body, None)
        .await
        .expect("lease expired: taken over");
    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!(asset.jobs[&message.job].status, JobStatus::Done);
    assert_eq!(asset.jobs[&message.job].attempts, 2);
}

#[tokio::test]
async fn stale_events_and_late_jobs_never_overwrite_a_newer_upload() {
    let pipeline = MemoryPipeline::new(|_| {});
    upload(&pipeline, "k.jpg", photo());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "k.jpg", "0A01"))
        .await
        .expect("v1");
    let old_jobs = pipeline.queue.drain();

    // The key is overwritten with a PNG: a newer sequencer reprocesses it.
    upload(&pipeline, "k.jpg", data("media-core/tests/data/inputs/png-rgba.png"));
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "k.jpg", "0A02"))
        .await
        .expect("v2");
    // The first upload's event arrives again, late: stale.
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "k.jpg", "0A01"))
        .await
        .expect("stale");
    let asset = pipeline.assets.all().pop().expect("asset");
    let time = pipeline::time::Timestamp::parse_rfc3339("2024-05-01T12:00:00.000Z");
    assert_eq!(asset.source.sequencer, pipeline::Sequencer::from_event(Some("0A02"), time));

    // The first upload's jobs run late: acknowledged, nothing recorded.
    for (queue, message) in old_jobs {
        let JobQueueName::Job(kind) = queue else { continue };
        let body = serde_json::to_string(&message).expect("json");
        handle_job_message(&pipeline.services, kind, &body, None).await.expect("stale job acknowledged");
    }
    let asset = pipeline.assets.all().pop().expect("asset");
    assert!(asset.jobs.values().all(|job| job.status == JobStatus::Pending), "{:?}", asset.jobs);

    drain_jobs(&pipeline).await;
    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.metadata.as_ref().map(|m| m["format"].clone()), Some("png".into()));
    assert_eq!(pipeline.events.events().len(), 1, "only the newest upload completes");
}

#[tokio::test]
async fn removal_deletes_derivatives_and_beats_older_events() {
    let pipeline = MemoryPipeline::new(|_| {});
    upload(&pipeline, "gone.jpg", photo());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "gone.jpg", "01"))
        .await
        .expect("in");
    drain_jobs(&pipeline).await;
    assert_eq!(pipeline.objects.keys("derivatives").len(), 2);

    pipeline.objects.remove(UPLOADS, "gone.jpg");
    handle_ingest_message(&pipeline.services, &event("ObjectRemoved:Delete", "gone.jpg", "02"))
        .await
        .expect("rm");
    assert!(pipeline.objects.keys("derivatives").is_empty(), "derivatives deleted");
    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!(asset.status, AssetStatus::Deleted);

    // A redelivered creation event of the removed upload changes nothing.
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "gone.jpg", "01"))
        .await
        .expect("stale");
    assert_eq!(pipeline.assets.all().pop().map(|a| a.status), Some(AssetStatus::Deleted));
    assert!(pipeline.queue.drain().is_empty());
}

#[tokio::test]
async fn corrupt_and_unknown_files_fail_with_their_code_and_are_not_retried() {
    let pipeline = MemoryPipeline::new(|_| {});
    upload(&pipeline, "broken.jpg", data("media-core/tests/data/bad/truncated-photo-camera-600.jpg"));
    upload(&pipeline, "notes.txt", b"just some text, not media".to_vec());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "broken.jpg", "01"))
        .await
        .expect("in");
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "notes.txt", "01"))
        .await
        .expect("in");
    drain_jobs(&pipeline).await; // every job message is acknowledged: drain_jobs expects Ok

    let broken = pipeline.assets.all().into_iter().find(|a| a.source.key == "broken.jpg").expect("asset");
    assert_eq!(broken.status, AssetStatus::Failed);
    for job in broken.jobs.values() {
        assert_eq!(job.status, JobStatus::Failed);
        // Cut inside the JPEG header: the decoder reports it as corrupt.
        assert_eq!(job.error.as_ref().map(|e| e.code.as_str()), Some("corrupt-input"));
    }
    let text = pipeline.assets.all().into_iter().find(|a| a.source.key == "notes.txt").expect("asset");
    assert_eq!(text.status, AssetStatus::Failed);
    assert_eq!(text.error.as_ref().map(|e| e.code.as_str()), Some("unsupported-format"));
    let events = pipeline.events.events();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|event| event.detail_type() == "Asset Failed" && !event.errors.is_empty()));
}

#[tokio::test]
async fn service_failures_are_retried_and_the_job_released() {
    let pipeline = MemoryPipeline::new(|_| {});
    upload(&pipeline, "a.jpg", photo());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "a.jpg", "01")).await.expect("in");
    let jobs = pipeline.queue.drain();
    let (queue, message) = jobs.first().cloned().expect("job");
    let JobQueueName::Job(kind) = queue else { unreachable!() };
    let body = serde_json::to_string(&message).expect("json");

    pipeline.objects.unavailable.store(true, Ordering::SeqCst);
    let failed = handle_job_message(&pipeline.services, kind, &body, None).await;
    assert!(matches!(&failed, Err(error) if error.is_retryable()), "{failed:?}");
    let state = pipeline.assets.all().pop().expect("asset").jobs[&kind].clone();
    assert_eq!(state.status, JobStatus::Pending, "released for the retry");
    assert_eq!(state.error.map(|e| e.code), Some("service-unavailable".into()));

    pipeline.objects.unavailable.store(false, Ordering::SeqCst);
    handle_job_message(&pipeline.services, kind, &body, None).await.expect("retry succeeds");
    assert_eq!(pipeline.assets.all().pop().expect("asset").jobs[&kind].status, JobStatus::Done);
}

#[tokio::test]
async fn test_events_and_garbage_are_acknowledged() {
    let pipeline = MemoryPipeline::new(|_| {});
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"uploads"}"#;
    for body in [test_event, "not json", "{}"] {
        handle_ingest_message(&pipeline.services, body).await.expect("acknowledged");
        handle_job_message(&pipeline.services, JobKind::Thumbnail, body, None).await.expect("acknowledged");
    }
    assert!(pipeline.assets.all().is_empty());
}

fn clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../media-video/tests/data/bigbuckbunny.mp4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_gets_a_poster_renditions_hls_and_its_probe() {
    let work = tempfile::tempdir().expect("tempdir");
    let pipeline = MemoryPipeline::new(|settings| {
        settings.ladder = vec![media_video::Rung::for_height(240)];
        settings.preset = media_video::X264Preset::Ultrafast;
        settings.work_dir = work.path().to_owned();
    });
    upload(&pipeline, "clips/bunny.mp4", std::fs::read(clip()).expect("clip"));
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "clips/bunny.mp4", "01"))
        .await
        .expect("in");
    let ran = drain_jobs(&pipeline).await;
    assert_eq!(ran.iter().map(|m| m.job).collect::<Vec<_>>(), vec![JobKind::Transcode, JobKind::Metadata]);

    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!(asset.status, AssetStatus::Ready, "{:?}", asset.jobs);
    let id = &asset.id;
    let keys = pipeline.objects.keys("derivatives");
    for expected in ["poster-256.jpg", "240p.mp4", "hls/master.m3u8"] {
        assert!(keys.contains(&format!("{id}/{expected}")), "{expected} missing from {keys:?}");
    }
    let rendition = asset.derivatives().find(|d| d.role == DerivativeRole::Rendition).expect("rendition");
    assert_eq!(rendition.height, Some(240));
    assert!(rendition.duration_seconds.is_some_and(|d| d > 1.0));
    let poster = asset.derivatives().find(|d| d.role == DerivativeRole::Poster).expect("poster");
    let (bytes, _) = pipeline.objects.object("derivatives", &poster.key).expect("poster stored");
    assert_eq!(Some(decoded_size(&bytes)), poster.width.zip(poster.height));
    let metadata = asset.metadata.as_ref().expect("probe");
    assert_eq!(metadata["video"][0]["codec"], "h264");
    assert!(work.path().read_dir().expect("work dir").next().is_none(), "temporary files removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcode_that_cannot_finish_before_the_deadline_goes_to_worker_mode() {
    let work = tempfile::tempdir().expect("tempdir");
    let pipeline = MemoryPipeline::new(|settings| {
        settings.work_dir = work.path().to_owned();
        settings.transcode_pixels_per_second = 1_000.0; // hopelessly slow
        settings.deadline_margin = Duration::from_secs(1);
    });
    upload(&pipeline, "long.mp4", std::fs::read(clip()).expect("clip"));
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "long.mp4", "01"))
        .await
        .expect("in");
    let (_, message) = pipeline
        .queue
        .drain()
        .into_iter()
        .find(|(q, _)| *q == JobQueueName::Job(JobKind::Transcode))
        .expect("job");
    let body = serde_json::to_string(&message).expect("json");
    let deadline = SystemTime::now() + Duration::from_secs(60);
    handle_job_message(&pipeline.services, JobKind::Transcode, &body, Some(deadline))
        .await
        .expect("deferred");

    let sent = pipeline.queue.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, JobQueueName::TranscodeLong);
    let state = pipeline.assets.all().pop().expect("asset").jobs[&JobKind::Transcode].clone();
    assert_eq!(state.status, JobStatus::Pending);
    assert!(state.sent_to_worker, "the asset says where the job went");
}

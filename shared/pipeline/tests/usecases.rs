//! The use-cases end to end over the in-memory ports, with real images and a real video clip:
//! ingest → jobs → derivatives → completion, and the at-least-once cases (duplicates, stale
//! events, re-uploads, removals, poison and retryable failures).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use pipeline::ports::JobQueueName;
use pipeline::testing::{MemoryPipeline, s3_event_body};
use pipeline::{
    AssetId, AssetStatus, DerivativeRole, JobKind, JobState, JobStatus, handle_ingest_message,
    handle_job_message,
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
    s3_event_body(name, UPLOADS, key, sequencer)
}

fn upload(pipeline: &MemoryPipeline, key: &str, body: Vec<u8>) {
    pipeline.objects.insert(UPLOADS, key, body);
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

    let ran = pipeline.run_queued_jobs().await;
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
async fn a_job_whose_process_died_before_completing_the_upload_is_completed_by_its_next_delivery() {
    let pipeline = MemoryPipeline::new(|_| {});
    upload(&pipeline, "a.jpg", photo());
    handle_ingest_message(&pipeline.services, &event("ObjectCreated:Put", "a.jpg", "01"))
        .await
        .expect("ingested");
    let mut jobs = pipeline.queue.drain();
    let (_, last) = jobs.pop().expect("two jobs");
    for (_, message) in jobs {
        let body = serde_json::to_string(&message).expect("json");
        handle_job_message(&pipeline.services, message.job, &body, None).await.expect("job ran");
    }
    // The last job's process claims it and records its end, then dies before completing the upload.
    let assets = &pipeline.services.assets;
    let now = pipeline.services.clock.now();
    let claim = assets.claim_job(&last.asset_id, &last.sequencer, last.job, now, now).await;
    assert!(matches!(claim, Ok(pipeline::ports::Claim::Claimed(_))), "{claim:?}");
    let state = JobState { status: JobStatus::Done, attempts: 1, ..JobState::pending() };
    let result = pipeline::ports::JobResult { state, metadata: None, sha256: None };
    assets.finish_job(&last.asset_id, &last.sequencer, last.job, result, now).await.expect("recorded");
    assert_eq!(pipeline.assets.all()[0].status, AssetStatus::Processing, "not completed yet");
    assert!(pipeline.events.events().is_empty());

    // SQS delivers the message again (the invocation failed): the job is finished, the upload is
    // completed now, and a further delivery publishes nothing more.
    let body = serde_json::to_string(&last).expect("json");
    for _ in 0..2 {
        handle_job_message(&pipeline.services, last.job, &body, None).await.expect("acknowledged");
    }
    assert_eq!(pipeline.assets.all()[0].status, AssetStatus::Ready);
    assert_eq!(pipeline.events.events().len(), 1, "one completion event");
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

    pipeline.run_queued_jobs().await;
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
    pipeline.run_queued_jobs().await;
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
    pipeline.run_queued_jobs().await; // every job message is acknowledged: run_queued_jobs panics on an error

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

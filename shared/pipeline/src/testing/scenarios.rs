//! The use-case scenarios, written once against any [`AssetRepository`]: the at-least-once promises
//! (duplicates, stale events, re-uploads, removals during a job, lease expiry and takeover, one
//! completion event, a failed publish republished once) live in the repository's conditional
//! writes, so they are proven on the in-memory copy (`pipeline`'s tests) and on
//! `DynamoAssetRepository` against DynamoDB Local (`aws-adapters`' tests) alike.
//!
//! [`scenario_tests!`](crate::scenario_tests) turns every scenario into a `#[tokio::test]`.
//! Each scenario uses real images and panics with a message on the first broken promise.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{FixedClassifier, MemoryPipeline, object_event};
use crate::batch::Delivery;
use crate::cost::{Cost, Prices};
use crate::messages::FLAGGED_TAG;
use crate::messages::{JobMessage, JobPart};
use crate::model::Failure;
use crate::model::{AssetId, AssetStatus, DerivativeRole, JobKind, JobState, JobStatus};
use crate::moderation::{ModerationDecision, ModerationSettings};
use crate::ports::{AssetRepository, Claim, JobResult, Stage};
use crate::sequencer::Sequencer;
use crate::time::Timestamp;
use crate::usage::Outcome;
use crate::{ReconcileSettings, handle_ingest_message, handle_job_message, reconcile};
use media_core::ErrorCode;

/// The uploads bucket of every scenario.
pub const UPLOADS: &str = "uploads";

/// Generates one `#[tokio::test]` per scenario; `$repository` is an expression of a future that
/// yields a fresh, empty `Arc<impl AssetRepository>`, evaluated once per test.
#[macro_export]
macro_rules! scenario_tests {
    ($repository:expr) => {
        $crate::scenario_tests!(@each $repository;
            an_uploaded_photo_gets_thumbnails_metadata_and_one_ready_event,
            duplicate_deliveries_do_no_duplicate_work,
            a_running_job_is_not_taken_over_until_its_lease_ends,
            a_job_whose_process_died_before_completing_the_upload_is_completed_by_its_next_delivery,
            a_reupload_starts_over_and_stale_events_and_late_jobs_never_overwrite_it,
            removal_deletes_derivatives_and_beats_older_events,
            a_removal_during_a_job_discards_the_jobs_result,
            a_failed_publish_is_republished_once,
            an_event_whose_publisher_died_is_published_by_the_next_delivery,
            corrupt_and_unknown_files_fail_with_their_code_and_are_not_retried,
            one_reconcile_run_recovers_what_events_missed_and_a_second_changes_nothing,
            service_failures_are_retried_and_the_job_released,
            moderation_records_a_decision_and_a_flagged_assets_derivatives_are_tagged,
            a_split_transcode_joins_once_however_its_parts_are_delivered,
            a_part_that_finds_bad_media_fails_the_split_job_with_its_code
        );
    };
    (@each $repository:expr; $($scenario:ident),+) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                $crate::testing::scenarios::$scenario($repository.await).await;
            }
        )+
    };
}

fn data(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn photo() -> Vec<u8> {
    data("media-core/tests/data/inputs/photo-camera.jpg")
}

fn event(name: &str, key: &str, sequencer: &str) -> crate::s3_event::IngestMessage {
    object_event(name, UPLOADS, key, sequencer)
}

fn body(message: &JobMessage) -> String {
    serde_json::to_string(message).expect("a job message serialises")
}

fn decoded_size(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("derivative decodes");
    (image.width(), image.height())
}

impl<R: AssetRepository + 'static> MemoryPipeline<R> {
    async fn upload(&self, key: &str, bytes: Vec<u8>, sequencer: &str) {
        self.objects.insert(UPLOADS, key, bytes);
        handle_ingest_message(&self.services, &Delivery::of(""), event("ObjectCreated:Put", key, sequencer))
            .await
            .unwrap_or_else(|error| panic!("ingest of {key}: {error}"));
    }

    async fn job(&self, message: &JobMessage) -> Result<(), crate::JobError> {
        handle_job_message(&self.services, message.job, &Delivery::of(body(message)), None).await
    }

    /// The queued job messages, in the order they were sent.
    fn queued(&self) -> Vec<JobMessage> {
        self.queue.drain().into_iter().map(|(_, message)| message).collect()
    }
}

/// An image upload: two thumbnails, metadata, `ready`, one event, metrics; the status and checksum
/// indexes find it.
pub async fn an_uploaded_photo_gets_thumbnails_metadata_and_one_ready_event<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    let key = "albums/2024/my holiday +1 café.jpg";
    pipeline.upload(key, photo(), "0A01").await;
    let asset = pipeline.asset(UPLOADS, key).await;
    assert_eq!(asset.id, AssetId::for_object(UPLOADS, key));
    assert_eq!(asset.source.key, key, "key decoded form-style");
    assert_eq!(asset.status, AssetStatus::Processing);
    assert_eq!(asset.source.content_type.as_deref(), Some("image/jpeg"));

    let ran = pipeline.run_queued_jobs().await;
    assert_eq!(ran.iter().map(|m| m.job).collect::<Vec<_>>(), vec![JobKind::Thumbnail, JobKind::Metadata]);

    let asset = pipeline.asset(UPLOADS, key).await;
    assert_eq!(asset.status, AssetStatus::Ready);
    assert!(asset.jobs.values().all(|job| job.status == JobStatus::Done && job.attempts == 1));
    let thumbs: Vec<_> = asset.derivatives().filter(|d| d.role == DerivativeRole::Thumbnail).collect();
    assert_eq!(thumbs.len(), 2);
    for thumb in thumbs {
        assert!(thumb.key.starts_with(&format!("{}/thumb-", asset.id)), "{}", thumb.key);
        let (bytes, content_type) = pipeline.objects.object("derivatives", &thumb.key).expect("stored");
        assert_eq!(content_type, "image/jpeg");
        assert_eq!(bytes.len() as u64, thumb.bytes);
        assert_eq!(Some(decoded_size(&bytes)), thumb.width.zip(thumb.height));
    }
    let metadata = asset.metadata.as_ref().expect("metadata");
    assert_eq!(metadata["format"], "jpeg");
    assert_eq!(metadata["exif"]["make"], "Canon");
    let sha256 = asset.sha256.clone().expect("checksum recorded");
    assert_eq!(Some(sha256.as_str()), metadata["sha256"].as_str());

    let events = pipeline.events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type(), "Asset Ready");
    assert_eq!(events[0].derivatives.len(), 2);

    let metrics = pipeline.metrics.recorded();
    assert_eq!(
        metrics.iter().map(|m| (m.stage, m.outcome.as_str())).collect::<Vec<_>>(),
        [
            (Stage::Ingest, "ok"),
            (Stage::Job(JobKind::Thumbnail), "ok"),
            (Stage::Job(JobKind::Metadata), "ok")
        ]
    );
    assert_eq!(metrics[1].bytes_in, photo().len() as u64);
    assert_eq!(metrics[1].bytes_out, asset.derivatives().map(|d| d.bytes).sum::<u64>());

    let repository = &pipeline.services.assets;
    let ready = repository.list_by_status(AssetStatus::Ready, 10).await.expect("listed");
    assert_eq!(ready.iter().map(|a| &a.id).collect::<Vec<_>>(), vec![&asset.id]);
    let processing = repository.list_by_status(AssetStatus::Processing, 10).await.expect("listed");
    assert!(processing.is_empty(), "{processing:?}");
    assert_eq!(repository.find_by_sha256(&sha256).await.expect("found"), vec![asset.id.clone()]);
}

/// A redelivered S3 event enqueues nothing more, a redelivered job runs nothing more, and the
/// upload completes once.
pub async fn duplicate_deliveries_do_no_duplicate_work<R: AssetRepository + 'static>(assets: Arc<R>) {
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("a.jpg", photo(), "0A01").await;
    let first = pipeline.queued();
    handle_ingest_message(&pipeline.services, &Delivery::of(""), event("ObjectCreated:Put", "a.jpg", "0A01"))
        .await
        .expect("duplicate acknowledged");
    assert!(pipeline.queue.drain().is_empty(), "a duplicate event enqueues nothing once jobs are enqueued");

    for message in &first {
        pipeline.job(message).await.expect("handled");
        pipeline.job(message).await.expect("duplicate acknowledged");
    }
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert!(asset.jobs.values().all(|job| job.attempts == 1), "duplicates were not run: {:?}", asset.jobs);
    assert_eq!(pipeline.events.events().len(), 1, "one completion event");
}

/// A delivery that finds the job running under another's lease answers `job-busy` (with the
/// lease's end); the lease ends at its last instant, and then the next delivery takes over.
pub async fn a_running_job_is_not_taken_over_until_its_lease_ends<R: AssetRepository + 'static>(
    assets: Arc<R>,
) {
    let pipeline =
        MemoryPipeline::with_repository(assets, |settings| settings.worker_lease = Duration::from_secs(60));
    pipeline.upload("a.jpg", photo(), "01").await;
    let message = pipeline.queued().into_iter().next().expect("a job");
    let now = pipeline.services.clock.now();
    let lease = now.plus(Duration::from_secs(60));
    let repository = &pipeline.services.assets;
    let claim = repository.claim_job(&message.asset_id, &message.sequencer, message.job, now, lease).await;
    assert!(matches!(claim, Ok(Claim::Claimed(_))), "{claim:?}");

    pipeline.clock.advance(Duration::from_secs(59));
    let busy = pipeline.job(&message).await;
    assert!(
        matches!(&busy, Err(error) if error.is_retryable() && error.code() == ErrorCode::JOB_BUSY),
        "{busy:?}"
    );
    assert_eq!(busy.err().and_then(|error| error.retry_at()), Some(lease), "busy until the lease ends");

    pipeline.clock.advance(Duration::from_secs(1));
    pipeline.job(&message).await.expect("the lease ended: taken over");
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(asset.jobs[&message.job].status, JobStatus::Done);
    assert_eq!(asset.jobs[&message.job].attempts, 2);
}

/// A process that recorded its job's end and died before completing the upload: the message's
/// next delivery completes it, and a further one publishes nothing more.
pub async fn a_job_whose_process_died_before_completing_the_upload_is_completed_by_its_next_delivery<R>(
    assets: Arc<R>,
) where
    R: AssetRepository + 'static,
{
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("a.jpg", photo(), "01").await;
    let mut jobs = pipeline.queued();
    let last = jobs.pop().expect("two jobs");
    for message in jobs {
        pipeline.job(&message).await.expect("job ran");
    }
    let repository = &pipeline.services.assets;
    let now = pipeline.services.clock.now();
    let claim = repository.claim_job(&last.asset_id, &last.sequencer, last.job, now, now).await;
    assert!(matches!(claim, Ok(Claim::Claimed(_))), "{claim:?}");
    let state = JobState { status: JobStatus::Done, attempts: 1, ..JobState::pending() };
    let result = JobResult { state, metadata: None, sha256: None, moderation: None };
    let finished = repository.finish_job(&last.asset_id, &last.sequencer, last.job, result, now).await;
    assert!(matches!(finished, Ok(Some(_))), "{finished:?}");
    assert_eq!(pipeline.asset(UPLOADS, "a.jpg").await.status, AssetStatus::Processing, "not completed yet");
    assert!(pipeline.events.events().is_empty());

    for _ in 0..2 {
        pipeline.job(&last).await.expect("acknowledged");
    }
    assert_eq!(pipeline.asset(UPLOADS, "a.jpg").await.status, AssetStatus::Ready);
    assert_eq!(pipeline.events.events().len(), 1, "one completion event");
}

/// A re-upload of a key starts a fresh record (jobs, metadata, checksum, error, completion) that
/// keeps the asset's creation time; the older upload's late event and late jobs change nothing.
pub async fn a_reupload_starts_over_and_stale_events_and_late_jobs_never_overwrite_it<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("k.jpg", photo(), "0A01").await;
    let old_jobs = pipeline.queued();
    for message in &old_jobs {
        pipeline.job(message).await.expect("the first upload's jobs ran");
    }
    let first = pipeline.asset(UPLOADS, "k.jpg").await;
    assert!(first.status == AssetStatus::Ready && first.metadata.is_some() && first.sha256.is_some());

    pipeline.clock.advance(Duration::from_secs(30));
    pipeline.upload("k.jpg", data("media-core/tests/data/inputs/png-rgba.png"), "0A02").await;
    let second = pipeline.asset(UPLOADS, "k.jpg").await;
    let time = Timestamp::parse_rfc3339("2024-05-01T12:00:00.000Z");
    assert_eq!(second.source.sequencer, Sequencer::from_event(Some("0A02"), time));
    assert_eq!(second.status, AssetStatus::Processing);
    assert_eq!(second.created_at, first.created_at, "the asset was created by its first upload");
    assert_eq!(second.source.received_at, first.source.received_at.plus(Duration::from_secs(30)));
    assert!(second.jobs.values().all(|job| *job == JobState::pending()), "{:?}", second.jobs);
    assert_eq!((&second.metadata, &second.sha256, &second.completed_sequencer), (&None, &None, &None));

    handle_ingest_message(&pipeline.services, &Delivery::of(""), event("ObjectCreated:Put", "k.jpg", "0A01"))
        .await
        .expect("a late event of the first upload is acknowledged");
    assert_eq!(pipeline.asset(UPLOADS, "k.jpg").await, second, "a late event of the first upload is stale");
    for message in &old_jobs {
        pipeline.job(message).await.expect("a late job of the first upload is acknowledged");
    }
    assert_eq!(pipeline.asset(UPLOADS, "k.jpg").await, second, "late jobs record nothing");

    pipeline.run_queued_jobs().await;
    let asset = pipeline.asset(UPLOADS, "k.jpg").await;
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.metadata.as_ref().map(|m| m["format"].clone()), Some("png".into()));
    let events = pipeline.events.events();
    assert_eq!(events.len(), 2, "each upload completes once");
    assert_eq!(events[1].sequencer, second.source.sequencer);

    // An upload that failed at ingest (not media) and is replaced by a photo loses its error.
    pipeline.upload("n.jpg", b"not an image".to_vec(), "01").await;
    assert!(pipeline.asset(UPLOADS, "n.jpg").await.error.is_some());
    pipeline.upload("n.jpg", photo(), "02").await;
    let replaced = pipeline.asset(UPLOADS, "n.jpg").await;
    assert_eq!((replaced.status, replaced.error), (AssetStatus::Processing, None));
}

/// A removal deletes the derivatives and marks the asset `deleted`; the removed upload's
/// redelivered creation event is stale.
pub async fn removal_deletes_derivatives_and_beats_older_events<R: AssetRepository + 'static>(
    assets: Arc<R>,
) {
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("gone.jpg", photo(), "01").await;
    pipeline.run_queued_jobs().await;
    assert_eq!(pipeline.objects.keys("derivatives").len(), 2);

    pipeline.objects.remove(UPLOADS, "gone.jpg");
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        event("ObjectRemoved:Delete", "gone.jpg", "02"),
    )
    .await
    .expect("removal");
    assert!(pipeline.objects.keys("derivatives").is_empty(), "derivatives deleted");
    assert_eq!(pipeline.asset(UPLOADS, "gone.jpg").await.status, AssetStatus::Deleted);

    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        event("ObjectCreated:Put", "gone.jpg", "01"),
    )
    .await
    .expect("stale");
    assert_eq!(pipeline.asset(UPLOADS, "gone.jpg").await.status, AssetStatus::Deleted);
    assert!(pipeline.queue.drain().is_empty());

    // A removal whose object was never recorded leaves a tombstone that a late creation event of
    // the same upload cannot overwrite.
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        event("ObjectRemoved:Delete", "never.jpg", "05"),
    )
    .await
    .expect("removal first");
    pipeline.upload("never.jpg", photo(), "04").await;
    assert_eq!(pipeline.asset(UPLOADS, "never.jpg").await.status, AssetStatus::Deleted);
    assert!(pipeline.queue.drain().is_empty());
}

/// The object is removed while a job runs: the job's progress, release and result are all
/// refused, its redelivery is stale, and no completion event goes out.
pub async fn a_removal_during_a_job_discards_the_jobs_result<R: AssetRepository + 'static>(assets: Arc<R>) {
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("a.jpg", photo(), "01").await;
    let message = pipeline.queued().into_iter().next().expect("a job");
    let (id, sequencer, job) = (&message.asset_id, &message.sequencer, message.job);
    let repository = &pipeline.services.assets;
    let now = pipeline.services.clock.now();
    let lease = now.plus(Duration::from_secs(60));
    assert!(matches!(repository.claim_job(id, sequencer, job, now, lease).await, Ok(Claim::Claimed(_))));

    pipeline.objects.remove(UPLOADS, "a.jpg");
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        event("ObjectRemoved:Delete", "a.jpg", "02"),
    )
    .await
    .expect("removal");
    let deleted = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(deleted.status, AssetStatus::Deleted);

    repository.record_progress(id, sequencer, job, 50, now).await.expect("progress refused quietly");
    let attempt = crate::usage::Attempt::unmeasured(Outcome::Failed(ErrorCode::SERVICE_UNAVAILABLE), now);
    let throttled = Failure::new(ErrorCode::SERVICE_UNAVAILABLE, "throttled");
    repository.retry_job(id, sequencer, job, &throttled, &attempt).await.expect("release refused quietly");
    let state = JobState { status: JobStatus::Done, attempts: 1, ..JobState::pending() };
    let result = JobResult { state, metadata: None, sha256: None, moderation: None };
    let finished = repository.finish_job(id, sequencer, job, result, now).await.expect("answered");
    assert_eq!(finished, None, "the result of a removed upload is discarded");
    assert_eq!(pipeline.asset(UPLOADS, "a.jpg").await, deleted, "nothing written after the removal");

    pipeline.clock.advance(Duration::from_secs(61));
    pipeline.job(&message).await.expect("the redelivery is stale");
    assert_eq!(pipeline.asset(UPLOADS, "a.jpg").await, deleted);
    assert!(pipeline.objects.keys("derivatives").is_empty());
    assert!(pipeline.events.events().is_empty());
}

/// Publishing the completion event fails: the job's message is retried and its next delivery
/// publishes the event, once.
pub async fn a_failed_publish_is_republished_once<R: AssetRepository + 'static>(assets: Arc<R>) {
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("a.jpg", photo(), "01").await;
    let mut jobs = pipeline.queued();
    let last = jobs.pop().expect("two jobs");
    for message in jobs {
        pipeline.job(&message).await.expect("job ran");
    }
    pipeline.events.unavailable.store(true, Ordering::SeqCst);
    let failed = pipeline.job(&last).await;
    assert!(matches!(&failed, Err(error) if error.is_retryable()), "{failed:?}");
    assert!(pipeline.events.events().is_empty());
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(asset.jobs[&last.job].status, JobStatus::Done, "the job's own work is kept");
    assert_eq!(asset.completed_sequencer, None, "the completion is open again");

    pipeline.events.unavailable.store(false, Ordering::SeqCst);
    for _ in 0..2 {
        pipeline.job(&last).await.expect("redelivered");
    }
    let events = pipeline.events.events();
    assert_eq!(events.len(), 1, "published once: {events:?}");
    assert_eq!(events[0].detail_type(), "Asset Ready");
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.jobs[&last.job].attempts, 1, "the job itself ran once");
}

/// Bad input is a permanent, coded failure: recorded on the asset, one `Asset Failed` event, no retry.
pub async fn corrupt_and_unknown_files_fail_with_their_code_and_are_not_retried<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline
        .upload("broken.jpg", data("media-core/tests/data/bad/truncated-photo-camera-600.jpg"), "01")
        .await;
    pipeline.upload("notes.txt", b"just some text, not media".to_vec(), "01").await;
    pipeline.run_queued_jobs().await; // panics on a job that is not acknowledged

    let broken = pipeline.asset(UPLOADS, "broken.jpg").await;
    assert_eq!(broken.status, AssetStatus::Failed);
    for job in broken.jobs.values() {
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.attempts, 1);
        // Cut inside the JPEG header: the decoder reports it as corrupt.
        assert_eq!(job.error.as_ref().map(|e| e.code), Some(ErrorCode::CORRUPT_INPUT));
    }
    let text = pipeline.asset(UPLOADS, "notes.txt").await;
    assert_eq!(text.status, AssetStatus::Failed);
    assert_eq!(text.error.as_ref().map(|e| e.code), Some(ErrorCode::UNSUPPORTED_FORMAT));
    let events = pipeline.events.events();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|event| event.detail_type() == "Asset Failed" && !event.errors.is_empty()));
}

/// An outage is retryable: the job is released with the outage's code and the retry finishes it.
/// Both attempts are on the record, and the upload's cost is the sum over every attempt, the
/// failed one and the ingest included.
pub async fn service_failures_are_retried_and_the_job_released<R: AssetRepository + 'static>(assets: Arc<R>) {
    let pipeline = MemoryPipeline::with_repository(assets, |settings| settings.lambda_memory_mb = Some(1024));
    pipeline.upload("a.jpg", photo(), "01").await;
    let messages = pipeline.queued();
    let message = messages.first().expect("a job").clone();

    pipeline.objects.unavailable.store(true, Ordering::SeqCst);
    let failed = pipeline.job(&message).await;
    assert!(matches!(&failed, Err(error) if error.is_retryable()), "{failed:?}");
    let state = pipeline.asset(UPLOADS, "a.jpg").await.jobs[&message.job].clone();
    assert_eq!(state.status, JobStatus::Pending, "released for the retry");
    assert_eq!(state.lease_until, None);
    assert_eq!(state.error.map(|e| e.code), Some(ErrorCode::SERVICE_UNAVAILABLE));

    pipeline.objects.unavailable.store(false, Ordering::SeqCst);
    pipeline.job(&message).await.expect("retry succeeds");
    let state = pipeline.asset(UPLOADS, "a.jpg").await.jobs[&message.job].clone();
    assert_eq!((state.status, state.attempts), (JobStatus::Done, 2));
    let outcomes: Vec<(u32, Outcome)> =
        state.history.iter().map(|attempt| (attempt.number, attempt.outcome)).collect();
    assert_eq!(outcomes, [(1, Outcome::Failed(ErrorCode::SERVICE_UNAVAILABLE)), (2, Outcome::Ok)]);

    for other in &messages[1..] {
        pipeline.job(other).await.expect("the other jobs succeed");
    }
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(asset.status, AssetStatus::Ready);
    let ingest = asset.ingest.as_ref().expect("the ingest attempt is recorded");
    assert_eq!((ingest.number, ingest.outcome.as_str()), (1, "ok"));
    assert_eq!(
        asset.attempts().count(),
        1 + 2 + (asset.jobs.len() - 1),
        "ingest, two thumbnails, the rest once"
    );
    let cost = asset.cost.expect("the completed upload's cost");
    assert_eq!(cost, Cost::sum(asset.attempts()));
    // Every attempt is billed at least its invocation; the failed one too.
    let invocation = Prices::default().lambda_request;
    assert!(cost.lambda_usd >= invocation * asset.attempts().count() as f64, "{cost:?}");
    assert!(state.history[0].cost.total_usd >= invocation);
    let event = pipeline.events.events().pop().expect("the completion event");
    assert_eq!(event.cost, cost);
}

/// What events missed, recovered by one reconciler run once it is stuck past `stuck_after`: an
/// ingest that died before sending its jobs, jobs whose messages were lost, a job whose process
/// died holding it, an upload whose jobs all ended but was never completed, an object whose
/// notification never came. A second run finds nothing to do.
pub async fn one_reconcile_run_recovers_what_events_missed_and_a_second_changes_nothing<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    let settings =
        ReconcileSettings { stuck_after: Duration::from_secs(600), ..ReconcileSettings::new(UPLOADS) };
    let repository = &pipeline.services.assets;

    pipeline.queue.unavailable.store(true, Ordering::SeqCst);
    pipeline.objects.insert(UPLOADS, "never-sent.jpg", photo());
    let created = event("ObjectCreated:Put", "never-sent.jpg", "01");
    let ingest = handle_ingest_message(&pipeline.services, &Delivery::of(""), created).await;
    assert!(ingest.is_err(), "ingest dies before its jobs are sent");
    pipeline.queue.unavailable.store(false, Ordering::SeqCst);
    assert_eq!(pipeline.asset(UPLOADS, "never-sent.jpg").await.status, AssetStatus::Received);

    pipeline.upload("lost.jpg", photo(), "01").await;
    pipeline.upload("killed.jpg", photo(), "01").await;
    pipeline.upload("uncompleted.jpg", photo(), "01").await;
    let messages = pipeline.queued();
    let now = pipeline.services.clock.now();
    for message in messages.iter().filter(|m| m.key == "killed.jpg" && m.job == JobKind::Thumbnail) {
        let lease = now.plus(Duration::from_secs(60));
        let claim =
            repository.claim_job(&message.asset_id, &message.sequencer, message.job, now, lease).await;
        assert!(matches!(claim, Ok(Claim::Claimed(_))), "{claim:?}");
    }
    for message in messages.iter().filter(|m| m.key == "uncompleted.jpg") {
        let lease = now.plus(Duration::from_secs(60));
        let claim =
            repository.claim_job(&message.asset_id, &message.sequencer, message.job, now, lease).await;
        assert!(matches!(claim, Ok(Claim::Claimed(_))), "{claim:?}");
        let state = JobState { status: JobStatus::Failed, attempts: 1, ..JobState::pending() };
        let result = JobResult { state, metadata: None, sha256: None, moderation: None };
        repository
            .finish_job(&message.asset_id, &message.sequencer, message.job, result, now)
            .await
            .expect("finished");
    }
    pipeline.objects.insert(UPLOADS, "unnotified.jpg", photo());

    let early = reconcile(&pipeline.services, &settings).await.expect("reconciled");
    assert!(!early.acted(), "nothing is stuck before stuck_after: {early:?}");
    assert!(pipeline.queue.drain().is_empty());

    pipeline.clock.advance(Duration::from_secs(601));
    let report = reconcile(&pipeline.services, &settings).await.expect("reconciled");
    // never-sent: 2 jobs; lost: 2; killed: thumbnail (lease ended) and metadata (pending).
    assert_eq!(report.jobs_requeued, 6, "{report:?}");
    assert_eq!(
        (report.uploads_completed, report.uploads_ingested, report.jobs_given_up),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!((report.assets_checked, report.objects_checked), (4, 5), "{report:?}");
    assert_eq!(pipeline.asset(UPLOADS, "uncompleted.jpg").await.status, AssetStatus::Failed);
    pipeline.run_queued_jobs().await;
    for key in ["never-sent.jpg", "lost.jpg", "killed.jpg", "unnotified.jpg"] {
        let asset = pipeline.asset(UPLOADS, key).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{key}");
        assert!(asset.jobs.values().all(|job| job.status == JobStatus::Done), "{key}: {:?}", asset.jobs);
    }
    assert_eq!(pipeline.events.events().len(), 5, "one completion event per upload");

    pipeline.clock.advance(Duration::from_secs(601));
    let again = reconcile(&pipeline.services, &settings).await.expect("reconciled");
    assert!(!again.acted(), "a second run changes nothing: {again:?}");
    assert!(pipeline.queue.drain().is_empty());
    assert_eq!(pipeline.events.events().len(), 5);
    assert_eq!(pipeline.metrics.reconciled(), vec![early, report, again], "each run's counts are recorded");
}

/// With moderation on, images get a moderate job whose record lands on the asset. An allowed
/// asset's event is `Asset Ready` and its derivatives are untouched; a flagged asset still
/// completes (`ready`), its event is `Asset Flagged` and each derivative is tagged
/// `moderation=flagged`. A corrupt image fails its moderate job with the decoder's code.
pub async fn moderation_records_a_decision_and_a_flagged_assets_derivatives_are_tagged<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let classifier = Arc::new(FixedClassifier::new(0.3));
    let pipeline = MemoryPipeline::with_repository(assets, |settings| {
        settings.moderation = Some(ModerationSettings { threshold: 0.8, video_frames: 5 });
    })
    .with_classifier(classifier.clone());

    pipeline.upload("allowed.jpg", photo(), "01").await;
    let ran: Vec<JobKind> = pipeline.run_queued_jobs().await.iter().map(|m| m.job).collect();
    assert_eq!(ran, [JobKind::Thumbnail, JobKind::Metadata, JobKind::Moderate]);
    let asset = pipeline.asset(UPLOADS, "allowed.jpg").await;
    assert_eq!(asset.status, AssetStatus::Ready);
    let moderation = asset.moderation.clone().expect("a moderation record");
    assert_eq!(moderation.decision, ModerationDecision::Allowed);
    assert_eq!((moderation.labels.len(), moderation.labels[0].confidence), (1, 0.3));
    assert_eq!((moderation.frames, moderation.threshold), (1, 0.8));
    // The 4:3 photo, handed over upright and fitted in the classifier's 256 px box.
    assert_eq!(classifier.seen.lock().map(|seen| seen.clone()).unwrap_or_default(), [(256, 192)]);
    for derivative in asset.derivatives() {
        assert!(pipeline.objects.tags("derivatives", &derivative.key).is_empty(), "{}", derivative.key);
    }
    let events = pipeline.events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type(), "Asset Ready");
    assert_eq!(events[0].moderation.as_ref().map(|m| m.decision), Some(ModerationDecision::Allowed));

    if let Ok(mut confidence) = classifier.confidence.lock() {
        *confidence = 0.93;
    }
    pipeline.upload("flagged.jpg", photo(), "01").await;
    pipeline.run_queued_jobs().await;
    let asset = pipeline.asset(UPLOADS, "flagged.jpg").await;
    assert_eq!(asset.status, AssetStatus::Ready, "a flagged asset still completes");
    assert_eq!(asset.moderation.as_ref().map(|m| m.decision), Some(ModerationDecision::Flagged));
    assert_eq!(asset.derivatives().count(), 2);
    let (name, value) = FLAGGED_TAG;
    for derivative in asset.derivatives() {
        let tags = pipeline.objects.tags("derivatives", &derivative.key);
        assert_eq!(tags, [(name.to_owned(), value.to_owned())], "{}", derivative.key);
    }
    let events = pipeline.events.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].detail_type(), "Asset Flagged");

    pipeline
        .upload("broken.jpg", data("media-core/tests/data/bad/truncated-photo-camera-600.jpg"), "01")
        .await;
    pipeline.run_queued_jobs().await;
    let broken = pipeline.asset(UPLOADS, "broken.jpg").await;
    assert_eq!(broken.status, AssetStatus::Failed);
    let moderate = &broken.jobs[&JobKind::Moderate];
    assert_eq!(moderate.status, JobStatus::Failed);
    assert_eq!(moderate.error.as_ref().map(|e| e.code), Some(ErrorCode::CORRUPT_INPUT));
    assert_eq!(broken.moderation, None);
}

/// The video port for the split-job scenario: splits every transcode into two segments and the
/// audio, "encodes" a part by writing a marker object under the asset's prefix, fails the part
/// given to [`SplittingVideo::fail_once`] once with a retryable error, and joins by listing the
/// markers. FFmpeg's side of segments and joins is tested in `media-video` and end to end.
#[derive(Default)]
struct SplittingVideo {
    fail_once: std::sync::Mutex<Option<u32>>,
    bad_media_in: Option<u32>,
}

impl SplittingVideo {
    fn marker(message: &JobMessage, index: u32) -> String {
        format!("{}parts/{index}", message.asset_id.derivatives_prefix())
    }
}

#[async_trait::async_trait]
impl crate::VideoJobs for SplittingVideo {
    async fn transcode(
        &self,
        _: &crate::Services,
        _: &JobMessage,
        _: Option<std::time::SystemTime>,
    ) -> Result<crate::job_support::JobOutput, crate::JobError> {
        Ok(crate::job_support::JobOutput::Split {
            parts: vec![
                JobPart::Segment { index: 0, start_seconds: 0.0, end_seconds: 10.0 },
                JobPart::Segment { index: 1, start_seconds: 10.0, end_seconds: 18.5 },
                JobPart::Audio { index: 2 },
            ],
        })
    }

    async fn transcode_part(
        &self,
        services: &crate::Services,
        message: &JobMessage,
        part: &JobPart,
        _: Option<std::time::SystemTime>,
    ) -> Result<crate::job_support::JobOutput, crate::JobError> {
        let index = part.index().expect("a segment or the audio");
        if self.bad_media_in == Some(index) {
            return Err(crate::JobError::Permanent(crate::Failure::new(
                ErrorCode::CORRUPT_INPUT,
                "a broken frame",
            )));
        }
        if self.fail_once.lock().expect("lock").take_if(|failing| *failing == index).is_some() {
            return Err(crate::JobError::Retryable(crate::Failure::new(
                ErrorCode::IO_ERROR,
                "the disk hiccuped",
            )));
        }
        let bucket = &services.settings.derivatives_bucket;
        services.objects.put(bucket, &Self::marker(message, index), vec![1; 10], "video/iso.segment").await?;
        Ok(done(Vec::new()))
    }

    async fn join(
        &self,
        services: &crate::Services,
        message: &JobMessage,
        _: Option<std::time::SystemTime>,
    ) -> Result<crate::job_support::JobOutput, crate::JobError> {
        let bucket = &services.settings.derivatives_bucket;
        for index in 0..3 {
            services.objects.get(bucket, &Self::marker(message, index)).await?;
        }
        let playlist = crate::model::Derivative {
            key: format!("{}hls/master.m3u8", message.asset_id.derivatives_prefix()),
            role: DerivativeRole::HlsPlaylist,
            format: "m3u8".into(),
            width: None,
            height: None,
            bytes: 100,
            duration_seconds: Some(18.5),
        };
        Ok(done(vec![playlist]))
    }

    async fn metadata(
        &self,
        _: &crate::Services,
        _: &JobMessage,
    ) -> Result<crate::job_support::JobOutput, crate::JobError> {
        Ok(done(Vec::new()))
    }

    async fn stills(
        &self,
        _: &crate::Services,
        _: &JobMessage,
        _: usize,
        _: u32,
    ) -> Result<Vec<image::RgbImage>, crate::JobError> {
        Ok(Vec::new())
    }
}

fn done(derivatives: Vec<crate::model::Derivative>) -> crate::job_support::JobOutput {
    crate::job_support::JobOutput::Done { derivatives, metadata: None, sha256: None, moderation: None }
}

/// A long video's transcode split into parts: the plan records `segments: {total, done}` and sends
/// one message per part; a part that fails once is retried; duplicate parts and joins change
/// nothing; exactly one join runs, the upload completes once, and its cost counts every part.
pub async fn a_split_transcode_joins_once_however_its_parts_are_delivered<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let video = Arc::new(SplittingVideo::default());
    *video.fail_once.lock().expect("lock") = Some(1);
    let pipeline = MemoryPipeline::with_repository(assets, |_| {}).with_video(video);
    pipeline.upload("long.mp4", data("media-video/tests/data/bigbuckbunny.mp4"), "01").await;
    for message in pipeline.queued() {
        pipeline.job(&message).await.expect("the job runs");
    }
    let parts = pipeline.queued();
    let labels: Vec<String> = parts.iter().filter_map(|m| m.part.as_ref()).map(JobPart::label).collect();
    assert_eq!(labels, ["segment 0", "segment 1", "audio"], "one message per part");
    let state = pipeline.asset(UPLOADS, "long.mp4").await.jobs[&JobKind::Transcode].clone();
    assert_eq!(state.status, JobStatus::Running, "a split job runs until its join");
    let segments = state.segments.expect("the parts are counted");
    assert_eq!((segments.total, segments.done), (3, 0));
    assert_eq!(state.history.last().and_then(|attempt| attempt.part.as_deref()), Some("plan"));

    pipeline.job(&parts[0]).await.expect("segment 0");
    let failed = pipeline.job(&parts[1]).await;
    assert!(matches!(&failed, Err(error) if error.is_retryable()), "{failed:?}");
    pipeline.job(&parts[1]).await.expect("segment 1, retried");
    pipeline.job(&parts[0]).await.expect("a duplicate of segment 0 is acknowledged");
    let segments = pipeline.asset(UPLOADS, "long.mp4").await.jobs[&JobKind::Transcode].segments.clone();
    assert_eq!(segments.map(|s| (s.total, s.done)), Some((3, 2)), "the duplicate is not counted");
    assert!(pipeline.queued().is_empty(), "no join before the last part");

    pipeline.job(&parts[2]).await.expect("the audio");
    let joins = pipeline.queued();
    assert_eq!(joins.len(), 1, "the last part sends the join");
    assert_eq!(joins[0].part, Some(JobPart::Join));
    pipeline.job(&parts[2]).await.expect("a duplicate of the last part");
    let resent = pipeline.queued();
    assert_eq!(resent.len(), 1, "a redelivered last part sends the join again (its sender may have died)");
    pipeline.job(&joins[0]).await.expect("the join");
    pipeline.job(&resent[0]).await.expect("a second join is acknowledged");
    pipeline.job(&parts[1]).await.expect("a part after the join is acknowledged");

    let asset = pipeline.asset(UPLOADS, "long.mp4").await;
    assert_eq!(asset.status, AssetStatus::Ready);
    let state = &asset.jobs[&JobKind::Transcode];
    assert_eq!(state.status, JobStatus::Done);
    assert_eq!(state.segments.as_ref().map(|s| (s.total, s.done)), Some((3, 3)));
    assert_eq!(state.derivatives.len(), 1, "the join's derivatives");
    let attempts: Vec<(Option<&str>, Outcome)> =
        state.history.iter().map(|attempt| (attempt.part.as_deref(), attempt.outcome)).collect();
    assert_eq!(
        attempts,
        [
            (Some("plan"), Outcome::Split),
            (Some("segment 0"), Outcome::Ok),
            (Some("segment 1"), Outcome::Failed(ErrorCode::IO_ERROR)),
            (Some("segment 1"), Outcome::Ok),
            (Some("audio"), Outcome::Ok),
            (Some("join"), Outcome::Ok),
        ]
    );
    assert_eq!(pipeline.events.events().len(), 1, "one completion event");
    assert_eq!(asset.cost, Some(Cost::sum(asset.attempts())), "every part is in the cost");
}

/// A segment that finds bad media fails the whole transcode with its code, at once: the upload
/// completes (`partial`: its metadata succeeded) with one event, and the parts still queued do no
/// work and send no join.
pub async fn a_part_that_finds_bad_media_fails_the_split_job_with_its_code<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let video = Arc::new(SplittingVideo { bad_media_in: Some(1), ..SplittingVideo::default() });
    let pipeline = MemoryPipeline::with_repository(assets, |_| {}).with_video(video);
    pipeline.upload("broken.mp4", data("media-video/tests/data/bigbuckbunny.mp4"), "01").await;
    for message in pipeline.queued() {
        pipeline.job(&message).await.expect("the job runs");
    }
    let parts = pipeline.queued();
    for part in &parts {
        pipeline.job(part).await.expect("a permanent failure is recorded and acknowledged");
    }
    assert!(pipeline.queued().is_empty(), "no join");
    let asset = pipeline.asset(UPLOADS, "broken.mp4").await;
    let state = &asset.jobs[&JobKind::Transcode];
    assert_eq!(state.status, JobStatus::Failed);
    assert_eq!(state.error.as_ref().map(|failure| failure.code), Some(ErrorCode::CORRUPT_INPUT));
    assert_eq!(asset.status, AssetStatus::Partial, "the metadata job succeeded");
    let marker = SplittingVideo::marker(&parts[2], 2);
    let written = crate::ports::ObjectStore::get(&*pipeline.objects, "derivatives", &marker).await;
    assert!(written.is_err(), "the audio part did no work");
    let outcomes: Vec<Outcome> = state.history.iter().map(|attempt| attempt.outcome).collect();
    assert_eq!(outcomes, [Outcome::Split, Outcome::Ok, Outcome::Failed(ErrorCode::CORRUPT_INPUT)]);
    assert_eq!(pipeline.events.events().len(), 1, "one completion event");
}

/// A process that dies after claiming the completion and before its event was published leaves
/// the upload `ready` without an event: the next delivery of its message publishes it, once the
/// publisher has had its grace period, and a later one publishes nothing more.
pub async fn an_event_whose_publisher_died_is_published_by_the_next_delivery<R>(assets: Arc<R>)
where
    R: AssetRepository + 'static,
{
    let pipeline = MemoryPipeline::with_repository(assets, |_| {});
    pipeline.upload("a.jpg", photo(), "01").await;
    let messages = pipeline.queued();
    let (last, others) = messages.split_last().expect("jobs");
    for message in others {
        pipeline.job(message).await.expect("handled");
    }
    pipeline.events.hangs.store(true, Ordering::SeqCst);
    let died = tokio::time::timeout(Duration::from_millis(200), pipeline.job(last)).await;
    assert!(died.is_err(), "the process died while publishing");
    pipeline.events.hangs.store(false, Ordering::SeqCst);
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(asset.status, AssetStatus::Ready, "the completion was claimed");
    assert_eq!(asset.published_sequencer, None);
    assert!(pipeline.events.events().is_empty());

    pipeline.job(last).await.expect("an early redelivery");
    assert!(pipeline.events.events().is_empty(), "within the grace period the publisher may be alive");
    pipeline.clock.advance(Duration::from_secs(11));
    pipeline.job(last).await.expect("the redelivery after the grace period");
    pipeline.job(last).await.expect("another duplicate");
    assert_eq!(pipeline.events.events().len(), 1, "the event, once");
    let asset = pipeline.asset(UPLOADS, "a.jpg").await;
    assert_eq!(asset.published_sequencer, Some(asset.source.sequencer.clone()));
}

//! The video jobs through the pipeline's use-cases over the in-memory ports, with a real clip:
//! ingest → transcode and metadata → derivatives and probe, and the hand-over to worker mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pipeline::batch::Delivery;
use pipeline::ports::JobQueueName;
use pipeline::testing::{MemoryPipeline, object_event};
use pipeline::{AssetStatus, DerivativeRole, JobKind, JobStatus, handle_ingest_message, handle_job_message};
use pipeline_video::{FfmpegVideoJobs, VideoSettings};

const UPLOADS: &str = "uploads";

fn clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../media-video/tests/data/bigbuckbunny.mp4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_gets_a_poster_renditions_hls_and_its_probe() {
    let work = tempfile::tempdir().expect("tempdir");
    let video = VideoSettings {
        ladder: vec![media_video::Rung::for_height(240)],
        preset: media_video::X264Preset::Ultrafast,
        ..VideoSettings::default()
    };
    let pipeline = MemoryPipeline::new(|settings| settings.work_dir = work.path().to_owned())
        .with_video(Arc::new(FfmpegVideoJobs::new(video)));
    pipeline.objects.insert(UPLOADS, "clips/bunny.mp4", std::fs::read(clip()).expect("clip"));
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        object_event("ObjectCreated:Put", UPLOADS, "clips/bunny.mp4", "01"),
    )
    .await
    .expect("in");
    let ran = pipeline.run_queued_jobs().await;
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
    let decoded = image::load_from_memory(&bytes).expect("the poster decodes");
    assert_eq!(Some((decoded.width(), decoded.height())), poster.width.zip(poster.height));
    let metadata = asset.metadata.as_ref().expect("probe");
    assert_eq!(metadata["video"][0]["codec"], "h264");
    assert!(work.path().read_dir().expect("work dir").next().is_none(), "temporary files removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcode_that_cannot_finish_before_the_deadline_goes_to_worker_mode() {
    let work = tempfile::tempdir().expect("tempdir");
    let video = VideoSettings { transcode_pixels_per_second: 1_000.0, ..VideoSettings::default() }; // hopelessly slow
    let pipeline = MemoryPipeline::new(|settings| {
        settings.work_dir = work.path().to_owned();
        settings.deadline_margin = Duration::from_secs(1);
    })
    .with_video(Arc::new(FfmpegVideoJobs::new(video)));
    pipeline.objects.insert(UPLOADS, "long.mp4", std::fs::read(clip()).expect("clip"));
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        object_event("ObjectCreated:Put", UPLOADS, "long.mp4", "01"),
    )
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
    handle_job_message(&pipeline.services, JobKind::Transcode, &Delivery::of(body), Some(deadline))
        .await
        .expect("deferred");

    let sent = pipeline.queue.drain();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, JobQueueName::TranscodeLong);
    let state = pipeline.assets.all().pop().expect("asset").jobs[&JobKind::Transcode].clone();
    assert_eq!(state.status, JobStatus::Pending);
    assert!(state.sent_to_worker, "the asset says where the job went");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_is_moderated_on_stills_spread_over_the_clip_and_keeps_the_worst() {
    let work = tempfile::tempdir().expect("tempdir");
    let classifier = Arc::new(pipeline::testing::FixedClassifier::new(0.4));
    let pipeline = MemoryPipeline::new(|settings| {
        settings.work_dir = work.path().to_owned();
        settings.moderation =
            Some(pipeline::moderation::ModerationSettings { threshold: 0.8, video_frames: 6 });
    })
    .with_video(Arc::new(FfmpegVideoJobs::new(VideoSettings::default())))
    .with_classifier(classifier.clone());
    pipeline.objects.insert(UPLOADS, "bunny.mp4", std::fs::read(clip()).expect("clip"));
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        object_event("ObjectCreated:Put", UPLOADS, "bunny.mp4", "01"),
    )
    .await
    .expect("ingest");
    let queued: Vec<JobKind> = pipeline.queue.drain().into_iter().map(|(_, m)| m.job).collect();
    assert_eq!(queued, [JobKind::Transcode, JobKind::Metadata, JobKind::Moderate]);
    let message = pipeline::messages::JobMessage::for_job(&pipeline.assets.all()[0], JobKind::Moderate);
    let body = serde_json::to_string(&message).expect("serialises");
    handle_job_message(&pipeline.services, JobKind::Moderate, &Delivery::of(body), None)
        .await
        .expect("moderated");

    let asset = pipeline.assets.all().pop().expect("asset");
    let state = &asset.jobs[&JobKind::Moderate];
    assert_eq!(state.status, JobStatus::Done, "{state:?}");
    let moderation = asset.moderation.expect("moderation recorded");
    assert_eq!(moderation.frames, 6);
    // 1280x720 stills fitted in the classifier's 256 px box.
    let seen = classifier.seen.lock().map(|seen| seen.clone()).unwrap_or_default();
    assert_eq!(seen, vec![(256, 144); 6]);
    assert!(work.path().read_dir().expect("work dir").next().is_none(), "temporary files removed");
}

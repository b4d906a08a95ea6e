//! Audio uploads through the pipeline's use-cases over the in-memory ports, with the real files of
//! media-core's `inputs/audio/`: ingest sniffs them as audio, the transcode job makes their AAC
//! `audio.m4a` and the metadata job records their probe; a broken one is recorded, not retried.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use media_core::MediaKind;
use pipeline::batch::Delivery;
use pipeline::testing::{MemoryPipeline, object_event};
use pipeline::{AssetStatus, DerivativeRole, ErrorCode, JobKind, JobStatus, handle_ingest_message};
use pipeline_video::{FfmpegVideoJobs, VideoSettings};

const UPLOADS: &str = "uploads";

fn audio_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../media-core/tests/data/inputs/audio").join(name)
}

/// A pipeline with the FFmpeg jobs, temporary files in `work`.
fn pipeline(work: &Path) -> MemoryPipeline {
    MemoryPipeline::new(|settings| settings.work_dir = work.to_owned())
        .with_video(Arc::new(FfmpegVideoJobs::new(VideoSettings::default())))
}

/// Uploads `bytes` as `key`, runs ingest and every job it enqueues; returns the jobs that ran.
async fn upload_and_process(pipeline: &MemoryPipeline, key: &str, bytes: Vec<u8>) -> Vec<JobKind> {
    pipeline.objects.insert(UPLOADS, key, bytes);
    handle_ingest_message(
        &pipeline.services,
        &Delivery::of(""),
        object_event("ObjectCreated:Put", UPLOADS, key, "01"),
    )
    .await
    .expect("ingest");
    pipeline.run_queued_jobs().await.into_iter().map(|message| message.job).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mp3_ends_ready_with_its_aac_rendition_and_its_probe() {
    let work = tempfile::tempdir().expect("tempdir");
    let pipeline = pipeline(work.path());
    let mp3 = std::fs::read(audio_file("mp3-id3.mp3")).expect("mp3");
    let ran = upload_and_process(&pipeline, "music/tone.mp3", mp3.clone()).await;
    assert_eq!(ran, [JobKind::Transcode, JobKind::Metadata]);

    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!((asset.kind, asset.status), (MediaKind::Audio, AssetStatus::Ready), "{:?}", asset.jobs);
    assert_eq!(asset.source.content_type.as_deref(), Some("audio/mpeg"));
    let id = &asset.id;

    // One derivative: the AAC rendition. No poster, no video rendition, no HLS.
    let derivatives: Vec<_> = asset.derivatives().collect();
    assert_eq!(derivatives.len(), 1, "{derivatives:?}");
    let audio = derivatives[0];
    assert_eq!(
        (audio.role, audio.key.as_str(), audio.format.as_str()),
        (DerivativeRole::Audio, format!("{id}/audio.m4a").as_str(), "m4a")
    );
    assert_eq!((audio.width, audio.height), (None, None));
    assert!(audio.duration_seconds.is_some_and(|seconds| (seconds - 1.5).abs() < 0.1), "{audio:?}");
    assert_eq!(pipeline.objects.keys("derivatives"), std::slice::from_ref(&audio.key));
    let (bytes, content_type) = pipeline.objects.object("derivatives", &audio.key).expect("stored");
    assert_eq!((content_type.as_str(), bytes.len() as u64), ("audio/mp4", audio.bytes));
    // What was stored is an M4A of AAC as long as the tone, read back by media-video's own probe.
    let stored = work.path().join("stored.m4a");
    std::fs::write(&stored, &bytes).expect("write");
    let probe = media_video::probe(&stored, &media_video::VideoLimits::default()).expect("the m4a probes");
    assert_eq!((probe.container, probe.audio[0].codec.as_str()), (media_video::Container::M4a, "aac"));
    assert!(probe.video.is_empty());
    assert!(probe.duration_seconds.is_some_and(|seconds| (seconds - 1.5).abs() < 0.1), "{probe:?}");
    std::fs::remove_file(&stored).expect("remove");

    // The metadata is the MP3's probe, with its ID3 tags, and the checksum of the upload.
    let metadata = asset.metadata.as_ref().expect("probe");
    assert_eq!(metadata["container"], "mp3");
    assert_eq!(
        (metadata["audio"][0]["codec"].as_str(), metadata["audio"][0]["sample_rate"].as_u64()),
        (Some("mp3"), Some(44_100))
    );
    let duration = metadata["duration_seconds"].as_f64().expect("duration");
    assert!((duration - 1.5).abs() < 0.1, "{duration}");
    assert_eq!(
        (metadata["title"].as_str(), metadata["artist"].as_str()),
        (Some("A 440 Hz tone"), Some("mediaflow"))
    );
    assert_eq!(asset.sha256.as_deref(), Some(media_core::sha256_hex(&mp3).as_str()));

    // One completion event, for an audio asset, listing the rendition.
    let events = pipeline.events.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].kind, events[0].status), (MediaKind::Audio, AssetStatus::Ready));
    assert_eq!(events[0].derivatives.len(), 1);
    assert!(work.path().read_dir().expect("work dir").next().is_none(), "temporary files removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audio_format_is_accepted_and_ends_ready() {
    let work = tempfile::tempdir().expect("tempdir");
    let pipeline = pipeline(work.path());
    let cases = [
        ("mp3-frames.mp3", "audio/mpeg", "mp3"),
        ("wav-pcm.wav", "audio/wav", "pcm_s16le"),
        ("flac-stereo.flac", "audio/flac", "flac"),
        ("ogg-vorbis.ogg", "audio/ogg", "vorbis"),
        ("ogg-opus.opus", "audio/ogg", "opus"),
        ("m4a-aac.m4a", "audio/mp4", "aac"),
        ("aac-adts.aac", "audio/aac", "aac"),
    ];
    for (name, content_type, codec) in cases {
        let key = format!("music/{name}");
        let ran = upload_and_process(&pipeline, &key, std::fs::read(audio_file(name)).expect("file")).await;
        assert_eq!(ran, [JobKind::Transcode, JobKind::Metadata], "{name}");
        let asset = pipeline.asset(UPLOADS, &key).await;
        assert_eq!(
            (asset.kind, asset.status),
            (MediaKind::Audio, AssetStatus::Ready),
            "{name}: {:?}",
            asset.jobs
        );
        assert_eq!(asset.source.content_type.as_deref(), Some(content_type), "{name}");
        let roles: Vec<_> = asset.derivatives().map(|derivative| derivative.role).collect();
        assert_eq!(roles, [DerivativeRole::Audio], "{name}");
        let metadata = asset.metadata.as_ref().expect("probe");
        assert_eq!(metadata["audio"][0]["codec"], codec, "{name}");
        assert!(
            metadata["duration_seconds"].as_f64().is_some_and(|seconds| (seconds - 1.5).abs() < 0.1),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_flac_fails_with_a_code_and_is_not_retried() {
    let work = tempfile::tempdir().expect("tempdir");
    let pipeline = pipeline(work.path());
    let flac = std::fs::read(audio_file("flac-stereo.flac")).expect("flac");
    // Sniffed as FLAC from its magic, cut inside its STREAMINFO header (FFmpeg's demuxer reports
    // the short read as an I/O error): `run_queued_jobs` would panic on a job asking for a retry.
    let ran = upload_and_process(&pipeline, "music/cut.flac", flac[..30].to_vec()).await;
    assert_eq!(ran, [JobKind::Transcode, JobKind::Metadata]);
    let asset = pipeline.assets.all().pop().expect("asset");
    assert_eq!((asset.kind, asset.status), (MediaKind::Audio, AssetStatus::Failed));
    for job in [JobKind::Transcode, JobKind::Metadata] {
        let state = &asset.jobs[&job];
        assert_eq!(state.status, JobStatus::Failed, "{job}");
        assert_eq!(
            state.error.as_ref().map(|error| error.code),
            Some(ErrorCode::TRUNCATED_INPUT),
            "{job}: {state:?}"
        );
    }
    assert!(pipeline.objects.keys("derivatives").is_empty());
}

//! The reconciler on the deployed stack: an asset left stuck by a killed process (its job running
//! under an ended lease, its message gone) and an object put while S3 sent no notification both
//! reach `ready` after one run of the packaged `reconcile` function, and a second run changes
//! nothing. Runs on its own (`scripts/e2e.sh`): it switches the uploads bucket's notifications off
//! for a moment, and reconciles the whole table.

use std::time::Duration;

use aws_sdk_s3::types::NotificationConfiguration;
use e2e::{Stack, data};
use pipeline::model::SourceObject;
use pipeline::ports::UploadRecords;
use pipeline::time::Timestamp;
use pipeline::{Asset, AssetId, AssetStatus, JobKind, JobState, JobStatus, Sequencer};

/// Invokes the reconcile function once and returns its report.
async fn reconcile(lambda: &aws_sdk_lambda::Client, function: &str) -> serde_json::Value {
    let scheduled = r#"{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}"#;
    let output = lambda
        .invoke()
        .function_name(function)
        .payload(aws_sdk_lambda::primitives::Blob::new(scheduled))
        .send()
        .await
        .expect("reconcile invoked");
    let payload = output.payload.map(|blob| blob.into_inner()).unwrap_or_default();
    assert_eq!(output.function_error, None, "{}", String::from_utf8_lossy(&payload));
    serde_json::from_slice(&payload).expect("the report is JSON")
}

/// Runs `put` while the uploads bucket sends no notifications, as when S3 folds concurrent writes
/// of a key into one notification or one is otherwise lost.
async fn without_notifications(stack: &Stack, put: impl AsyncFnOnce()) {
    let bucket = stack.uploads();
    let saved = stack.s3.get_bucket_notification_configuration().bucket(bucket).send().await.expect("config");
    assert!(!saved.queue_configurations().is_empty(), "the uploads bucket notifies the ingest queue");
    let restore = NotificationConfiguration::builder()
        .set_queue_configurations(saved.queue_configurations.clone())
        .build();
    let off = NotificationConfiguration::builder().build();
    stack
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(off)
        .send()
        .await
        .expect("off");
    put().await;
    stack
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(restore)
        .send()
        .await
        .expect("notifications restored");
}

#[tokio::test]
async fn one_reconcile_run_recovers_a_stuck_asset_and_an_unnotified_upload_and_a_second_changes_nothing() {
    let stack = Stack::connect().await;
    let sdk = aws_adapters::sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function = stack.output("ReconcileFunctionName").to_owned();
    let stuck_after = pipeline::config::parse_duration(
        "ReconcileStuckAfter",
        stack.parameters.get("ReconcileStuckAfter").expect("ReconcileStuckAfter parameter"),
    )
    .expect("a duration");

    // The schedule that runs it on AWS (disabled on the local stack, where this test invokes it).
    let arn = lambda.get_function().function_name(&function).send().await.expect("function");
    let arn = arn.configuration().and_then(|c| c.function_arn()).expect("function ARN").to_owned();
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rules = events.list_rule_names_by_target().target_arn(&arn).send().await.expect("rules");
    let rule = rules.rule_names().first().expect("a schedule rule targets the reconciler");
    let rule = events.describe_rule().name(rule).send().await.expect("rule");
    assert_eq!(rule.schedule_expression(), stack.parameters.get("ReconcileSchedule").map(String::as_str));

    let photo = data("media-core/tests/data/inputs/photo-camera.jpg");
    let stuck_key = stack.key("reconcile/stuck.jpg");
    let unnotified_key = stack.key("reconcile/unnotified.jpg");
    let stuck_id = AssetId::for_object(stack.uploads(), &stuck_key);
    let unnotified_id = AssetId::for_object(stack.uploads(), &unnotified_key);
    without_notifications(&stack, async || {
        stack.put(stack.uploads(), &stuck_key, photo.clone()).await;
        stack.put(stack.uploads(), &unnotified_key, photo.clone()).await;
    })
    .await;

    // What a process killed mid-thumbnail leaves once its message ran out of receives: the job
    // running under a lease that ended, the metadata job done, nothing left in any queue.
    let hour_ago = Timestamp::now().minus(Duration::from_secs(3600));
    let running = JobState {
        status: JobStatus::Running,
        attempts: 3,
        started_at: Some(hour_ago),
        lease_until: Some(hour_ago.plus(Duration::from_secs(15))),
        ..JobState::pending()
    };
    let stuck = Asset {
        id: stuck_id.clone(),
        source: SourceObject {
            bucket: stack.uploads().to_owned(),
            key: stuck_key.clone(),
            version_id: None,
            etag: None,
            size: photo.len() as u64,
            content_type: Some("image/jpeg".into()),
            sequencer: Sequencer::from_event(Some("0A"), Some(hour_ago)),
            received_at: hour_ago,
        },
        kind: media_core::MediaKind::Image,
        status: AssetStatus::Processing,
        error: None,
        jobs: [(JobKind::Thumbnail, running), (JobKind::Metadata, JobState::pending())].into(),
        metadata: None,
        sha256: None,
        moderation: None,
        ingest: None,
        cost: None,
        completed_sequencer: None,
        published_sequencer: None,
        completed_at: None,
        created_at: hour_ago,
        updated_at: hour_ago,
    };
    stack.assets.record_upload(&stuck).await.expect("stuck asset recorded");

    // Until the new object is older than `stuck_after`, it is left to its (missing) notification.
    tokio::time::sleep(stuck_after + Duration::from_secs(1)).await;
    assert!(stack.asset(&unnotified_id).await.is_none(), "no notification, no asset");
    let first = reconcile(&lambda, &function).await;
    assert!(first["jobs_requeued"].as_u64() >= Some(2), "{first:#}");
    assert!(first["uploads_ingested"].as_u64() >= Some(1), "{first:#}");

    for id in [&stuck_id, &unnotified_id] {
        let asset = stack.wait_final(id, Duration::from_secs(60)).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{asset:#?}");
        assert!(asset.jobs.values().all(|job| job.status == JobStatus::Done), "{:#?}", asset.jobs);
        assert_eq!(stack.wait_events(id, 1, Duration::from_secs(30)).await.len(), 1, "one event for {id}");
    }
    let thumbnail = &stack.asset(&stuck_id).await.expect("asset").jobs[&JobKind::Thumbnail];
    assert_eq!(thumbnail.attempts, 4, "the stuck job was taken over once");

    let second = reconcile(&lambda, &function).await;
    for count in ["jobs_requeued", "uploads_completed", "uploads_ingested"] {
        assert_eq!(second[count], 0, "a second run changes nothing: {second:#}");
    }
    assert!(second["objects_checked"].as_u64() >= Some(2), "{second:#}");
    let ids = [&stuck_id, &unnotified_id];
    let events = stack.events_once_quiet(&ids, Duration::from_secs(2), Duration::from_secs(60)).await;
    for (id, events) in ids.iter().zip(&events) {
        assert_eq!(events.len(), 1, "still one event for {id}");
    }
}

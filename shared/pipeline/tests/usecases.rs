//! The use-case scenarios (`pipeline::testing::scenarios`) over the in-memory assets table, and
//! what is not about the table: messages that are not jobs, and test events.

use std::sync::Arc;

use pipeline::batch::Delivery;
use pipeline::s3_event::IngestMessage;
use pipeline::testing::{MemoryAssetRepository, MemoryPipeline};
use pipeline::{JobKind, handle_ingest_message, handle_job_message};

pipeline::scenario_tests!(async { Arc::new(MemoryAssetRepository::default()) });

#[tokio::test]
async fn test_events_and_garbage_are_acknowledged() {
    let pipeline = MemoryPipeline::new(|_| {});
    handle_ingest_message(&pipeline.services, &Delivery::of(""), IngestMessage::TestEvent)
        .await
        .expect("acknowledged");
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"uploads"}"#;
    for body in [test_event, "not json", "{}"] {
        handle_job_message(&pipeline.services, JobKind::Thumbnail, &Delivery::of(body), None)
            .await
            .expect("acknowledged");
    }
    assert!(pipeline.assets.all().is_empty());
    assert!(pipeline.queue.drain().is_empty());
}

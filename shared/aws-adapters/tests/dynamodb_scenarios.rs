//! The use-case scenarios (`pipeline::testing::scenarios`) on `DynamoAssetRepository` against
//! DynamoDB Local over HTTP with the real SDK: the at-least-once promises live in the table's
//! condition expressions, so they are proven on them, not only on the in-memory copy.
//!
//! Needs `DYNAMODB_ENDPOINT`: `make unit` starts DynamoDB Local for the run
//! (`scripts/with-dynamodb-local.sh`). Each test gets its own table, laid out as
//! `infra/template.yaml`'s `AssetsTable`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_adapters::{DynamoAssetRepository, SHA256_INDEX, STATUS_INDEX};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

pipeline::scenario_tests!(fresh_table());

/// A new, empty assets table on DynamoDB Local.
async fn fresh_table() -> Arc<DynamoAssetRepository> {
    static TABLES: AtomicUsize = AtomicUsize::new(0);
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_ENDPOINT is not set: these tests need DynamoDB Local. Run `make unit`, or \
             `scripts/with-dynamodb-local.sh cargo test -p aws-adapters` (after `make setup`)."
        )
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "dynamodb-local"))
        .build();
    let client = Client::from_conf(config);
    let table = format!("assets-{}-{}", std::process::id(), TABLES.fetch_add(1, Ordering::SeqCst));
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let attribute = |name: &str| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
    };
    let index = |name: &str, hash: &str, range: &str, projection| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash).expect("key"))
            .key_schema(key(range, KeyType::Range).expect("key"))
            .projection(Projection::builder().projection_type(projection).build())
            .build()
            .expect("index")
    };
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("id", KeyType::Hash).expect("key"))
        .set_attribute_definitions(Some(
            ["id", "status", "updated_at", "sha256"].map(|name| attribute(name).expect("attribute")).to_vec(),
        ))
        .global_secondary_indexes(index(STATUS_INDEX, "status", "updated_at", ProjectionType::All))
        .global_secondary_indexes(index(SHA256_INDEX, "sha256", "id", ProjectionType::KeysOnly))
        .send()
        .await
        .unwrap_or_else(|error| panic!("creating {table} on DynamoDB Local: {error:?}"));
    Arc::new(DynamoAssetRepository::new(client, table))
}

/// Each request the repository makes counts in the running attempt's ledger with the units
/// DynamoDB reported, and a write whose condition failed counts as one unit: the facts an
/// upload's cost is computed from.
#[tokio::test]
async fn requests_count_in_the_attempts_ledger_with_the_units_dynamodb_reports() {
    use pipeline::ports::{AssetQueries as _, JobLeases as _};
    use pipeline::testing::MemoryPipeline;
    use pipeline::usage::Ledger;

    let repository = fresh_table().await;
    let pipeline = MemoryPipeline::with_repository(repository.clone(), |_| {});
    pipeline.objects.insert(
        "uploads",
        "a.jpg",
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../media-core/tests/data/inputs/jpeg-gray.jpg"))
            .expect("photo"),
    );
    let ledger = Ledger::default();
    let event = pipeline::testing::object_event("ObjectCreated:Put", "uploads", "a.jpg", "01");
    ledger
        .scope(pipeline::handle_ingest_message(&pipeline.services, &pipeline::batch::Delivery::of(""), event))
        .await
        .expect("ingested");
    let id = pipeline::AssetId::for_object("uploads", "a.jpg");
    let asset = repository.get(&id).await.expect("read").expect("recorded");
    let recorded = asset.ingest.expect("the ingest attempt").requests;
    // The record (the write that moves it to `processing` carries the attempt, so is not in it):
    // an item over 1 KB, so more than one unit.
    assert_eq!(recorded.dynamodb_writes, 1, "{recorded:?}");
    assert!(recorded.dynamodb_write_units >= 2.0, "{recorded:?}");

    // Outside an attempt nothing is counted; inside, a read and a refused write are.
    let counted = ledger.requests();
    let again = Ledger::default();
    let sequencer = pipeline::Sequencer::parse("00");
    let now = pipeline::time::Timestamp::now();
    let claim = repository.claim_job(&id, &sequencer, pipeline::JobKind::Thumbnail, now, now);
    assert_eq!(again.scope(claim).await.expect("answered"), pipeline::ports::Claim::Stale);
    let refused = again.requests();
    assert_eq!((refused.dynamodb_writes, refused.dynamodb_write_units), (1, 1.0), "{refused:?}");
    assert_eq!(refused.dynamodb_reads, 1, "the read that told stale from busy: {refused:?}");
    assert!(refused.dynamodb_read_units > 0.0, "{refused:?}");
    assert_eq!(ledger.requests(), counted, "the first ledger saw none of that");
}

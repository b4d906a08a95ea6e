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

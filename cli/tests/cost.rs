//! `mediaflow cost` end to end: asset records with known attempts and costs are written to an
//! assets table on DynamoDB Local, the real binary reads them through the status index, and its
//! JSON is compared with the numbers worked out by hand below.
//!
//! Needs `DYNAMODB_ENDPOINT`: run `scripts/with-dynamodb-local.sh cargo test -p mediaflow-cli`
//! (after `make setup`), or `make unit`.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use aws_adapters::{SHA256_INDEX, STATUS_INDEX};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use media_core::MediaKind;
use pipeline::ErrorCode;
use pipeline::cost::Cost;
use pipeline::model::SourceObject;
use pipeline::time::Timestamp;
use pipeline::usage::{Attempt, LambdaBilling, Outcome};
use pipeline::{Asset, AssetId, AssetStatus, JobKind, JobState, JobStatus, Sequencer};
use serde_json::Value;

/// A millionth of a dollar: the fixture's costs are whole numbers of them.
const MICRO: f64 = 1e-6;

fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_ENDPOINT is not set: this test needs DynamoDB Local. Run \
             `scripts/with-dynamodb-local.sh cargo test -p mediaflow-cli` (after `make setup`), or `make unit`."
        )
    })
}

/// A new, empty table laid out as `infra/template.yaml`'s `AssetsTable`.
async fn fresh_table(name: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "dynamodb-local"))
        .build();
    let client = Client::from_conf(config);
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
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("id", KeyType::Hash).expect("key"))
        .set_attribute_definitions(Some(
            ["id", "status", "updated_at", "sha256"].map(|name| attribute(name).expect("attribute")).to_vec(),
        ))
        .global_secondary_indexes(index(STATUS_INDEX, "status", "updated_at", ProjectionType::All))
        .global_secondary_indexes(index(SHA256_INDEX, "sha256", "id", ProjectionType::KeysOnly))
        .send()
        .await
        .unwrap_or_else(|error| panic!("creating {name} on DynamoDB Local: {error:?}"));
    client
}

/// An attempt of `duration_ms` that cost `[lambda, s3, dynamodb]` micro-dollars; one that cost
/// no Lambda ran in worker mode.
fn attempt(outcome: Outcome, duration_ms: u64, [lambda, s3, dynamodb]: [f64; 3]) -> Attempt {
    Attempt {
        ended_at: Timestamp::from_millis(duration_ms),
        duration_ms,
        lambda: (lambda > 0.0).then(|| LambdaBilling {
            memory_mb: 1769,
            architecture: "arm64".into(),
            billed_ms: duration_ms,
        }),
        cost: Cost::of(lambda * MICRO, s3 * MICRO, dynamodb * MICRO),
        ..Attempt::unmeasured(outcome, Timestamp::from_millis(0))
    }
}

fn waited(mut attempt: Attempt, queue_wait_ms: u64) -> Attempt {
    attempt.queue_wait_ms = Some(queue_wait_ms);
    attempt
}

/// A completed upload received at `received_at`, completed `completed_after` ms later (or never
/// recorded as completed), its cost the sum of its attempts as the completion records it.
fn upload(
    key: &str,
    kind: MediaKind,
    status: AssetStatus,
    received_at: Timestamp,
    completed_after: Option<u64>,
    ingest: Attempt,
    jobs: Vec<(JobKind, Vec<Attempt>)>,
) -> Asset {
    let jobs: BTreeMap<JobKind, JobState> = jobs
        .into_iter()
        .map(|(job, history)| {
            let done = history.last().is_some_and(|last| last.outcome == Outcome::Ok);
            let status = if done { JobStatus::Done } else { JobStatus::Failed };
            (job, JobState { status, attempts: history.len() as u32, history, ..JobState::pending() })
        })
        .collect();
    let completed_at = completed_after.map(|millis| received_at.plus(Duration::from_millis(millis)));
    let mut asset = Asset {
        id: AssetId::for_object("uploads", key),
        source: SourceObject {
            bucket: "uploads".into(),
            key: key.into(),
            version_id: None,
            etag: None,
            size: 1000,
            content_type: None,
            sequencer: Sequencer::parse("0A"),
            received_at,
        },
        kind,
        status,
        error: None,
        jobs,
        metadata: None,
        sha256: None,
        moderation: None,
        ingest: Some(ingest),
        cost: None,
        completed_sequencer: None,
        published_sequencer: None,
        completed_at,
        created_at: received_at,
        updated_at: completed_at.unwrap_or(received_at.plus(Duration::from_secs(60))),
    };
    asset.cost = Some(Cost::sum(asset.attempts()));
    asset
}

/// Five uploads completed in the last hour, one of an earlier hour and one still processing.
fn fixture(now: Timestamp) -> Vec<Asset> {
    use AssetStatus::*;
    use JobKind::*;
    let received = now.minus(Duration::from_secs(20 * 60));
    let mut old = upload(
        "old.jpg",
        MediaKind::Image,
        Ready,
        now.minus(Duration::from_secs(2 * 3600)),
        Some(1000),
        attempt(Outcome::Ok, 100, [1000.0, 0.0, 0.0]),
        vec![(Thumbnail, vec![attempt(Outcome::Ok, 100_000, [1000.0, 0.0, 0.0])])],
    );
    old.updated_at = now.minus(Duration::from_secs(2 * 3600));
    let mut processing = old.clone();
    processing.id = AssetId::for_object("uploads", "processing.jpg");
    processing.source.key = "processing.jpg".into();
    processing.status = Processing;
    processing.updated_at = now.minus(Duration::from_secs(60));
    vec![
        // A thumbnail retried after a throttle: 110, 17 and 6 micro-dollars.
        upload(
            "photo.jpg",
            MediaKind::Image,
            Ready,
            received,
            Some(1800),
            waited(attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]), 200),
            vec![
                (
                    Thumbnail,
                    vec![
                        attempt(Outcome::Failed(ErrorCode::SERVICE_UNAVAILABLE), 300, [30.0, 4.0, 1.0]),
                        attempt(Outcome::Ok, 500, [50.0, 10.0, 2.0]),
                    ],
                ),
                (Metadata, vec![attempt(Outcome::Ok, 200, [20.0, 1.0, 2.0])]),
            ],
        ),
        // Corrupt: 30, 4, 3.
        upload(
            "corrupt.jpg",
            MediaKind::Image,
            Failed,
            received,
            Some(900),
            waited(attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]), 100),
            vec![
                (Thumbnail, vec![attempt(Outcome::Failed(ErrorCode::CORRUPT_INPUT), 100, [10.0, 1.0, 1.0])]),
                (Metadata, vec![attempt(Outcome::Failed(ErrorCode::CORRUPT_INPUT), 100, [10.0, 1.0, 1.0])]),
            ],
        ),
        // Too long for Lambda, finished by a worker (no Lambda cost): 150, 54, 9.
        upload(
            "clip.mp4",
            MediaKind::Video,
            Ready,
            received,
            Some(29_900),
            waited(attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]), 100),
            vec![
                (
                    Transcode,
                    vec![
                        attempt(Outcome::SentToWorker, 1000, [100.0, 1.0, 1.0]),
                        attempt(Outcome::Ok, 20_000, [0.0, 50.0, 5.0]),
                    ],
                ),
                (Metadata, vec![attempt(Outcome::Ok, 400, [40.0, 1.0, 2.0])]),
            ],
        ),
        // Partial, and no completion time recorded: 60, 4, 4.
        upload(
            "odd.mkv",
            MediaKind::Video,
            Partial,
            received,
            None,
            attempt(Outcome::Ok, 100, [10.0, 2.0, 1.0]),
            vec![
                (
                    Transcode,
                    vec![attempt(Outcome::Failed(ErrorCode::UNSUPPORTED_CODEC), 200, [20.0, 1.0, 1.0])],
                ),
                (Metadata, vec![attempt(Outcome::Ok, 300, [30.0, 1.0, 2.0])]),
            ],
        ),
        // Not media: ingest only, 10, 1, 2.
        upload(
            "notes.txt",
            MediaKind::Unknown,
            Failed,
            received,
            Some(150),
            waited(attempt(Outcome::Failed(ErrorCode::UNSUPPORTED_FORMAT), 100, [10.0, 1.0, 2.0]), 50),
            Vec::new(),
        ),
        old,
        processing,
    ]
}

/// Runs `mediaflow` on `table`: exit code, stdout, stderr.
fn mediaflow(table: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mediaflow"))
        .args(args)
        .env("ASSETS_TABLE", table)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("MEDIAFLOW_STACK")
        .output()
        .expect("runs mediaflow");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

#[track_caller]
fn number(report: &Value, pointer: &str) -> f64 {
    report.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number at {pointer}"))
}

#[track_caller]
fn assert_near(report: &Value, pointer: &str, expected: f64) {
    let actual = number(report, pointer);
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1e-12),
        "{pointer}: {actual} vs {expected}"
    );
}

#[track_caller]
fn assert_cost(report: &Value, pointer: &str, [lambda, s3, dynamodb]: [f64; 3]) {
    assert_near(report, &format!("{pointer}/lambda_usd"), lambda);
    assert_near(report, &format!("{pointer}/s3_usd"), s3);
    assert_near(report, &format!("{pointer}/dynamodb_usd"), dynamodb);
    assert_near(report, &format!("{pointer}/total_usd"), lambda + s3 + dynamodb);
}

fn rows<'a>(report: &'a Value, pointer: &str) -> &'a [Value] {
    report.pointer(pointer).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

#[tokio::test]
async fn reports_the_periods_uploads_as_worked_out_by_hand() {
    let table = format!("cost-{}", std::process::id());
    let client = fresh_table(&table).await;
    let now = Timestamp::now();
    for asset in fixture(now) {
        let item = serde_dynamo::to_item(&asset).expect("an item");
        client.put_item().table_name(&table).set_item(Some(item)).send().await.expect("written");
    }

    let (code, stdout, stderr) = mediaflow(
        &table,
        &[
            "cost",
            "--json",
            "--since",
            "1h",
            "--instance-price-hour",
            "0.05",
            "--instance-vcpus",
            "4",
            "--utilization",
            "0.5",
            "--rates",
            "0.1,1,10",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    // The old upload and the one still processing are not in.
    assert_eq!(report["uploads"], 5);
    let outcomes: Vec<(&str, u64, u64, u64)> = rows(&report, "/outcomes")
        .iter()
        .map(|row| {
            let count = |status: &str| row[status].as_u64().unwrap_or(u64::MAX);
            (row["kind"].as_str().unwrap_or(""), count("ready"), count("partial"), count("failed"))
        })
        .collect();
    assert_eq!(outcomes, [("image", 1, 0, 1), ("video", 1, 1, 0), ("audio", 0, 0, 0), ("unknown", 0, 0, 1)]);

    // Per 1,000 uploads, from the records' costs in micro-dollars (lambda, s3, dynamodb):
    // images (110 + 30) / 2 = 70, (17 + 4) / 2 = 10.5, (6 + 3) / 2 = 4.5 => $0.070, $0.0105,
    // $0.0045; videos (150 + 60) / 2 = 105, (54 + 4) / 2 = 29, (9 + 4) / 2 = 6.5; the unknown
    // upload 10, 1, 2; all five 360 / 5 = 72, 80 / 5 = 16, 24 / 5 = 4.8.
    let kinds: Vec<&str> =
        rows(&report, "/cost_per_1000").iter().filter_map(|row| row["kind"].as_str()).collect();
    assert_eq!(kinds, ["image", "video", "unknown", "all"]);
    assert_cost(&report, "/cost_per_1000/0/per_1000", [0.070, 0.0105, 0.0045]);
    assert_cost(&report, "/cost_per_1000/1/per_1000", [0.105, 0.029, 0.0065]);
    assert_cost(&report, "/cost_per_1000/2/per_1000", [0.010, 0.001, 0.002]);
    assert_cost(&report, "/cost_per_1000/3/per_1000", [0.072, 0.016, 0.0048]);
    assert_cost(&report, "/total", [360.0 * MICRO, 80.0 * MICRO, 24.0 * MICRO]);

    // Latency = completion - (received - ingest's queue wait): photo 1800 + 200 = 2000 ms,
    // corrupt 900 + 100 = 1000, clip 29900 + 100 = 30000, notes 150 + 50 = 200; odd.mkv has no
    // completion time. Nearest rank: of [1000, 2000] p50 is the 1st, p95 the 2nd; of all four
    // [200, 1000, 2000, 30000] p50 is the 2nd, p95 the 4th.
    let latency: Vec<(&str, u64, u64, u64)> = rows(&report, "/latency")
        .iter()
        .map(|row| {
            let ms = |name: &str| row[name].as_u64().unwrap_or(u64::MAX);
            (row["kind"].as_str().unwrap_or(""), ms("uploads"), ms("p50_ms"), ms("p95_ms"))
        })
        .collect();
    assert_eq!(
        latency,
        [
            ("image", 2, 1000, 2000),
            ("video", 1, 30_000, 30_000),
            ("unknown", 1, 200, 200),
            ("all", 4, 1000, 30_000)
        ]
    );

    // Retried: photo's throttled thumbnail (30, 4, 1) and clip's hand-over to a worker
    // (100, 1, 1). Errors, most frequent first, then by code.
    assert_eq!(report["retries"]["attempts"], 2);
    assert_cost(&report, "/retries/cost", [130.0 * MICRO, 5.0 * MICRO, 2.0 * MICRO]);
    let errors: Vec<(&str, u64, bool)> = rows(&report, "/errors")
        .iter()
        .map(|row| {
            let code = row["code"].as_str().unwrap_or("");
            (code, row["attempts"].as_u64().unwrap_or(0), row["retryable"].as_bool().unwrap_or(false))
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("corrupt-input", 2, false),
            ("service-unavailable", 1, true),
            ("unsupported-codec", 1, false),
            ("unsupported-format", 1, false)
        ]
    );
    assert_near(&report, "/errors/0/cost_usd", 24.0 * MICRO);
    assert_near(&report, "/errors/1/cost_usd", 35.0 * MICRO);

    // Mean time per attempt: ingest 5 × 100 ms; thumbnail (300 + 500 + 100) / 3; transcode
    // (1000 + 20000 + 200) / 3; metadata (200 + 100 + 400 + 300) / 4.
    let stages: Vec<&str> =
        rows(&report, "/break_even/stages").iter().filter_map(|row| row["stage"].as_str()).collect();
    assert_eq!(stages, ["ingest", "thumbnail", "transcode", "metadata"]);
    for (index, seconds) in [0.1, 0.3, 21.2 / 3.0, 0.25].into_iter().enumerate() {
        assert_near(&report, &format!("/break_even/stages/{index}/cpu_seconds"), seconds);
    }
    // Per upload: (1100 + 300 + 21500 + 600 + 100) ms / 5 = 4.72 s; Lambda 360 / 5 = 72
    // micro-dollars; S3 and DynamoDB (80 + 24) / 5 = 20.8.
    assert_near(&report, "/break_even/per_upload/cpu_seconds", 4.72);
    assert_near(&report, "/break_even/per_upload/lambda_usd", 72.0 * MICRO);
    assert_near(&report, "/break_even/s3_dynamodb_usd_per_upload", 20.8 * MICRO);
    // $0.05/h instances of 4 vCPU at 50 %: 2 busy vCPU take 2 / 4.72 = 0.42373 uploads/s, at
    // 0.05 × 4.72 / 7200 = $0.0000327778 an upload. Lambda: 3600 × 0.000072 = $0.2592/h per
    // upload/s, one instance's price at 0.05 / 0.2592 = 0.192901/s. K / (K - N1) = 1.84 < 2:
    // workers stay cheaper from there.
    assert_near(&report, "/break_even/instance_uploads_per_second", 2.0 / 4.72);
    assert_near(&report, "/break_even/workers_usd_per_upload_at_scale", 3.277_777_777_78e-5);
    assert_near(&report, "/break_even/workers_first_cheaper_above", 0.192_901_234_568);
    assert_near(&report, "/break_even/break_even_uploads_per_second", 0.192_901_234_568);
    // 0.1/s: $0.02592 against one instance, $0.05; 1/s: $0.2592 against ceil(4.72 / 2) = 3
    // instances, $0.15; 10/s: $2.592 against ceil(23.6) = 24, $1.20.
    let table_rows: Vec<(u64, &str)> = rows(&report, "/break_even/rates")
        .iter()
        .map(|row| (row["instances"].as_u64().unwrap_or(0), row["cheaper"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(table_rows, [(1, "lambda"), (3, "workers"), (24, "workers")]);
    assert_near(&report, "/break_even/rates/0/lambda_usd_per_hour", 0.02592);
    assert_near(&report, "/break_even/rates/1/workers_usd_per_hour", 0.15);
    assert_near(&report, "/break_even/rates/2/lambda_usd_per_hour", 2.592);
    assert_near(&report, "/break_even/rates/2/workers_usd_per_hour", 1.2);
    assert_eq!(report["break_even"]["inputs"]["instance_vcpus"], 4);

    // The text tables say the same, for people.
    let (code, text, stderr) = mediaflow(&table, &["cost", "--since", "1h"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.starts_with("5 completed uploads"), "{text}");
    assert!(text.contains("service-unavailable"), "{text}");

    // A period without completed uploads is an empty report, not an error.
    let (code, stdout, stderr) = mediaflow(&table, &["cost", "--json", "--since", "1s"]);
    assert_eq!(code, 0, "{stderr}");
    let empty: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!((empty["uploads"].as_u64(), empty["break_even"].is_null()), (Some(0), true), "{stdout}");
    let (code, text, _) = mediaflow(&table, &["cost", "--since", "1s"]);
    assert_eq!(code, 0);
    assert!(text.starts_with("No completed uploads"), "{text}");
}

#[test]
fn refuses_impossible_inputs_before_reading_anything() {
    for args in [
        ["cost", "--utilization", "1.5"],
        ["cost", "--instance-vcpus", "0"],
        ["cost", "--rates", "1,-2"],
        ["cost", "--since", "soon"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mediaflow")).args(args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
}

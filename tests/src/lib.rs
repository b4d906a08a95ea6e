//! Helpers of the end-to-end tests: the deployed stack's clients and names, uploads, waiting for
//! assets, completion events, queue depths. The tests themselves are in `tests/`; they need the
//! deployed stack, so `make unit` excludes this crate and `make e2e` deploys the stack and runs them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_adapters::DynamoAssetRepository;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use pipeline::messages::JobMessage;
use pipeline::ports::{AssetQueries, UploadRecords};
use pipeline::time::Timestamp;
use pipeline::{Asset, AssetId, AssetStatus, DerivativeRole, JobKind, JobState, Sequencer};

/// The stack under test, with clients.
pub struct Stack {
    /// Stack name.
    pub name: String,
    /// Outputs by key.
    pub outputs: HashMap<String, String>,
    /// Parameters by key, as deployed.
    pub parameters: HashMap<String, String>,
    /// S3 (path-style).
    pub s3: aws_sdk_s3::Client,
    /// SQS: sends raw messages, reads queue depths and the completion-event queue.
    pub sqs: aws_sdk_sqs::Client,
    /// The assets table.
    pub assets: DynamoAssetRepository,
    /// CloudWatch Logs, where each function's output goes.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// A prefix unique to this test run, so runs never see each other's objects.
    pub run: String,
}

impl Stack {
    /// Connects to the stack named by `MEDIAFLOW_STACK` (default `mediaflow-local`) with the standard
    /// AWS environment (`AWS_ENDPOINT_URL` for LocalStack).
    pub async fn connect() -> Stack {
        let name = std::env::var("MEDIAFLOW_STACK").unwrap_or_else(|_| "mediaflow-local".into());
        let sdk = aws_adapters::sdk_config().await;
        let described = aws_sdk_cloudformation::Client::new(&sdk)
            .describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .unwrap_or_else(|error| panic!("stack {name} is not deployed (run `make e2e`): {error:?}"));
        let stack = described.stacks().first().expect("the stack");
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key.clone()?, o.output_value.clone()?)))
            .collect::<HashMap<_, _>>();
        let parameters = stack
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key.clone()?, p.parameter_value.clone()?)))
            .collect();
        let table = outputs.get("AssetsTableName").expect("AssetsTableName output").clone();
        let run = format!(
            "e2e-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
        );
        Stack {
            name,
            outputs,
            parameters,
            s3: aws_adapters::s3_client(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            assets: DynamoAssetRepository::new(aws_adapters::DynamoClient::new(&sdk), table),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            run,
        }
    }

    /// An output of the stack.
    pub fn output(&self, key: &str) -> &str {
        self.outputs.get(key).unwrap_or_else(|| panic!("no output {key}"))
    }

    /// A deployed parameter as a number.
    pub fn number(&self, key: &str) -> u64 {
        self.parameters.get(key).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("parameter {key}"))
    }

    /// The uploads bucket.
    pub fn uploads(&self) -> &str {
        self.output("UploadsBucketName")
    }

    /// The derivatives bucket.
    pub fn derivatives(&self) -> &str {
        self.output("DerivativesBucketName")
    }

    /// A key under this run's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.run)
    }

    /// Uploads `body` to the uploads bucket under `key`; returns when the upload finished and the
    /// asset id the pipeline will use.
    pub async fn upload(&self, key: &str, body: Vec<u8>) -> (Instant, AssetId) {
        self.put(self.uploads(), key, body).await;
        (Instant::now(), AssetId::for_object(self.uploads(), key))
    }

    /// Stores an object.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap_or_else(|error| panic!("put {key}: {error:?}"));
    }

    /// The bytes of an object, or `None` if it does not exist.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let object = self.s3.get_object().bucket(bucket).key(key).send().await.ok()?;
        Some(object.body.collect().await.expect("body").into_bytes().to_vec())
    }

    /// Deletes an object.
    pub async fn delete(&self, bucket: &str, key: &str) {
        self.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|error| panic!("delete {key}: {error:?}"));
    }

    /// Keys under `prefix` in `bucket`.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let listed = self.s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.expect("list");
        listed.contents().iter().filter_map(|o| o.key.clone()).collect()
    }

    /// The asset `id` as stored now.
    pub async fn asset(&self, id: &AssetId) -> Option<Asset> {
        self.assets.get(id).await.expect("get asset")
    }

    /// Waits until `check` accepts the asset (polling every 200 ms), or panics after `timeout`.
    pub async fn wait_for(&self, id: &AssetId, timeout: Duration, check: impl Fn(&Asset) -> bool) -> Asset {
        let start = Instant::now();
        loop {
            let asset = self.asset(id).await;
            if let Some(asset) = asset.as_ref().filter(|asset| check(asset)) {
                return asset.clone();
            }
            assert!(start.elapsed() < timeout, "asset {id} not as expected after {timeout:?}: {asset:#?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the asset reaches a final status (ready, partial, failed, deleted).
    pub async fn wait_final(&self, id: &AssetId, timeout: Duration) -> Asset {
        self.wait_for(id, timeout, |asset| asset.status.is_final() && asset.completed_sequencer.is_some())
            .await
    }

    /// Messages in a queue, visible or in flight.
    pub async fn queue_depth(&self, url: &str) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        let map = attributes.attributes().cloned().unwrap_or_default();
        map.values().filter_map(|v| v.parse::<u64>().ok()).sum()
    }

    /// Sends a raw message body to a queue.
    pub async fn send(&self, url: &str, body: &str) {
        self.sqs.send_message().queue_url(url).message_body(body).send().await.expect("send");
    }

    /// Drains the completion-event queue into the process-wide log and returns the events seen so
    /// far for `id` (tests run concurrently and share the queue, so every test reads through this).
    pub async fn events_for(&self, id: &AssetId) -> Vec<serde_json::Value> {
        let url = self.output("AssetEventsQueueUrl");
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive events");
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                if let Ok(event) =
                    serde_json::from_str::<serde_json::Value>(message.body().unwrap_or_default())
                {
                    EVENTS.lock().unwrap_or_else(|p| p.into_inner()).push(event);
                }
                if let Some(receipt) = message.receipt_handle() {
                    let _ = self.sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await;
                }
            }
        }
        EVENTS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|event| event["detail"]["asset_id"] == id.as_str())
            .cloned()
            .collect()
    }

    /// Waits until the log of the stack's `function` (`ingest`, `thumbnail`, ...) has a line written
    /// at or after `since` that contains every one of `needles`, and returns it: positive evidence
    /// that a message was received and what the function made of it. Panics after `timeout`.
    pub async fn wait_log(
        &self,
        function: &str,
        since: SystemTime,
        needles: &[&str],
        timeout: Duration,
    ) -> String {
        let group = format!("/aws/lambda/{}-{function}", self.name);
        let start_ms = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let started = Instant::now();
        loop {
            let mut pages = self
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .start_time(start_ms)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.unwrap_or_else(|error| panic!("FilterLogEvents {group}: {error:?}"));
                let mut lines = page.events().iter().filter_map(|event| event.message());
                if let Some(line) = lines.find(|line| needles.iter().all(|needle| line.contains(needle))) {
                    return line.to_owned();
                }
            }
            assert!(started.elapsed() < timeout, "no line with {needles:?} in {group} after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The completion events for each of `ids` once none of them has had a new one for `quiet`:
    /// what an absence of further events is asserted on, polled rather than slept for. Panics
    /// after `timeout`.
    pub async fn events_once_quiet(
        &self,
        ids: &[&AssetId],
        quiet: Duration,
        timeout: Duration,
    ) -> Vec<Vec<serde_json::Value>> {
        let start = Instant::now();
        let mut seen = Vec::new();
        let mut changed = Instant::now();
        loop {
            let mut now = Vec::with_capacity(ids.len());
            for id in ids {
                now.push(self.events_for(id).await);
            }
            let counts: Vec<usize> = now.iter().map(Vec::len).collect();
            if counts != seen {
                (seen, changed) = (counts, Instant::now());
            } else if changed.elapsed() >= quiet {
                return now;
            }
            assert!(start.elapsed() < timeout, "events still arriving after {timeout:?}: {seen:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until at least `count` completion events for `id` arrived; returns them all.
    pub async fn wait_events(&self, id: &AssetId, count: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let start = Instant::now();
        loop {
            let events = self.events_for(id).await;
            if events.len() >= count {
                return events;
            }
            assert!(
                start.elapsed() < timeout,
                "{count} events for {id} not seen after {timeout:?}: {events:#?}"
            );
        }
    }
}

static EVENTS: Mutex<Vec<serde_json::Value>> = Mutex::new(Vec::new());

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An absolute path from the environment variable `name`, which `make e2e` sets: a relative one
/// would depend on the folder cargo runs the test in (the crate's, not the caller's), so it is
/// refused with what to do instead.
pub fn absolute_path_from_env(name: &str) -> PathBuf {
    let value =
        std::env::var_os(name).unwrap_or_else(|| panic!("{name} is not set: run the suite with `make e2e`"));
    let path = PathBuf::from(value);
    assert!(
        path.is_absolute(),
        "{name}={} is relative: give an absolute path (`make e2e` does)",
        path.display()
    );
    path
}

/// The folder of the packaged functions, `<name>/bootstrap` (`$LAMBDA_DIR`, from `make package`).
pub fn lambda_dir() -> PathBuf {
    absolute_path_from_env("LAMBDA_DIR")
}

/// A command that runs the packaged bootstrap of `function` (`$LAMBDA_DIR/<function>/bootstrap`,
/// from `make package`) inside the Debian bullseye root `make package` checks it in
/// (`$MEDIAFLOW_BULLSEYE_ROOT`, glibc 2.31), with every symbol bound at load. The chroot shares this
/// machine's network, so the function reaches LocalStack on 127.0.0.1; arguments and environment
/// are the caller's to add.
pub fn packaged_function_in_old_glibc_root(function: &str) -> std::process::Command {
    let root = std::env::var("MEDIAFLOW_BULLSEYE_ROOT").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mediaflow/bullseye-root")
    });
    assert!(root.join(".complete").is_file(), "no bullseye root at {}: run `make package`", root.display());
    let inside = format!("/opt/e2e/{function}");
    std::fs::create_dir_all(root.join("opt/e2e")).expect("a folder in the root");
    std::fs::copy(lambda_dir().join(function).join("bootstrap"), root.join(&inside[1..]))
        .expect("the packaged bootstrap (make package)");
    let mut command = std::process::Command::new("chroot");
    command.arg(&root).arg(inside).env("LD_BIND_NOW", "1").env("TMPDIR", "/tmp");
    command
}

/// A test file of the media crates, by path relative to `shared/`.
pub fn data(relative: &str) -> Vec<u8> {
    let path = repo_root().join("shared").join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Upload → final status of `asset`, uploaded at `uploaded` (an [`Instant`] taken after the put), on
/// the asset record's own clock: waits in the tests are sequential, so time spent waiting for other
/// assets does not count.
pub fn latency(asset: &Asset, uploaded: Instant) -> Duration {
    let uploaded_at = pipeline::time::Timestamp::from(std::time::SystemTime::now() - uploaded.elapsed());
    Duration::from_millis(asset.updated_at.millis_since(uploaded_at))
}

/// The `p`-th percentile (0-100) of `values` (nearest rank).
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Checks every derivative of `asset`: it exists with the recorded size and decodes to the
/// recorded dimensions.
pub async fn check_derivatives(stack: &Stack, asset: &Asset) {
    for derivative in asset.derivatives() {
        let bytes = stack.get(stack.derivatives(), &derivative.key).await.unwrap_or_else(|| {
            panic!("{} is recorded but not in the derivatives bucket", derivative.key);
        });
        assert_eq!(bytes.len() as u64, derivative.bytes, "{}", derivative.key);
        match derivative.role {
            DerivativeRole::Thumbnail | DerivativeRole::Poster => {
                let image = image::load_from_memory(&bytes).expect("thumbnail decodes");
                assert_eq!(Some((image.width(), image.height())), derivative.width.zip(derivative.height));
            }
            DerivativeRole::Rendition => {
                let file = std::env::temp_dir().join(format!("e2e-{}.mp4", asset.id));
                std::fs::write(&file, &bytes).expect("write rendition");
                let probe = media_video::probe(&file, &media_video::VideoLimits::default())
                    .expect("rendition probes");
                let _ = std::fs::remove_file(&file);
                let video = probe.main_video().expect("video stream");
                assert_eq!(video.codec, "h264");
                assert_eq!(Some((video.width, video.height)), derivative.width.zip(derivative.height));
                let recorded = derivative.duration_seconds.expect("duration");
                assert!((probe.duration_seconds.unwrap_or(0.0) - recorded).abs() < 0.1, "{probe:?}");
            }
            DerivativeRole::HlsPlaylist => {
                let playlist = String::from_utf8(bytes).expect("utf-8 playlist");
                assert!(playlist.starts_with("#EXTM3U"), "{playlist}");
                let folder = derivative.key.rsplit_once('/').map(|(dir, _)| dir).unwrap_or_default();
                for uri in playlist.lines().filter(|line| !line.starts_with('#') && !line.is_empty()) {
                    let key = format!("{folder}/{uri}");
                    assert!(
                        stack.get(stack.derivatives(), &key).await.is_some(),
                        "{key} referenced, missing"
                    );
                }
            }
            DerivativeRole::Audio => {
                let file = std::env::temp_dir().join(format!("e2e-{}.m4a", asset.id));
                std::fs::write(&file, &bytes).expect("write audio rendition");
                let probe = media_video::probe(&file, &media_video::VideoLimits::default())
                    .expect("audio rendition probes");
                let _ = std::fs::remove_file(&file);
                assert_eq!(probe.audio.first().map(|audio| audio.codec.as_str()), Some("aac"), "{probe:?}");
                let recorded = derivative.duration_seconds.expect("duration");
                assert!((probe.duration_seconds.unwrap_or(0.0) - recorded).abs() < 0.1, "{probe:?}");
            }
        }
    }
}

/// An asset recorded directly with one pending job, whose source is in the derivatives bucket (no
/// notifications there, so the test drives the job itself); returns it and the job message.
pub async fn asset_with_pending_job(
    stack: &Stack,
    name: &str,
    job: JobKind,
    kind: media_core::MediaKind,
) -> (Asset, JobMessage) {
    let bucket = stack.derivatives().to_owned();
    let key = stack.key(name);
    let id = AssetId::for_object(&bucket, &key);
    let sequencer = Sequencer::parse("0001");
    let now = Timestamp::now();
    let asset = Asset {
        id: id.clone(),
        source: pipeline::model::SourceObject {
            bucket: bucket.clone(),
            key: key.clone(),
            version_id: None,
            etag: None,
            size: 1,
            content_type: None,
            sequencer: sequencer.clone(),
            received_at: now,
        },
        kind,
        status: AssetStatus::Processing,
        error: None,
        jobs: [(job, JobState::pending())].into(),
        metadata: None,
        sha256: None,
        moderation: None,
        ingest: None,
        cost: None,
        completed_sequencer: None,
        published_sequencer: None,
        completed_at: None,
        created_at: now,
        updated_at: now,
    };
    stack.assets.record_upload(&asset).await.expect("asset recorded");
    let message =
        JobMessage { asset_id: id, job, sequencer, bucket, key, version_id: None, size: 1, kind, part: None };
    (asset, message)
}

//! [`AssetRepository`] on one DynamoDB table.
//!
//! Item layout (the [`Asset`] serialised by `serde_dynamo`, so the JSON and the item agree):
//! key `id` (S); `source` (M, with `sequencer`), `kind`, `status`, `jobs` (M of job kind to job
//! state), `metadata`, `sha256`, `completed_sequencer`, `published_sequencer`, `created_at`, `updated_at`.
//! Indexes: `by-status` (`status`, `updated_at`) and `by-sha256` (`sha256`, `id`).
//!
//! Every write is conditional on `source.sequencer`: sequencers are stored normalised (fixed
//! width), so DynamoDB's string comparison is S3's event order.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity, ReturnValue};
use pipeline::cost::Cost;
use pipeline::ports::{
    AssetQueries, Claim, CompletionClaim, Completions, JobLeases, JobResult, PartRecorded, Recorded,
    SplitJobs, UploadRecords,
};
use pipeline::time::Timestamp;
use pipeline::usage::{self, Attempt};
use pipeline::{
    Asset, AssetId, AssetStatus, Failure, JobKind, JobStatus, PortError, PortErrorKind, Sequencer,
};

use crate::classify::{is_conditional_check_failed, is_invalid_document_path, port_error};

/// The condition of a write by a job's holder: the job runs for the same upload, not deleted since.
const RUNNING_JOB: &str = "#source.#seq = :seq AND #status <> :deleted AND #jobs.#job.#st = :running";

/// Appends the attempt `:attempt` (a one-element list) to the job's history (`:none` if it has none).
const APPEND_ATTEMPT: &str =
    "#jobs.#job.history = list_append(if_not_exists(#jobs.#job.history, :none), :attempt)";

/// Name of the status index.
pub const STATUS_INDEX: &str = "by-status";
/// Name of the checksum index.
pub const SHA256_INDEX: &str = "by-sha256";

/// The top-level attributes an asset item may lack (`Option`s serialised only when set): a
/// re-upload removes those its new record does not have.
const OPTIONAL_ATTRIBUTES: [&str; 9] = [
    "error",
    "metadata",
    "sha256",
    "moderation",
    "ingest",
    "cost",
    "completed_sequencer",
    "published_sequencer",
    "completed_at",
];

/// The assets table.
#[derive(Debug, Clone)]
pub struct DynamoAssetRepository {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn value<T: serde::Serialize>(operation: &'static str, value: &T) -> Result<AttributeValue, PortError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|error| PortError::new(operation, PortErrorKind::Rejected, format!("serialising: {error}")))
}

fn item_from(asset: &Asset) -> Result<Item, PortError> {
    serde_dynamo::to_item(asset).map_err(|error| {
        PortError::new("dynamodb:PutItem", PortErrorKind::Rejected, format!("serialising: {error}"))
    })
}

fn asset_from(operation: &'static str, item: Item) -> Result<Asset, PortError> {
    serde_dynamo::from_item(item).map_err(|error| {
        PortError::new(operation, PortErrorKind::Rejected, format!("unreadable asset item: {error}"))
    })
}

/// Counts a write in the current attempt's ledger with the units DynamoDB reported; a write whose
/// condition failed reports none but is billed at least one unit.
fn count_write(capacity: Option<&ConsumedCapacity>) {
    let units = capacity.and_then(|capacity| capacity.capacity_units).unwrap_or(1.0);
    usage::count(|requests| {
        requests.dynamodb_writes += 1;
        requests.dynamodb_write_units += units;
    });
}

/// Counts a read (a GetItem, or one page of a Query) with the units DynamoDB reported.
fn count_read(capacity: Option<&ConsumedCapacity>) {
    let units = capacity.and_then(|capacity| capacity.capacity_units).unwrap_or(1.0);
    usage::count(|requests| {
        requests.dynamodb_reads += 1;
        requests.dynamodb_read_units += units;
    });
}

impl DynamoAssetRepository {
    /// The repository on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoAssetRepository {
        DynamoAssetRepository { client, table: table.into() }
    }

    /// An update of `id` with the names every expression here uses.
    fn update(&self, id: &AssetId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .expression_attribute_names("#source", "source")
            .expression_attribute_names("#seq", "sequencer")
            .expression_attribute_names("#status", "status")
    }

    /// An update of one job's state.
    fn update_job(&self, id: &AssetId, sequencer: &Sequencer, job: JobKind) -> UpdateItemFluentBuilder {
        self.update(id)
            .expression_attribute_names("#jobs", "jobs")
            .expression_attribute_names("#job", job.as_str())
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":seq", s(sequencer.as_str()))
    }

    /// An update of `job` while it runs for the upload at `sequencer` (the condition
    /// [`RUNNING_JOB`]), recording `attempt`: its values `:attempt` and `:none` for
    /// [`APPEND_ATTEMPT`], and `:now` at the attempt's end.
    fn update_running_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
    ) -> Result<UpdateItemFluentBuilder, PortError> {
        Ok(self
            .update_job(id, sequencer, job)
            .condition_expression(RUNNING_JOB)
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":attempt",
                AttributeValue::L(vec![value("dynamodb:UpdateItem", attempt)?]),
            )
            .expression_attribute_values(":now", s(attempt.ended_at.to_string())))
    }

    /// Runs a conditional update; `Ok(None)` when the condition failed.
    async fn conditional(
        &self,
        operation: &'static str,
        update: UpdateItemFluentBuilder,
    ) -> Result<Option<Item>, PortError> {
        match update.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await {
            Ok(output) => {
                count_write(output.consumed_capacity());
                Ok(Some(output.attributes.unwrap_or_default()))
            }
            // A job path that does not exist (the asset moved on to an upload of another kind)
            // fails like a condition: the write does not apply.
            Err(error) if is_conditional_check_failed(&error) || is_invalid_document_path(&error) => {
                count_write(None);
                Ok(None)
            }
            Err(error) => Err(port_error(operation, error)),
        }
    }

    async fn consistent_get(&self, id: &AssetId) -> Result<Option<Asset>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| port_error("dynamodb:GetItem", e))?;
        count_read(output.consumed_capacity());
        output.item.map(|item| asset_from("dynamodb:GetItem", item)).transpose()
    }

    /// After a failed conditional write of `sequencer`: a duplicate or a stale event?
    async fn duplicate_or_stale(&self, id: &AssetId, sequencer: &Sequencer) -> Result<Recorded, PortError> {
        Ok(match self.consistent_get(id).await? {
            Some(stored) if &stored.source.sequencer == sequencer => Recorded::Duplicate(Box::new(stored)),
            _ => Recorded::Stale,
        })
    }

    /// A query of `index` for the items whose partition key `key` is `value`, newest sort key first.
    fn index_query(&self, index: &str, key: &str, value: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":v", s(value))
            .scan_index_forward(false)
    }

    /// The first `limit` items of `query`, across pages.
    async fn first_items(query: QueryFluentBuilder, limit: usize) -> Result<Vec<Item>, PortError> {
        let mut items = Vec::new();
        let query = query.return_consumed_capacity(ReturnConsumedCapacity::Total);
        let mut pages = query.into_paginator().send();
        while items.len() < limit {
            let Some(page) = pages.next().await else { break };
            let page = page.map_err(|e| port_error("dynamodb:Query", e))?;
            count_read(page.consumed_capacity());
            items.extend(page.items.unwrap_or_default());
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Every asset with `status` whose record changed at or after `since`, oldest change first,
    /// across all pages of the status index: the completed uploads of a period, which `mediaflow
    /// cost` reports on. Not on the [`AssetRepository`] port: no use-case needs a whole period.
    pub async fn list_updated_since(
        &self,
        status: AssetStatus,
        since: Timestamp,
    ) -> Result<Vec<Asset>, PortError> {
        let query = self
            .index_query(STATUS_INDEX, "status", status.as_str())
            .key_condition_expression("#k = :v AND updated_at >= :since")
            .expression_attribute_values(":since", s(since.to_string()))
            .scan_index_forward(true);
        let items = Self::first_items(query, usize::MAX).await?;
        items.into_iter().map(|item| asset_from("dynamodb:Query", item)).collect()
    }
}

#[async_trait]
impl AssetQueries for DynamoAssetRepository {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, PortError> {
        self.consistent_get(id).await
    }

    async fn list_by_status(&self, status: AssetStatus, limit: usize) -> Result<Vec<Asset>, PortError> {
        let items =
            Self::first_items(self.index_query(STATUS_INDEX, "status", status.as_str()), limit).await?;
        items.into_iter().map(|item| asset_from("dynamodb:Query", item)).collect()
    }

    async fn list_stale(
        &self,
        status: AssetStatus,
        updated_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Asset>, PortError> {
        let query = self
            .index_query(STATUS_INDEX, "status", status.as_str())
            .key_condition_expression("#k = :v AND updated_at < :before")
            .expression_attribute_values(":before", s(updated_before.to_string()))
            .scan_index_forward(true);
        let items = Self::first_items(query, limit).await?;
        items.into_iter().map(|item| asset_from("dynamodb:Query", item)).collect()
    }

    async fn find_by_sha256(&self, sha256: &str) -> Result<Vec<AssetId>, PortError> {
        let items = Self::first_items(self.index_query(SHA256_INDEX, "sha256", sha256), 1000).await?;
        Ok(items
            .into_iter()
            .filter_map(|item| match item.get("id") {
                Some(AttributeValue::S(id)) => AssetId::parse(id),
                _ => None,
            })
            .collect())
    }
}

#[async_trait]
impl UploadRecords for DynamoAssetRepository {
    async fn record_upload(&self, asset: &Asset) -> Result<Recorded, PortError> {
        // An update rather than a put: a re-upload replaces everything about the previous upload
        // (the optional attributes it does not have are removed) but keeps `created_at`.
        let mut item = item_from(asset)?;
        item.remove("id");
        let created_at = item.remove("created_at").unwrap_or_else(|| s(asset.created_at.to_string()));
        let mut set = vec!["created_at = if_not_exists(created_at, :created_at)".to_owned()];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(asset.id.as_str()))
            .condition_expression("attribute_not_exists(id) OR #source.#seq < :seq")
            .expression_attribute_names("#source", "source")
            .expression_attribute_names("#seq", "sequencer")
            .expression_attribute_values(":seq", s(asset.source.sequencer.as_str()))
            .expression_attribute_values(":created_at", created_at);
        let remove: Vec<String> = OPTIONAL_ATTRIBUTES
            .iter()
            .filter(|name| !item.contains_key(**name))
            .map(|name| format!("#{name}"))
            .collect();
        for name in OPTIONAL_ATTRIBUTES.iter().filter(|name| !item.contains_key(**name)) {
            update = update.expression_attribute_names(format!("#{name}"), *name);
        }
        for (name, value) in item {
            set.push(format!("#{name} = :{name}"));
            update = update
                .expression_attribute_names(format!("#{name}"), &name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update =
            update.update_expression(expression).return_consumed_capacity(ReturnConsumedCapacity::Total);
        match update.send().await {
            Ok(output) => {
                count_write(output.consumed_capacity());
                Ok(Recorded::Applied)
            }
            Err(error) if is_conditional_check_failed(&error) => {
                count_write(None);
                self.duplicate_or_stale(&asset.id, &asset.source.sequencer).await
            }
            Err(error) => Err(port_error("dynamodb:UpdateItem", error)),
        }
    }

    async fn mark_processing(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        ingest: &Attempt,
        now: Timestamp,
    ) -> Result<(), PortError> {
        let update = self
            .update(id)
            .update_expression("SET #status = :processing, ingest = :ingest, updated_at = :now")
            .expression_attribute_values(":ingest", value("dynamodb:UpdateItem", ingest)?)
            .condition_expression("#source.#seq = :seq AND #status = :received")
            .expression_attribute_values(":seq", s(sequencer.as_str()))
            .expression_attribute_values(":processing", s(AssetStatus::Processing.as_str()))
            .expression_attribute_values(":received", s(AssetStatus::Received.as_str()))
            .expression_attribute_values(":now", s(now.to_string()));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn record_removal(&self, tombstone: &Asset) -> Result<Recorded, PortError> {
        let item = item_from(tombstone)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        match put.send().await {
            Ok(output) => {
                count_write(output.consumed_capacity());
                return Ok(Recorded::Applied);
            }
            Err(error) if is_conditional_check_failed(&error) => count_write(None),
            Err(error) => return Err(port_error("dynamodb:PutItem", error)),
        }
        let sequencer = &tombstone.source.sequencer;
        let update = self
            .update(&tombstone.id)
            .update_expression("SET #status = :deleted, #source.#seq = :seq, updated_at = :now")
            .condition_expression("#source.#seq < :seq")
            .expression_attribute_values(":seq", s(sequencer.as_str()))
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":now", s(tombstone.updated_at.to_string()));
        match self.conditional("dynamodb:UpdateItem", update).await? {
            Some(_) => Ok(Recorded::Applied),
            None => self.duplicate_or_stale(&tombstone.id, sequencer).await,
        }
    }
}

#[async_trait]
impl JobLeases for DynamoAssetRepository {
    async fn claim_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, PortError> {
        let update = self
            .update_job(id, sequencer, job)
            .update_expression(
                "SET #jobs.#job.#st = :running, #jobs.#job.attempts = #jobs.#job.attempts + :one, \
                 #jobs.#job.started_at = :now, #jobs.#job.lease_until = :lease, updated_at = :now",
            )
            .condition_expression(
                "#source.#seq = :seq AND #status <> :deleted AND (#jobs.#job.#st = :pending OR \
                 (#jobs.#job.#st = :running AND #jobs.#job.lease_until <= :now))",
            )
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":lease", s(lease_until.to_string()))
            .return_values(ReturnValue::AllNew);
        if let Some(item) = self.conditional("dynamodb:UpdateItem", update).await? {
            return Ok(Claim::Claimed(Box::new(asset_from("dynamodb:UpdateItem", item)?)));
        }
        let Some(asset) = self.consistent_get(id).await? else { return Ok(Claim::Stale) };
        if &asset.source.sequencer != sequencer || asset.status == AssetStatus::Deleted {
            return Ok(Claim::Stale);
        }
        Ok(match asset.jobs.get(&job).map(|state| state.status) {
            None => Claim::Stale,
            Some(JobStatus::Done | JobStatus::Failed) => Claim::Finished(Box::new(asset)),
            // Running under a lease that has not ended; or released (pending) by its holder
            // between the write and this read, which the next delivery can claim at once.
            Some(JobStatus::Running | JobStatus::Pending) => {
                Claim::Busy(asset.jobs[&job].lease_until.filter(|lease| *lease > now).unwrap_or(now))
            }
        })
    }

    async fn record_progress(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        percent: u8,
        now: Timestamp,
    ) -> Result<(), PortError> {
        let update = self
            .update_job(id, sequencer, job)
            .update_expression("SET #jobs.#job.progress_percent = :percent, updated_at = :now")
            .condition_expression("#source.#seq = :seq AND #status <> :deleted AND #jobs.#job.#st = :running")
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":percent", AttributeValue::N(percent.to_string()))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":now", s(now.to_string()));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn retry_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        failure: &Failure,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        let update = self
            .update_running_job(id, sequencer, job, attempt)?
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":error", value("dynamodb:UpdateItem", failure)?)
            .update_expression(format!(
                "SET #jobs.#job.#st = :pending, #jobs.#job.#error = :error, {APPEND_ATTEMPT}, updated_at = :now \
                 REMOVE #jobs.#job.lease_until"
            ));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn hand_job_to_worker(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        let update = self
            .update_running_job(id, sequencer, job, attempt)?
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .update_expression(format!(
                "SET #jobs.#job.#st = :pending, #jobs.#job.sent_to_worker = :true, {APPEND_ATTEMPT}, \
                 updated_at = :now REMOVE #jobs.#job.lease_until"
            ));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn finish_job(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        result: JobResult,
        now: Timestamp,
    ) -> Result<Option<Asset>, PortError> {
        let mut set = vec!["#jobs.#job = :state", "updated_at = :now"];
        let mut update = self
            .update_job(id, sequencer, job)
            .condition_expression("#source.#seq = :seq AND #status <> :deleted AND #jobs.#job.#st = :running")
            .expression_attribute_values(":state", value("dynamodb:UpdateItem", &result.state)?)
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":now", s(now.to_string()))
            .return_values(ReturnValue::AllNew);
        if let Some(metadata) = &result.metadata {
            set.push("metadata = :metadata");
            update = update.expression_attribute_values(":metadata", value("dynamodb:UpdateItem", metadata)?);
        }
        if let Some(sha256) = result.sha256 {
            set.push("sha256 = :sha256");
            update = update.expression_attribute_values(":sha256", s(sha256));
        }
        if let Some(moderation) = &result.moderation {
            set.push("moderation = :moderation");
            update =
                update.expression_attribute_values(":moderation", value("dynamodb:UpdateItem", moderation)?);
        }
        let update = update.update_expression(format!("SET {}", set.join(", ")));
        match self.conditional("dynamodb:UpdateItem", update).await? {
            Some(item) => Ok(Some(asset_from("dynamodb:UpdateItem", item)?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl SplitJobs for DynamoAssetRepository {
    async fn start_parts(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        total: u32,
        lease_until: Timestamp,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        // Written by hand rather than from `Segments`: `parts` must exist, empty, for the
        // per-part writes below to have a map to write into.
        let segments = AttributeValue::M(HashMap::from([
            ("total".to_owned(), AttributeValue::N(total.to_string())),
            ("done".to_owned(), AttributeValue::N("0".into())),
            ("parts".to_owned(), AttributeValue::M(HashMap::new())),
        ]));
        let update = self
            .update_running_job(id, sequencer, job, attempt)?
            .update_expression(format!(
                "SET #jobs.#job.#segments = if_not_exists(#jobs.#job.#segments, :segments), \
                 #jobs.#job.lease_until = :lease, {APPEND_ATTEMPT}, updated_at = :now"
            ))
            .expression_attribute_names("#segments", "segments")
            .expression_attribute_values(":segments", segments)
            .expression_attribute_values(":lease", s(lease_until.to_string()));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn finish_part(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        index: u32,
        attempt: &Attempt,
    ) -> Result<PartRecorded, PortError> {
        // The part's key is written once: the condition makes a duplicate's write fail, so `done`
        // counts every part exactly once.
        let update = self
            .update_running_job(id, sequencer, job, attempt)?
            .expression_attribute_names("#segments", "segments")
            .expression_attribute_names("#parts", "parts")
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#part", index.to_string())
            .update_expression(format!(
                "SET #jobs.#job.#segments.#parts.#part = :now, \
                 #jobs.#job.#segments.#done = #jobs.#job.#segments.#done + :one, {APPEND_ATTEMPT}, updated_at = :now"
            ))
            .condition_expression(format!(
                "{RUNNING_JOB} AND attribute_exists(#jobs.#job.#segments.#parts) AND \
                 attribute_not_exists(#jobs.#job.#segments.#parts.#part)"
            ))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew);
        let segments_of = |asset: &Asset| {
            asset.jobs.get(&job).filter(|state| state.status == JobStatus::Running)?.segments.clone()
        };
        if let Some(item) = self.conditional("dynamodb:UpdateItem", update).await? {
            let asset = asset_from("dynamodb:UpdateItem", item)?;
            return Ok(segments_of(&asset).map_or(PartRecorded::Stale, PartRecorded::Recorded));
        }
        let Some(asset) = self.consistent_get(id).await? else { return Ok(PartRecorded::Stale) };
        if &asset.source.sequencer != sequencer || asset.status == AssetStatus::Deleted {
            return Ok(PartRecorded::Stale);
        }
        Ok(match segments_of(&asset) {
            Some(segments) if segments.is_done(index) => PartRecorded::Duplicate(segments),
            _ => PartRecorded::Stale,
        })
    }

    async fn record_part_attempt(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        attempt: &Attempt,
    ) -> Result<(), PortError> {
        let update = self
            .update_running_job(id, sequencer, job, attempt)?
            .update_expression(format!("SET {APPEND_ATTEMPT}, updated_at = :now"));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn claim_join(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        job: JobKind,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, PortError> {
        let update = self
            .update_job(id, sequencer, job)
            .expression_attribute_names("#segments", "segments")
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#total", "total")
            .update_expression("SET #jobs.#job.#segments.join_lease_until = :lease, updated_at = :now")
            .condition_expression(
                "#source.#seq = :seq AND #status <> :deleted AND #jobs.#job.#st = :running AND \
                 #jobs.#job.#segments.#done >= #jobs.#job.#segments.#total AND \
                 (attribute_not_exists(#jobs.#job.#segments.join_lease_until) OR \
                  #jobs.#job.#segments.join_lease_until <= :now)",
            )
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":running", s("running"))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":lease", s(lease_until.to_string()))
            .return_values(ReturnValue::AllNew);
        if let Some(item) = self.conditional("dynamodb:UpdateItem", update).await? {
            return Ok(Claim::Claimed(Box::new(asset_from("dynamodb:UpdateItem", item)?)));
        }
        let Some(asset) = self.consistent_get(id).await? else { return Ok(Claim::Stale) };
        if &asset.source.sequencer != sequencer || asset.status == AssetStatus::Deleted {
            return Ok(Claim::Stale);
        }
        let Some(state) = asset.jobs.get(&job) else { return Ok(Claim::Stale) };
        if state.status.is_final() {
            return Ok(Claim::Finished(Box::new(asset)));
        }
        Ok(match state.segments.as_ref() {
            Some(segments) if segments.all_done() => {
                Claim::Busy(segments.join_lease_until.filter(|lease| *lease > now).unwrap_or(now))
            }
            _ => Claim::Stale,
        })
    }
}

#[async_trait]
impl Completions for DynamoAssetRepository {
    async fn complete(
        &self,
        id: &AssetId,
        sequencer: &Sequencer,
        status: AssetStatus,
        error: Option<&Failure>,
        cost: &Cost,
        now: Timestamp,
    ) -> Result<CompletionClaim, PortError> {
        let mut update = self
            .update(id)
            .expression_attribute_values(":cost", value("dynamodb:UpdateItem", cost)?)
            .condition_expression(
                "#source.#seq = :seq AND #status <> :deleted AND \
                 (attribute_not_exists(completed_sequencer) OR completed_sequencer <> :seq)",
            )
            .expression_attribute_values(":seq", s(sequencer.as_str()))
            .expression_attribute_values(":deleted", s(AssetStatus::Deleted.as_str()))
            .expression_attribute_values(":final", s(status.as_str()))
            .expression_attribute_values(":now", s(now.to_string()));
        let expression = match error {
            Some(error) => {
                update = update.expression_attribute_values(":error", value("dynamodb:UpdateItem", error)?);
                "SET #status = :final, completed_sequencer = :seq, completed_at = :now, cost = :cost, \
                 updated_at = :now, #error = :error"
            }
            None => {
                "SET #status = :final, completed_sequencer = :seq, completed_at = :now, cost = :cost, \
                 updated_at = :now REMOVE #error"
            }
        };
        let update = update.expression_attribute_names("#error", "error").update_expression(expression);
        Ok(match self.conditional("dynamodb:UpdateItem", update).await? {
            Some(_) => CompletionClaim::Claimed,
            None => CompletionClaim::Refused,
        })
    }

    async fn mark_published(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression("SET published_sequencer = :seq")
            .condition_expression("completed_sequencer = :seq")
            .expression_attribute_values(":seq", s(sequencer.as_str()));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }

    async fn reopen_completion(&self, id: &AssetId, sequencer: &Sequencer) -> Result<(), PortError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression("REMOVE completed_sequencer")
            .condition_expression("completed_sequencer = :seq")
            .expression_attribute_values(":seq", s(sequencer.as_str()));
        self.conditional("dynamodb:UpdateItem", update).await.map(drop)
    }
}

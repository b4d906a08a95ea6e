//! [`ObjectStore`] on S3: ranged reads for sniffing, streamed downloads to temporary files,
//! multipart uploads of large outputs, batched prefix deletes.

use std::ops::Range;
use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, Tag, Tagging};
use futures::StreamExt;
use pipeline::ports::{ListedObject, ObjectInfo, ObjectStore};
use pipeline::time::Timestamp;
use pipeline::{PortError, PortErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::classify::port_error;

/// Files up to this size are uploaded with one `PutObject`; larger ones in parts of this size.
const PART_SIZE: u64 = 16 * 1024 * 1024;

/// S3 as the pipeline's object store.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
}

impl S3ObjectStore {
    /// An object store on `client` (see [`s3_client`](crate::s3_client)).
    pub fn new(client: Client) -> S3ObjectStore {
        S3ObjectStore { client }
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        content_type: &str,
    ) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| port_error("s3:PutObject", e))?;
        Ok(())
    }

    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), PortError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| port_error("s3:CreateMultipartUpload", e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let result = self.send_parts(bucket, key, &upload_id, path).await;
        if result.is_err() {
            let abort = self.client.abort_multipart_upload().bucket(bucket).key(key).upload_id(&upload_id);
            if let Err(error) = abort.send().await {
                tracing::warn!(error = %port_error("s3:AbortMultipartUpload", error), "could not abort an upload");
            }
        }
        result
    }

    async fn send_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        path: &Path,
    ) -> Result<(), PortError> {
        let io_error = |error: std::io::Error| {
            PortError::new("s3:UploadPart", PortErrorKind::LocalIo, error.to_string())
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let mut parts = Vec::new();
        for number in 1.. {
            let mut chunk = Vec::with_capacity(PART_SIZE as usize);
            (&mut file).take(PART_SIZE).read_to_end(&mut chunk).await.map_err(io_error)?;
            if chunk.is_empty() {
                break;
            }
            let part = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(chunk))
                .send()
                .await
                .map_err(|e| port_error("s3:UploadPart", e))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(part.e_tag).build());
        }
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| port_error("s3:CompleteMultipartUpload", e))?;
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(head) => Ok(Some(ObjectInfo {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                etag: head.e_tag,
                version_id: head.version_id,
            })),
            Err(error) => {
                let error = port_error("s3:HeadObject", error);
                if error.is_not_found() { Ok(None) } else { Err(error) }
            }
        }
    }

    async fn get_range(&self, bucket: &str, key: &str, range: Range<u64>) -> Result<Vec<u8>, PortError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let header = format!("bytes={}-{}", range.start, range.end - 1);
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(header)
            .send()
            .await
            .map_err(|e| port_error("s3:GetObject", e))?;
        collect(object.body).await
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PortError> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| port_error("s3:GetObject", e))?;
        collect(object.body).await
    }

    async fn download(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        let io_error =
            |error: std::io::Error| PortError::new("s3:GetObject", PortErrorKind::LocalIo, error.to_string());
        let mut object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| port_error("s3:GetObject", e))?;
        let mut file = tokio::fs::File::create(path).await.map_err(io_error)?;
        let mut written = 0u64;
        while let Some(chunk) = object.body.try_next().await.map_err(|error| {
            PortError::new("s3:GetObject", PortErrorKind::Unavailable, format!("reading the body: {error}"))
        })? {
            file.write_all(&chunk).await.map_err(io_error)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(io_error)?;
        Ok(written)
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        self.put_object(bucket, key, ByteStream::from(body), content_type).await
    }

    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<u64, PortError> {
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|error| PortError::new("s3:PutObject", PortErrorKind::LocalIo, error.to_string()))?
            .len();
        if size > PART_SIZE {
            self.upload_parts(bucket, key, path, content_type).await?;
        } else {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|error| PortError::new("s3:PutObject", PortErrorKind::LocalIo, error.to_string()))?;
            self.put_object(bucket, key, body, content_type).await?;
        }
        Ok(size)
    }

    async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, PortError> {
        let mut deleted = 0;
        let mut pages = self.client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("s3:ListObjectsV2", e))?;
            let objects: Vec<ObjectIdentifier> = page
                .contents()
                .iter()
                .filter_map(|object| ObjectIdentifier::builder().set_key(object.key.clone()).build().ok())
                .collect();
            if objects.is_empty() {
                continue;
            }
            let count = objects.len();
            let delete =
                Delete::builder().set_objects(Some(objects)).quiet(true).build().map_err(|error| {
                    PortError::new("s3:DeleteObjects", PortErrorKind::Rejected, error.to_string())
                })?;
            self.client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| port_error("s3:DeleteObjects", e))?;
            deleted += count;
        }
        Ok(deleted)
    }

    async fn tag_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        name: &str,
        value: &str,
    ) -> Result<usize, PortError> {
        let tagging = Tag::builder()
            .key(name)
            .value(value)
            .build()
            .and_then(|tag| Tagging::builder().tag_set(tag).build())
            .map_err(|error| {
                PortError::new("s3:PutObjectTagging", PortErrorKind::Rejected, error.to_string())
            })?;
        let mut tagged = 0;
        let mut pages = self.client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("s3:ListObjectsV2", e))?;
            let keys: Vec<String> = page.contents().iter().filter_map(|object| object.key.clone()).collect();
            // A long video's HLS segments are hundreds of objects: tag them a few at a time.
            let mut requests = futures::stream::iter(keys)
                .map(|key| {
                    let request =
                        self.client.put_object_tagging().bucket(bucket).key(key).tagging(tagging.clone());
                    async move { request.send().await.map_err(|e| port_error("s3:PutObjectTagging", e)) }
                })
                .buffer_unordered(16);
            while let Some(result) = requests.next().await {
                result?;
                tagged += 1;
            }
        }
        Ok(tagged)
    }

    async fn list(&self, bucket: &str, limit: usize) -> Result<Vec<ListedObject>, PortError> {
        let mut listed = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(bucket).into_paginator().send();
        while listed.len() < limit {
            let Some(page) = pages.next().await else { break };
            let page = page.map_err(|e| port_error("s3:ListObjectsV2", e))?;
            listed.extend(page.contents().iter().filter_map(|object| {
                let modified = object.last_modified()?;
                let millis =
                    modified.secs().max(0) as u64 * 1000 + u64::from(modified.subsec_nanos()) / 1_000_000;
                Some(ListedObject {
                    key: object.key()?.to_owned(),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    etag: object.e_tag().map(str::to_owned),
                    last_modified: Timestamp::from_millis(millis),
                })
            }));
        }
        listed.truncate(limit);
        Ok(listed)
    }
}

async fn collect(body: ByteStream) -> Result<Vec<u8>, PortError> {
    body.collect().await.map(|data| data.into_bytes().to_vec()).map_err(|error| {
        PortError::new("s3:GetObject", PortErrorKind::Unavailable, format!("reading the body: {error}"))
    })
}

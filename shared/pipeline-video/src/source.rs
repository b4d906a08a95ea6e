//! The job's source object as media-video reads it: straight from S3 by ranged GETs, so probing,
//! posters, planning and segment encodes fetch only the bytes they use and nothing is written to
//! `/tmp` (a 5 GB upload needs no 5 GB of ephemeral storage, nor the time to copy it).

use std::io;
use std::sync::Arc;

use media_video::{RangeReader, ReadCacheOptions, VideoSource};
use pipeline::messages::JobMessage;
use pipeline::ports::ObjectStore;
use pipeline::usage::Ledger;
use pipeline::{JobError, PortError, PortErrorKind, Services};
use tokio::runtime::Handle;

/// Ranged GETs of one object, made from media-video's blocking thread on the job's runtime, and
/// counted in the attempt's ledger like its other requests.
struct S3Range {
    objects: Arc<dyn ObjectStore>,
    bucket: String,
    key: String,
    size: u64,
    runtime: Handle,
    ledger: Ledger,
}

impl RangeReader for S3Range {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        let range = offset..offset.saturating_add(length as u64);
        let request = self.objects.get_range(&self.bucket, &self.key, range);
        let bytes = self.runtime.block_on(self.ledger.scope(request)).map_err(io::Error::other)?;
        if bytes.len() != length {
            // The object shrank under us (replaced by a new upload, whose own jobs will run).
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("asked {length} bytes at {offset}, S3 returned {}", bytes.len()),
            ));
        }
        Ok(bytes)
    }
}

/// The source object of `message` as a ranged [`VideoSource`], sized by a `HEAD` (not-found when it
/// is gone). Call it on the job's task (the source captures the runtime and the attempt's ledger)
/// and use the source on a blocking thread.
pub(crate) async fn s3_source(services: &Services, message: &JobMessage) -> Result<VideoSource, JobError> {
    let Some(object) = services.objects.head(&message.bucket, &message.key).await? else {
        return Err(JobError::Port(PortError::new(
            "s3:HeadObject",
            PortErrorKind::NotFound,
            format!("s3://{}/{} does not exist", message.bucket, message.key),
        )));
    };
    let reader = S3Range {
        objects: services.objects.clone(),
        bucket: message.bucket.clone(),
        key: message.key.clone(),
        size: object.size,
        runtime: Handle::current(),
        ledger: Ledger::current().unwrap_or_default(),
    };
    // 8 MiB requests once reading is sequential (a quarter of the cache): a transcode's reads of
    // a large file become one GET per few seconds of video.
    let cache = ReadCacheOptions { block_bytes: 1 << 20, max_bytes: 32 << 20 };
    Ok(VideoSource::ranged_with_cache(format!("s3://{}/{}", message.bucket, message.key), reader, cache))
}

//! Where an input's bytes come from: a local file, which FFmpeg opens itself (the `file` protocol
//! only), or any random-access store behind a [`RangeReader`] (S3 through ranged GETs), which FFmpeg
//! reads through a custom I/O context. A ranged source lets a probe or a poster fetch only the bytes
//! it needs, with nothing written to local disk, whatever the size of the object.
//!
//! Ranged reads go through a small block cache, because FFmpeg reads in pieces of a few kilobytes
//! and seeks back and forth inside headers, and each piece fetched on its own would cost a round
//! trip. Requests are aligned blocks (1 MiB by default); a read that continues a cached stretch
//! fetches twice that stretch in one request (up to a quarter of the cache), so decoding a whole
//! file costs a few large requests rather than thousands of small ones; and the cache never holds
//! more than its cap (8 MiB by default), so memory does not grow with the input.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::VideoError;

/// Random-access reads of one immutable object: what a [`VideoSource`] needs from a store that is
/// not the local file system (S3 through ranged GETs, a blob in memory).
///
/// The methods block: media-video runs FFmpeg synchronously, so callers run it on a blocking thread
/// and an async store's implementation waits for its request there (`Handle::block_on`). A failed
/// read becomes the retryable `io-error` of whatever entry point was running.
pub trait RangeReader: Send + Sync {
    /// The object's size in bytes. Called once, when the [`VideoSource`] is made.
    fn size(&self) -> u64;

    /// Exactly `length` bytes starting at `offset`. media-video only asks for ranges within
    /// [`size`](RangeReader::size); fewer bytes than asked is treated as a failed read (the object
    /// changed or the store misbehaved), not as the end of the data.
    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>>;
}

impl<R: RangeReader + ?Sized> RangeReader for Arc<R> {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        (**self).read_at(offset, length)
    }
}

/// How a ranged [`VideoSource`] caches what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCacheOptions {
    /// The smallest request, and the alignment of every request, in bytes. Large enough that
    /// FFmpeg's small reads of a header cost one request, small enough that a seek to read a few
    /// bytes does not fetch much it will not use.
    pub block_bytes: usize,
    /// The most bytes the cache holds at once (at least one block). Sequential read-ahead fetches at
    /// most a quarter of this per request, so two streams read from two places in the file (badly
    /// interleaved audio and video) do not evict each other.
    pub max_bytes: usize,
}

impl Default for ReadCacheOptions {
    /// 1 MiB blocks, at most 8 MiB cached.
    fn default() -> Self {
        ReadCacheOptions { block_bytes: 1 << 20, max_bytes: 8 << 20 }
    }
}

/// How much a ranged [`VideoSource`] has read from its [`RangeReader`] so far, over every entry
/// point it was passed to (clones of a source share their counts and their cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceStats {
    /// Bytes the reader returned.
    pub bytes_read: u64,
    /// Calls to [`RangeReader::read_at`] (ranged requests), failed ones included.
    pub requests: u64,
}

/// The input of an entry point ([`probe`](crate::probe()), [`extract_poster`](crate::extract_poster),
/// [`extract_stills`](crate::extract_stills), [`transcode`](crate::transcode())): a local file, or a
/// [`RangeReader`] with a name for errors and logs.
///
/// Entry points take `impl Into<VideoSource>`, so a `&Path` or `PathBuf` still works. A ranged
/// source is cheap to clone and its clones share one cache and one set of [`stats`](Self::stats):
/// pass `&source` to each entry point in turn to probe, make the poster and transcode with the
/// header blocks fetched once. Entry points running at the same time on clones of one source take
/// turns for its requests and share its failures (a failed read fails both); give each its own
/// source to read in parallel.
///
/// ```no_run
/// # fn main() -> Result<(), media_video::VideoError> {
/// use media_video::{RangeReader, VideoLimits, VideoSource};
///
/// /// An object held in memory; an S3 reader would send a ranged GET instead.
/// struct InMemory(Vec<u8>);
///
/// impl RangeReader for InMemory {
///     fn size(&self) -> u64 {
///         self.0.len() as u64
///     }
///     fn read_at(&self, offset: u64, length: usize) -> std::io::Result<Vec<u8>> {
///         Ok(self.0[offset as usize..][..length].to_vec())
///     }
/// }
///
/// let source = VideoSource::ranged("memory://clip.mp4", InMemory(Vec::new()));
/// let probe = media_video::probe(&source, &VideoLimits::default())?;
/// let poster = media_video::extract_poster(&source, &probe, &media_core::ThumbnailOptions::default())?;
/// println!("{:?} for a poster of {}x{}", source.stats(), poster.width, poster.height);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct VideoSource {
    origin: Origin,
}

/// What a [`VideoSource`] reads from.
#[derive(Clone)]
pub(crate) enum Origin {
    /// A local file, opened by FFmpeg's `file` protocol.
    File(PathBuf),
    /// A random-access reader, read by FFmpeg through a custom I/O context.
    Ranged(Arc<RangedSource>),
}

impl VideoSource {
    /// The local file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        VideoSource { origin: Origin::File(path.into()) }
    }

    /// The object behind `reader`, with the default cache. `name` identifies it in errors and logs
    /// (`s3://bucket/key.mp4`); its extension, like a file's, helps FFmpeg recognise formats whose
    /// content alone is ambiguous. No protocol is ever opened from it.
    pub fn ranged(name: impl Into<String>, reader: impl RangeReader + 'static) -> Self {
        Self::ranged_with_cache(name, reader, ReadCacheOptions::default())
    }

    /// Like [`ranged`](Self::ranged), with a cache sized by `cache`.
    pub fn ranged_with_cache(
        name: impl Into<String>,
        reader: impl RangeReader + 'static,
        cache: ReadCacheOptions,
    ) -> Self {
        let size = reader.size();
        VideoSource {
            origin: Origin::Ranged(Arc::new(RangedSource {
                name: name.into(),
                size,
                reader: Box::new(reader),
                cache: Mutex::new(BlockCache::new(cache)),
                bytes_read: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                last_failure: Mutex::new(None),
            })),
        }
    }

    /// The file's path, or the ranged source's name.
    pub fn name(&self) -> Cow<'_, str> {
        match &self.origin {
            Origin::File(path) => path.to_string_lossy(),
            Origin::Ranged(ranged) => Cow::Borrowed(&ranged.name),
        }
    }

    /// The local file's path; `None` for a ranged source.
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::File(path) => Some(path),
            Origin::Ranged(_) => None,
        }
    }

    /// What a ranged source has read so far; `None` for a local file, which FFmpeg reads itself.
    pub fn stats(&self) -> Option<SourceStats> {
        match &self.origin {
            Origin::File(_) => None,
            Origin::Ranged(ranged) => Some(ranged.stats()),
        }
    }

    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// An [`Io`](VideoError::Io) error naming this source.
    pub(crate) fn io_error(&self, error: io::Error) -> VideoError {
        match &self.origin {
            Origin::File(path) => VideoError::io(path, error),
            Origin::Ranged(ranged) => VideoError::io(&ranged.name, error),
        }
    }

    /// Random access to the bytes outside FFmpeg: the sniff of the first bytes, the walk over ISO
    /// boxes, the check of the last byte.
    pub(crate) fn access(&self) -> io::Result<ByteAccess<'_>> {
        Ok(match &self.origin {
            Origin::File(path) => {
                let file = File::open(path)?;
                let length = file.metadata()?.len();
                ByteAccess::File { file, length }
            }
            Origin::Ranged(ranged) => ByteAccess::Ranged { source: ranged, uncached_reads: 0 },
        })
    }

    /// Runs one entry point's `work` and, for a ranged source, turns its result into an `io-error`
    /// when the reader failed meanwhile. FFmpeg does not always pass a read error on: a demuxer may
    /// take it for the end of the data and report a truncated file, or a probe may succeed on what
    /// it read before; either would make a passing network error look like a permanent fault of the
    /// input.
    pub(crate) fn failed_reads_are_io_errors<T>(
        &self,
        work: impl FnOnce(&VideoSource) -> Result<T, VideoError>,
    ) -> Result<T, VideoError> {
        let Origin::Ranged(ranged) = &self.origin else {
            return work(self);
        };
        let failures_before = ranged.failures.load(Ordering::Acquire);
        let result = work(self);
        let stats = ranged.stats();
        tracing::debug!(
            source = %ranged.name,
            bytes_read = stats.bytes_read,
            requests = stats.requests,
            "ranged source read"
        );
        if ranged.failures.load(Ordering::Acquire) != failures_before {
            return Err(VideoError::io(&ranged.name, ranged.take_failure()));
        }
        result
    }
}

impl fmt::Debug for VideoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::File(path) => f.debug_tuple("VideoSource::File").field(path).finish(),
            Origin::Ranged(ranged) => f
                .debug_struct("VideoSource::Ranged")
                .field("name", &ranged.name)
                .field("size", &ranged.size)
                .field("stats", &ranged.stats())
                .finish(),
        }
    }
}

impl From<&Path> for VideoSource {
    fn from(path: &Path) -> Self {
        VideoSource::file(path)
    }
}

impl From<PathBuf> for VideoSource {
    fn from(path: PathBuf) -> Self {
        VideoSource::file(path)
    }
}

impl From<&PathBuf> for VideoSource {
    fn from(path: &PathBuf) -> Self {
        VideoSource::file(path)
    }
}

impl From<&VideoSource> for VideoSource {
    /// A clone sharing the cache and the counts.
    fn from(source: &VideoSource) -> Self {
        source.clone()
    }
}

/// A [`RangeReader`] with its cache and counters, shared by every FFmpeg context opened on it.
pub(crate) struct RangedSource {
    name: String,
    size: u64,
    reader: Box<dyn RangeReader>,
    cache: Mutex<BlockCache>,
    bytes_read: AtomicU64,
    requests: AtomicU64,
    /// Failed reads so far, so an entry point can tell whether one failed while it ran.
    failures: AtomicU64,
    /// The reader's last error, reported by the entry point that saw it.
    last_failure: Mutex<Option<io::Error>>,
}

impl RangedSource {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn stats(&self) -> SourceStats {
        SourceStats {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    /// One request to the reader, exactly `length` bytes at `offset`, counted. A panic in the reader
    /// is caught here: this runs inside FFmpeg's read callback, which must not unwind.
    fn fetch(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = catch_unwind(AssertUnwindSafe(|| self.reader.read_at(offset, length)))
            .unwrap_or_else(|_| Err(io::Error::other("the range reader panicked")));
        match result {
            Ok(mut data) if data.len() >= length => {
                data.truncate(length);
                data.shrink_to_fit();
                self.bytes_read.fetch_add(length as u64, Ordering::Relaxed);
                Ok(data)
            }
            Ok(data) => {
                self.bytes_read.fetch_add(data.len() as u64, Ordering::Relaxed);
                Err(self.record_failure(io::Error::other(format!(
                    "the range reader returned {} of the {length} bytes at offset {offset} of {}",
                    data.len(),
                    self.size
                ))))
            }
            Err(error) => Err(self.record_failure(error)),
        }
    }

    /// Remembers `error` for the running entry point and returns what FFmpeg gets instead: a plain
    /// error without an OS code, which ffmpeg-next hands to FFmpeg as `AVERROR(EIO)`. (An OS code
    /// or `UnexpectedEof` would come out as another error number, or as the end of the data.)
    fn record_failure(&self, error: io::Error) -> io::Error {
        let for_ffmpeg = io::Error::other(error.to_string());
        *lock_ignoring_poison(&self.last_failure) = Some(error);
        self.failures.fetch_add(1, Ordering::AcqRel);
        for_ffmpeg
    }

    fn take_failure(&self) -> io::Error {
        lock_ignoring_poison(&self.last_failure)
            .take()
            .unwrap_or_else(|| io::Error::other("a read of the input failed"))
    }

    fn cache(&self) -> MutexGuard<'_, BlockCache> {
        match self.cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => {
                // A panic (caught) left the cache half updated: start it again empty.
                self.cache.clear_poison();
                let mut cache = poisoned.into_inner();
                cache.clear();
                cache
            }
        }
    }

    /// Up to `buffer.len()` bytes at `offset`, through the cache (fewer at the end of a cached
    /// stretch; 0 only at the end of the object).
    fn read_cached(&self, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        self.cache().read(offset, buffer, self.size, |start, length| self.fetch(start, length))
    }

    /// Exactly the bytes of `buffer` at `offset` (fewer only past the end of the object): from the
    /// cache when it holds them all, else in one request of just that range.
    fn read_small(&self, offset: u64, buffer: &mut [u8]) -> io::Result<(usize, bool)> {
        let length = buffer.len().min(self.size.saturating_sub(offset) as usize);
        if length == 0 {
            return Ok((0, false));
        }
        if self.cache().copy_cached(offset, &mut buffer[..length]) == Some(length) {
            return Ok((length, false));
        }
        let data = self.fetch(offset, length)?;
        buffer[..length].copy_from_slice(&data);
        Ok((length, true))
    }
}

/// A `Read + Seek` view of a [`RangedSource`], one per FFmpeg context, handed to ffmpeg-next's
/// `StreamIo`: it owns the `AVIOContext`, its buffer and this cursor, and frees them once the format
/// context is closed (`avformat_close_input` leaves a custom `pb` alone).
pub(crate) struct RangedCursor {
    source: Arc<RangedSource>,
    position: u64,
}

impl RangedCursor {
    pub(crate) fn new(source: &Arc<RangedSource>) -> Self {
        RangedCursor { source: Arc::clone(source), position: 0 }
    }
}

impl Read for RangedCursor {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let source = &self.source;
        let position = self.position;
        // FFmpeg's read callback calls this: nothing may unwind out of it.
        let read = catch_unwind(AssertUnwindSafe(|| source.read_cached(position, buffer)))
            .unwrap_or_else(|_| Err(source.record_failure(io::Error::other("reading the input panicked"))))?;
        self.position = position.saturating_add(read as u64);
        Ok(read)
    }
}

impl Seek for RangedCursor {
    /// Any position at or after 0 (reads past the end give 0 bytes); `SeekFrom::End` counts from the
    /// reader's size, which is how ffmpeg-next answers FFmpeg's `AVSEEK_SIZE`.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => self.source.size.checked_add_signed(delta),
        };
        match target.filter(|&target| i64::try_from(target).is_ok()) {
            Some(target) => {
                self.position = target;
                Ok(target)
            }
            // An OS code, so FFmpeg sees AVERROR(EINVAL) for a bad seek rather than an I/O error.
            None => Err(io::Error::from_raw_os_error(ffmpeg_next::util::error::EINVAL)),
        }
    }
}

/// Random access to an input's bytes outside FFmpeg (see [`VideoSource::access`]).
pub(crate) enum ByteAccess<'a> {
    File { file: File, length: u64 },
    Ranged { source: &'a RangedSource, uncached_reads: u32 },
}

impl ByteAccess<'_> {
    /// The input's size in bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            ByteAccess::File { length, .. } => *length,
            ByteAccess::Ranged { source, .. } => source.size,
        }
    }

    /// Fills `buffer` from `offset`, short only at the end of the input. Ranged reads go through the
    /// cache: for bytes FFmpeg reads too (the first block, the last).
    pub(crate) fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buffer.len() {
            let position = offset.saturating_add(filled as u64);
            let read = match self {
                ByteAccess::File { file, .. } => {
                    file.seek(SeekFrom::Start(position))?;
                    file.read(&mut buffer[filled..])?
                }
                ByteAccess::Ranged { source, .. } => source.read_cached(position, &mut buffer[filled..])?,
            };
            if read == 0 {
                break;
            }
            filled += read;
        }
        Ok(filled)
    }

    /// Like [`read_at`](Self::read_at), for a few bytes FFmpeg may never read (an ISO box header deep
    /// in the file): a ranged source serves them from the cache when it can, else fetches exactly
    /// them, so walking over many boxes does not fetch a block per box.
    pub(crate) fn read_small_at(&mut self, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            ByteAccess::File { .. } => self.read_at(offset, buffer),
            ByteAccess::Ranged { source, uncached_reads } => {
                let (read, fetched) = source.read_small(offset, buffer)?;
                *uncached_reads += u32::from(fetched);
                Ok(read)
            }
        }
    }

    /// Requests [`read_small_at`](Self::read_small_at) could not serve from the cache (0 for files):
    /// what a caller bounds to keep a walk cheap on a remote store.
    pub(crate) fn uncached_reads(&self) -> u32 {
        match self {
            ByteAccess::File { .. } => 0,
            ByteAccess::Ranged { uncached_reads, .. } => *uncached_reads,
        }
    }
}

/// The block cache of a ranged source: stretches of the object, each starting on a block boundary,
/// least recently used first, at most `max_bytes` in all.
pub(crate) struct BlockCache {
    block_bytes: u64,
    max_bytes: usize,
    /// The most one request fetches: sequential read-ahead stops growing here.
    max_request_bytes: u64,
    stretches: VecDeque<Stretch>,
    cached_bytes: usize,
}

/// Bytes `start..start + data.len()` of the object.
struct Stretch {
    start: u64,
    data: Vec<u8>,
}

impl Stretch {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }

    fn holds(&self, offset: u64) -> bool {
        self.start <= offset && offset < self.end()
    }
}

impl BlockCache {
    pub(crate) fn new(options: ReadCacheOptions) -> Self {
        let block_bytes = options.block_bytes.max(1);
        let max_bytes = options.max_bytes.max(block_bytes);
        let quarter_in_blocks = (max_bytes / 4 / block_bytes).max(1);
        BlockCache {
            block_bytes: block_bytes as u64,
            max_bytes,
            max_request_bytes: (quarter_in_blocks * block_bytes) as u64,
            stretches: VecDeque::new(),
            cached_bytes: 0,
        }
    }

    /// Bytes held now; never more than the cap.
    #[cfg(test)]
    pub(crate) fn cached_bytes(&self) -> usize {
        self.cached_bytes
    }

    fn clear(&mut self) {
        self.stretches.clear();
        self.cached_bytes = 0;
    }

    /// Copies into `buffer` what the cache holds from `offset` on (up to the end of that stretch),
    /// marking the stretch as recently used; `None` when `offset` is not cached.
    pub(crate) fn copy_cached(&mut self, offset: u64, buffer: &mut [u8]) -> Option<usize> {
        let index = self.stretches.iter().position(|stretch| stretch.holds(offset))?;
        let stretch = self.stretches.remove(index)?;
        let from = (offset - stretch.start) as usize;
        let copied = buffer.len().min(stretch.data.len() - from);
        buffer[..copied].copy_from_slice(&stretch.data[from..from + copied]);
        self.stretches.push_back(stretch);
        Some(copied)
    }

    /// Copies into `buffer` the bytes at `offset` of an object of `size` bytes, first fetching the
    /// missing block with `fetch(start, length)` when they are not cached. Returns the bytes copied:
    /// fewer than asked at the end of a stretch, 0 only at or past `size`.
    pub(crate) fn read(
        &mut self,
        offset: u64,
        buffer: &mut [u8],
        size: u64,
        fetch: impl FnOnce(u64, usize) -> io::Result<Vec<u8>>,
    ) -> io::Result<usize> {
        if buffer.is_empty() || offset >= size {
            return Ok(0);
        }
        if let Some(copied) = self.copy_cached(offset, buffer) {
            return Ok(copied);
        }
        let start = offset / self.block_bytes * self.block_bytes;
        // Reading on from the end of a cached stretch is sequential: fetch twice as much as that
        // stretch held, so a long read costs a logarithmic number of small requests to ramp up.
        let wanted = self
            .stretches
            .iter()
            .find(|stretch| stretch.end() == start)
            .map_or(self.block_bytes, |previous| previous.data.len() as u64 * 2)
            .clamp(self.block_bytes, self.max_request_bytes);
        // Stop where cached bytes begin, so no byte is fetched (or held) twice.
        let next_cached = self
            .stretches
            .iter()
            .map(|stretch| stretch.start)
            .filter(|&cached_start| cached_start > start)
            .min()
            .unwrap_or(u64::MAX);
        let length = wanted.min(size - start).min(next_cached - start) as usize;
        // Make room first, so the cache and the incoming block together stay within the cap.
        while self.cached_bytes + length > self.max_bytes {
            let Some(evicted) = self.stretches.pop_front() else { break };
            self.cached_bytes -= evicted.data.len();
        }
        let data = fetch(start, length)?;
        if data.len() != length {
            return Err(io::Error::other(format!("{} bytes fetched instead of {length}", data.len())));
        }
        self.cached_bytes += data.len();
        self.stretches.push_back(Stretch { start, data });
        Ok(self.copy_cached(offset, buffer).unwrap_or(0))
    }
}

/// Locks `mutex`, taking the value even when a caught panic poisoned it (the values guarded this
/// way are replaced whole, never left half-written).
fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use media_core::ErrorCode;

    use super::*;
    use proptest::prelude::*;

    /// The byte at `offset` of the test object: varies, so a misplaced copy shows.
    fn byte_at(offset: u64) -> u8 {
        (offset % 251) as u8
    }

    fn object(offset: u64, length: usize) -> Vec<u8> {
        (offset..offset + length as u64).map(byte_at).collect()
    }

    struct Generated {
        size: u64,
    }

    impl RangeReader for Generated {
        fn size(&self) -> u64 {
            self.size
        }

        fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
            assert!(offset + length as u64 <= self.size, "read past the end");
            Ok(object(offset, length))
        }
    }

    fn small_cache() -> ReadCacheOptions {
        ReadCacheOptions { block_bytes: 1000, max_bytes: 8000 }
    }

    fn ranged(source: &VideoSource) -> &Arc<RangedSource> {
        match source.origin() {
            Origin::Ranged(ranged) => ranged,
            Origin::File(_) => unreachable!("a ranged source"),
        }
    }

    proptest! {
        #[test]
        fn the_cache_stays_within_its_cap_and_returns_the_right_bytes(
            reads in proptest::collection::vec((0u64..120_000, 1usize..5_000), 1..200),
        ) {
            let size = 100_000;
            let mut cache = BlockCache::new(small_cache());
            for (offset, length) in reads {
                let mut buffer = vec![0u8; length];
                let read = cache
                    .read(offset, &mut buffer, size, |start, length| {
                        assert_eq!(start % 1000, 0, "aligned");
                        assert!(start + length as u64 <= size, "within the object");
                        Ok(object(start, length))
                    })
                    .map_err(|error| TestCaseError::fail(error.to_string()))?;
                prop_assert!(cache.cached_bytes() <= 8000, "{} bytes cached", cache.cached_bytes());
                if offset >= size {
                    prop_assert_eq!(read, 0);
                } else {
                    prop_assert!(read > 0);
                    prop_assert_eq!(&buffer[..read], &object(offset, read)[..]);
                }
            }
        }
    }

    #[test]
    fn small_reads_cost_one_request_per_block_and_sequential_reads_ramp_up() {
        let source = VideoSource::ranged_with_cache("generated", Generated { size: 100_000 }, small_cache());
        let ranged = ranged(&source);
        let mut buffer = [0u8; 100];
        for offset in (0..1000).step_by(100) {
            ranged.read_cached(offset, &mut buffer).expect("reads");
        }
        assert_eq!(source.stats(), Some(SourceStats { bytes_read: 1000, requests: 1 }));
        // Reading on: 2000 bytes, then the cap of a quarter of the cache, 2000 again.
        for offset in (1000..7000).step_by(100) {
            ranged.read_cached(offset, &mut buffer).expect("reads");
        }
        assert_eq!(source.stats(), Some(SourceStats { bytes_read: 7000, requests: 4 }));
        // A jump back into cached bytes costs nothing; a jump elsewhere one block.
        ranged.read_cached(500, &mut buffer).expect("reads");
        ranged.read_cached(50_050, &mut buffer).expect("reads");
        assert_eq!(buffer[0], byte_at(50_050));
        assert_eq!(source.stats(), Some(SourceStats { bytes_read: 8000, requests: 5 }));
    }

    #[test]
    fn a_source_can_move_to_a_blocking_thread() {
        fn send_sync_static<T: Send + Sync + 'static>() {}
        send_sync_static::<VideoSource>();
        send_sync_static::<RangedCursor>();
    }

    #[test]
    fn a_cursor_seeks_like_a_file_and_reads_nothing_past_the_end() {
        let source = VideoSource::ranged("generated", Generated { size: 2500 });
        let mut cursor = RangedCursor::new(ranged(&source));
        assert_eq!(cursor.seek(SeekFrom::End(0)).expect("seeks"), 2500);
        assert_eq!(cursor.read(&mut [0u8; 10]).expect("reads"), 0);
        assert_eq!(cursor.seek(SeekFrom::End(-10)).expect("seeks"), 2490);
        let mut tail = Vec::new();
        cursor.read_to_end(&mut tail).expect("reads");
        assert_eq!(tail, object(2490, 10));
        assert_eq!(cursor.seek(SeekFrom::Current(-2500)).expect("seeks"), 0);
        assert!(cursor.seek(SeekFrom::Current(-1)).is_err());
        assert_eq!(cursor.seek(SeekFrom::Start(5000)).expect("seeks"), 5000);
        assert_eq!(cursor.read(&mut [0u8; 10]).expect("reads"), 0);
    }

    struct Failing;

    impl RangeReader for Failing {
        fn size(&self) -> u64 {
            10_000
        }

        fn read_at(&self, _offset: u64, length: usize) -> io::Result<Vec<u8>> {
            if length == 3 {
                panic!("a bug in the reader");
            }
            Err(io::Error::from(io::ErrorKind::ConnectionReset))
        }
    }

    #[test]
    fn failed_and_panicking_reads_are_recorded_and_reach_ffmpeg_as_plain_errors() {
        let source = VideoSource::ranged("failing", Failing);
        let error = ranged(&source).read_cached(0, &mut [0u8; 10]).expect_err("fails");
        assert_eq!((error.kind(), error.raw_os_error()), (io::ErrorKind::Other, None));
        let outcome = source.failed_reads_are_io_errors(|source| {
            let mut access = source.access().map_err(|error| source.io_error(error))?;
            access.read_small_at(0, &mut [0u8; 3]).map_err(|error| source.io_error(error))
        });
        let error = outcome.expect_err("the panic is an error");
        assert_eq!((error.code(), error.is_retryable()), (ErrorCode::IO_ERROR, true));
        assert_eq!(source.stats(), Some(SourceStats { bytes_read: 0, requests: 2 }));
    }

    #[test]
    fn a_short_read_is_a_failure_not_the_end_of_the_data() {
        struct Short;
        impl RangeReader for Short {
            fn size(&self) -> u64 {
                5000
            }
            fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
                Ok(object(offset, length / 2))
            }
        }
        let source = VideoSource::ranged("short", Short);
        let outcome = source.failed_reads_are_io_errors(|source| {
            let mut access = source.access().map_err(|error| source.io_error(error))?;
            let mut buffer = [0u8; 10];
            Ok(access.read_at(0, &mut buffer).unwrap_or(0))
        });
        assert_eq!(outcome.map_err(|error| error.code()), Err(ErrorCode::IO_ERROR));
    }
}

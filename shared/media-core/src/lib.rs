//! The pure image core of mediaflow: sniffing, limits, decoding, thumbnails and metadata.
//!
//! No I/O beyond the bytes it is given, no async, no AWS: the Lambda functions, the workers and the
//! `mediaflow` command all call [`ImageDecoders::process_image`], which decodes an image once (JPEGs at the
//! smallest DCT scale that serves the largest thumbnail, or a camera's embedded preview instead where
//! that is safe: [`EmbeddedPreviews`]) and returns every thumbnail and the [`ImageMetadata`].
//! Untrusted input is checked against [`Limits`] from its header before anything large is allocated,
//! and every failure is a typed [`MediaError`] with a stable code.

mod codes;
mod decode;
mod edit_history;
mod encode;
mod error;
mod exif_fields;
mod format;
pub mod geometry;
mod header;
pub mod jpeg_dc;
pub mod jpeg_segments;
mod limits;
mod linked;
mod metadata;
mod mpf;
mod preview;
mod process;
mod resize;
mod thumbnail;
mod tiff_direct;

pub use codes::ErrorCode;
pub use encode::{OutputFormat, encode};
pub use error::MediaError;
pub use exif_fields::{ExifSummary, GpsPosition};
pub use format::{MediaFormat, MediaKind, SNIFF_LEN, sniff};
pub use header::{ColorModel, ImageHeader, read_header};
pub use limits::{LimitKind, Limits};
pub use linked::{ImageDecoders, LinkedDecoder, LinkedImage};
pub use metadata::{ImageMetadata, sha256_hex};
pub use preview::{EmbeddedPreviews, ThumbnailSource};
pub use process::{ProcessedImage, inspect_image, process_image, read_metadata};
pub use resize::resize;
pub use thumbnail::{Thumbnail, ThumbnailOptions, thumbnails_from_rgba};

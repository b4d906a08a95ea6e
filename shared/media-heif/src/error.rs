//! libheif's errors as the core's coded errors.

use libheif_rs::{HeifError, HeifErrorCode, HeifErrorSubCode};
use media_core::{LimitKind, Limits, MediaError, MediaFormat};

/// Maps a libheif error on an input of `format`, read under `limits`, to the core's error (and so
/// to its stable code).
pub(crate) fn heif_error(format: MediaFormat, limits: &Limits, error: HeifError) -> MediaError {
    let reason = error.message;
    match (error.code, error.sub_code) {
        (_, HeifErrorSubCode::EndOfData) => MediaError::TruncatedInput { format, reason },
        // libheif's memory budget is ours (`Limits::max_decoder_alloc`), see `open`.
        (_, HeifErrorSubCode::SecurityLimitExceeded) | (HeifErrorCode::MemoryAllocationError, _) => {
            MediaError::TooLarge {
                kind: LimitKind::Allocation,
                actual: None,
                limit: limits.max_decoder_alloc(),
            }
        }
        // A codec this build leaves out (JPEG- or JPEG 2000-coded HEIF, uncompressed, VVC, ...).
        (HeifErrorCode::UnsupportedFeature | HeifErrorCode::UnsupportedFileType, _) => {
            MediaError::UnsupportedFormat { format: Some(format), reason }
        }
        _ => MediaError::CorruptInput { format, reason },
    }
}

//! Limits on untrusted input, checked from headers before anything large is allocated.

use std::fmt;

/// Which limit an input broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    /// Size of the input in bytes.
    InputBytes,
    /// Width in pixels.
    Width,
    /// Height in pixels.
    Height,
    /// Width × height.
    PixelArea,
    /// Number of animation frames.
    Frames,
    /// Memory a decoder asked for.
    Allocation,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::InputBytes => "input size in bytes",
            LimitKind::Width => "width",
            LimitKind::Height => "height",
            LimitKind::PixelArea => "pixel area",
            LimitKind::Frames => "frame count",
            LimitKind::Allocation => "decoder allocation",
        })
    }
}

/// Hard caps on what the core accepts. Defaults suit a 1–3 GB Lambda: 100 MP, 256 MiB of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: u64,
    /// Largest width, in pixels.
    pub max_width: u32,
    /// Largest height, in pixels.
    pub max_height: u32,
    /// Largest width × height.
    pub max_pixels: u64,
    /// Most animation frames (counted without decoding them).
    pub max_frames: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 256 * 1024 * 1024,
            max_width: 30_000,
            max_height: 30_000,
            max_pixels: 100_000_000,
            max_frames: 10_000,
        }
    }
}

impl Limits {
    /// Checks the input size.
    pub fn check_input_bytes(&self, len: u64) -> Result<(), crate::MediaError> {
        check(LimitKind::InputBytes, len, self.max_input_bytes)
    }

    /// Checks dimensions read from a header.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), crate::MediaError> {
        check(LimitKind::Width, width.into(), self.max_width.into())?;
        check(LimitKind::Height, height.into(), self.max_height.into())?;
        check(LimitKind::PixelArea, u64::from(width) * u64::from(height), self.max_pixels)
    }

    /// Checks a frame count.
    pub fn check_frames(&self, frames: u32) -> Result<(), crate::MediaError> {
        check(LimitKind::Frames, frames.into(), self.max_frames.into())
    }

    /// The most memory one decoded frame may take: the pixel limit at 8 bytes a pixel (RGBA16),
    /// handed to decoders as a second line of defence.
    pub fn max_decoder_alloc(&self) -> u64 {
        self.max_pixels.saturating_mul(8)
    }
}

fn check(kind: LimitKind, actual: u64, limit: u64) -> Result<(), crate::MediaError> {
    if actual > limit {
        Err(crate::MediaError::TooLarge { kind, actual: Some(actual), limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaError;

    #[test]
    fn dimensions_over_any_limit_are_too_large() {
        let limits = Limits::default();
        assert!(limits.check_dimensions(10_000, 10_000).is_ok());
        let err = limits.check_dimensions(10_001, 10_000).expect_err("over 100 MP");
        assert!(matches!(err, MediaError::TooLarge { kind: LimitKind::PixelArea, .. }));
        let err = limits.check_dimensions(30_001, 1).expect_err("too wide");
        assert!(matches!(err, MediaError::TooLarge { kind: LimitKind::Width, .. }));
        assert_eq!(err.code(), crate::ErrorCode::TOO_LARGE);
        assert!(limits.check_frames(10_001).is_err());
        assert!(limits.check_input_bytes(256 * 1024 * 1024 + 1).is_err());
    }
}

//! Hard caps on untrusted videos, checked from the probe before anything is decoded.

use crate::error::{VideoError, VideoLimitKind};
use crate::probe::Probe;

/// Limits on what media-video accepts. Defaults suit the pipeline's workers: up to 3 hours, 8K,
/// 10 GiB and 32 streams. Durations a container does not declare are enforced while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoLimits {
    /// Largest input file, in bytes.
    pub max_input_bytes: u64,
    /// Longest duration, in seconds.
    pub max_duration_seconds: u64,
    /// Widest video stream, in stored pixels.
    pub max_width: u32,
    /// Tallest video stream, in stored pixels.
    pub max_height: u32,
    /// Most streams of any kind in the container.
    pub max_streams: u32,
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_input_bytes: 10 * 1024 * 1024 * 1024,
            max_duration_seconds: 3 * 60 * 60,
            max_width: 8192,
            max_height: 8192,
            max_streams: 32,
        }
    }
}

impl VideoLimits {
    /// Checks the input's size before FFmpeg opens it.
    pub fn check_input_bytes(&self, bytes: u64) -> Result<(), VideoError> {
        check(VideoLimitKind::InputBytes, bytes, self.max_input_bytes)
    }

    /// Checks a probe's duration, stream count and every video stream's dimensions.
    pub fn check_probe(&self, probe: &Probe) -> Result<(), VideoError> {
        self.check_input_bytes(probe.bytes)?;
        if let Some(duration) = probe.duration_seconds {
            self.check_duration(duration)?;
        }
        check(VideoLimitKind::Streams, u64::from(probe.stream_count), u64::from(self.max_streams))?;
        for video in &probe.video {
            check(VideoLimitKind::Width, video.width.into(), self.max_width.into())?;
            check(VideoLimitKind::Height, video.height.into(), self.max_height.into())?;
        }
        Ok(())
    }

    /// Checks a duration in seconds (from a header, or the timestamps reached while decoding).
    pub fn check_duration(&self, seconds: f64) -> Result<(), VideoError> {
        let whole_seconds = if seconds.is_finite() && seconds > 0.0 { seconds.ceil() as u64 } else { 0 };
        check(VideoLimitKind::DurationSeconds, whole_seconds, self.max_duration_seconds)
    }
}

fn check(kind: VideoLimitKind, actual: u64, limit: u64) -> Result<(), VideoError> {
    if actual > limit { Err(VideoError::TooLarge { kind, actual, limit }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_rounded_up_before_comparing() {
        let limits = VideoLimits { max_duration_seconds: 60, ..VideoLimits::default() };
        assert!(limits.check_duration(60.0).is_ok());
        let error = limits.check_duration(60.01).expect_err("fails");
        assert!(matches!(
            error,
            VideoError::TooLarge { kind: VideoLimitKind::DurationSeconds, actual: 61, limit: 60 }
        ));
        assert!(limits.check_duration(f64::NAN).is_ok());
    }
}

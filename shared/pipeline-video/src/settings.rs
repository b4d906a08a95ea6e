//! The video settings and the environment variables they are read from.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `MEDIAFLOW_RENDITIONS` | `1080,720,480` | rendition heights (short edge) |
//! | `MEDIAFLOW_HLS` | `true` | whether to package HLS |
//! | `MEDIAFLOW_X264_PRESET` | `veryfast` | the x264 preset |
//! | `MEDIAFLOW_TRANSCODE_PIXELS_PER_SECOND` | `25000000` | the Lambda deadline estimate |
//! | `MEDIAFLOW_SEGMENT_SECONDS` | `30` | target length of a segment of a split transcode (at least 4) |
//! | `MEDIAFLOW_SPLIT_ABOVE_SECONDS` | `120` | videos longer than this are split into segments |
//! | `MEDIAFLOW_VIDEO_CHECKSUM_MAX_BYTES` | `268435456` | videos up to this size get a SHA-256 |

use media_video::{Rung, VideoLimits, X264Preset};
use pipeline::config::{ConfigError, parse_bool, parse_list, parse_number};

/// How videos are transcoded, with defaults that suit Lambda.
#[derive(Debug, Clone)]
pub struct VideoSettings {
    /// Limits checked from the headers before decoding (bytes, duration, pixels, streams).
    pub limits: VideoLimits,
    /// Rendition ladder.
    pub ladder: Vec<Rung>,
    /// x264 preset.
    pub preset: X264Preset,
    /// Whether to package HLS next to the MP4 renditions.
    pub hls: bool,
    /// Measured transcode speed: output pixels (summed over renditions) encoded per second. A clip
    /// whose estimate does not fit in the remaining Lambda time goes to the long-job queue.
    pub transcode_pixels_per_second: f64,
    /// Target length of a segment, in seconds, when a transcode is split across functions
    /// (segments start at the source's keyframes, so they come out about this long).
    pub segment_seconds: f64,
    /// Videos longer than this (seconds) are transcoded in segments by many functions at once;
    /// shorter ones, whose whole transcode fits comfortably in one invocation, in one process.
    pub split_above_seconds: f64,
    /// The largest video whose SHA-256 the metadata job computes (streamed from S3, never stored):
    /// reading every byte of a larger one would cost more than its probe, which reads a few.
    pub checksum_max_bytes: u64,
}

impl Default for VideoSettings {
    fn default() -> VideoSettings {
        VideoSettings {
            limits: VideoLimits::default(),
            ladder: media_video::default_ladder(),
            preset: X264Preset::default(),
            hls: true,
            transcode_pixels_per_second: 25_000_000.0,
            segment_seconds: 30.0,
            split_above_seconds: 120.0,
            checksum_max_bytes: 256 << 20,
        }
    }
}

impl VideoSettings {
    /// Reads the variables in the table above through `lookup`; unset ones keep their default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<VideoSettings, ConfigError> {
        let mut settings = VideoSettings::default();
        if let Some(value) = lookup("MEDIAFLOW_RENDITIONS") {
            settings.ladder =
                parse_list("MEDIAFLOW_RENDITIONS", &value)?.into_iter().map(Rung::for_height).collect();
        }
        if let Some(value) = lookup("MEDIAFLOW_HLS") {
            settings.hls = parse_bool("MEDIAFLOW_HLS", &value)?;
        }
        if let Some(value) = lookup("MEDIAFLOW_X264_PRESET") {
            settings.preset = value.parse::<X264Preset>().map_err(|error| ConfigError {
                name: "MEDIAFLOW_X264_PRESET",
                value: value.clone(),
                reason: error.to_string(),
            })?;
        }
        if let Some(value) = lookup("MEDIAFLOW_TRANSCODE_PIXELS_PER_SECOND") {
            settings.transcode_pixels_per_second =
                value.parse().ok().filter(|speed: &f64| speed.is_finite() && *speed > 0.0).ok_or_else(
                    || ConfigError {
                        name: "MEDIAFLOW_TRANSCODE_PIXELS_PER_SECOND",
                        value: value.clone(),
                        reason: "expected a positive number".into(),
                    },
                )?;
        }
        if let Some(value) = lookup("MEDIAFLOW_SEGMENT_SECONDS") {
            let seconds = parse_number::<u32>("MEDIAFLOW_SEGMENT_SECONDS", &value)?;
            // A segment's edges move onto the renditions' 2-second keyframe grid: shorter targets
            // could leave a segment empty.
            if seconds < 4 {
                return Err(ConfigError {
                    name: "MEDIAFLOW_SEGMENT_SECONDS",
                    value,
                    reason: "expected at least 4 (twice the renditions' keyframe interval)".into(),
                });
            }
            settings.segment_seconds = seconds.into();
        }
        if let Some(value) = lookup("MEDIAFLOW_SPLIT_ABOVE_SECONDS") {
            settings.split_above_seconds =
                parse_number::<u32>("MEDIAFLOW_SPLIT_ABOVE_SECONDS", &value)?.into();
        }
        if let Some(value) = lookup("MEDIAFLOW_VIDEO_CHECKSUM_MAX_BYTES") {
            settings.checksum_max_bytes = parse_number("MEDIAFLOW_VIDEO_CHECKSUM_MAX_BYTES", &value)?;
        }
        Ok(settings)
    }

    /// Whether the transcode of a video described by `probe` is split into segments: a video
    /// (audio alone is quick) longer than [`split_above_seconds`](Self::split_above_seconds),
    /// packaged as HLS (the segments are HLS's own).
    pub fn splits(&self, probe: &media_video::Probe) -> bool {
        let duration = probe.duration_seconds.unwrap_or(0.0);
        self.hls && probe.main_video().is_some() && duration > self.split_above_seconds
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(env: &[(&str, &str)]) -> Result<VideoSettings, ConfigError> {
        let env: HashMap<&str, &str> = env.iter().copied().collect();
        VideoSettings::from_lookup(|name| env.get(name).map(|value| value.to_string()))
    }

    #[test]
    fn reads_the_ladder_hls_and_preset() {
        let settings = from(&[
            ("MEDIAFLOW_RENDITIONS", "720,360"),
            ("MEDIAFLOW_HLS", "false"),
            ("MEDIAFLOW_X264_PRESET", "ultrafast"),
        ])
        .expect("valid");
        assert_eq!(settings.ladder.iter().map(|rung| rung.height).collect::<Vec<_>>(), vec![720, 360]);
        assert!(!settings.hls);
        assert_eq!(settings.preset, X264Preset::Ultrafast);
        let defaults = from(&[]).expect("defaults");
        assert!(defaults.hls);
        assert_eq!(defaults.ladder.len(), 3);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("MEDIAFLOW_HLS", "sometimes"),
            ("MEDIAFLOW_RENDITIONS", "720p"),
            ("MEDIAFLOW_X264_PRESET", "fastest"),
            ("MEDIAFLOW_TRANSCODE_PIXELS_PER_SECOND", "0"),
            ("MEDIAFLOW_SEGMENT_SECONDS", "0"),
            ("MEDIAFLOW_SEGMENT_SECONDS", "3"),
            ("MEDIAFLOW_SPLIT_ABOVE_SECONDS", "soon"),
            ("MEDIAFLOW_VIDEO_CHECKSUM_MAX_BYTES", "-1"),
        ] {
            let error = from(&[(name, value)]).expect_err(name);
            assert_eq!(error.name, name);
        }
    }
}

//! The video settings and the environment variables they are read from.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `MEDIAFLOW_RENDITIONS` | `1080,720,480` | rendition heights (short edge) |
//! | `MEDIAFLOW_HLS` | `true` | whether to package HLS |
//! | `MEDIAFLOW_X264_PRESET` | `veryfast` | the x264 preset |
//! | `MEDIAFLOW_TRANSCODE_PIXELS_PER_SECOND` | `25000000` | the Lambda deadline estimate |

use media_video::{Rung, VideoLimits, X264Preset};
use pipeline::config::{ConfigError, parse_bool, parse_list};

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
}

impl Default for VideoSettings {
    fn default() -> VideoSettings {
        VideoSettings {
            limits: VideoLimits::default(),
            ladder: media_video::default_ladder(),
            preset: X264Preset::default(),
            hls: true,
            transcode_pixels_per_second: 25_000_000.0,
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
        Ok(settings)
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
        ] {
            let error = from(&[(name, value)]).expect_err(name);
            assert_eq!(error.name, name);
        }
    }
}

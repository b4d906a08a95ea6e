//! Configuration from the environment: resource names (set by the template on every function)
//! and the image settings. The video settings are read by `pipeline-video`, in the functions that
//! handle videos.
//!
//! | variable | default | used by |
//! |---|---|---|
//! | `ASSETS_TABLE` | `mediaflow-assets` | all |
//! | `UPLOADS_BUCKET` | — | CLI |
//! | `DERIVATIVES_BUCKET` | `mediaflow-derivatives` | all |
//! | `THUMBNAIL_QUEUE_URL`, `TRANSCODE_QUEUE_URL`, `METADATA_QUEUE_URL`, `MODERATE_QUEUE_URL` | — | ingest (job queues) |
//! | `TRANSCODE_LONG_QUEUE_URL` | — | transcode (jobs too long for Lambda) |
//! | `EVENT_BUS_NAME` | `default` | all |
//! | `MEDIAFLOW_THUMBNAIL_SIZES` | `256,1024` | thumbnail, transcode (posters) |
//! | `MEDIAFLOW_THUMBNAIL_FORMAT` | `jpeg` (`webp`) | thumbnail, transcode |
//! | `MEDIAFLOW_THUMBNAIL_QUALITY` | `80` | thumbnail, transcode |
//! | `MEDIAFLOW_WORK_DIR` | the temp folder (`/tmp` on Lambda) | transcode (outputs before upload) |
//! | `MEDIAFLOW_MODERATION` | `off` (`local`, `rekognition`) | ingest (enqueues moderate jobs unless off), moderate |
//! | `MEDIAFLOW_MODERATION_THRESHOLD` | `0.8` | moderate: a label at or above it flags the asset |
//! | `MEDIAFLOW_MODERATION_VIDEO_FRAMES` | `5` | moderate: stills classified per video |
//! | `MEDIAFLOW_MODEL_PATH` | `open-nsfw.onnx` next to `bootstrap` on Lambda | moderate (`local`) |

use std::collections::HashMap;
use std::path::PathBuf;

use media_core::{EmbeddedPreviews, OutputFormat};
pub use pipeline::config::ConfigError;
use pipeline::config::{parse_list, parse_number};
use pipeline::cost::Prices;
use pipeline::moderation::{ModerationProvider, ModerationSettings};
use pipeline::ports::JobQueueName;
use pipeline::{JobKind, Settings};

/// Resource names and media settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The assets table.
    pub table: String,
    /// The uploads bucket, when known.
    pub uploads_bucket: Option<String>,
    /// The derivatives bucket.
    pub derivatives_bucket: String,
    /// Job queue URLs.
    pub queues: HashMap<JobQueueName, String>,
    /// The event bus for completion events.
    pub event_bus: String,
    /// Who moderates (`MEDIAFLOW_MODERATION`), `None` when moderation is off.
    pub moderation: Option<ModerationProvider>,
    /// Whether JPEG thumbnails may come from a camera's embedded preview
    /// (`MEDIAFLOW_EMBEDDED_PREVIEWS`: `when-safe`, the default, or `never`).
    pub embedded_previews: EmbeddedPreviews,
    /// Use-case settings.
    pub settings: Settings,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Reads variables through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let derivatives_bucket =
            lookup("DERIVATIVES_BUCKET").unwrap_or_else(|| "mediaflow-derivatives".into());
        let mut queues = HashMap::new();
        for (name, queue) in [
            ("THUMBNAIL_QUEUE_URL", JobQueueName::Job(JobKind::Thumbnail)),
            ("TRANSCODE_QUEUE_URL", JobQueueName::Job(JobKind::Transcode)),
            ("METADATA_QUEUE_URL", JobQueueName::Job(JobKind::Metadata)),
            ("MODERATE_QUEUE_URL", JobQueueName::Job(JobKind::Moderate)),
            ("TRANSCODE_LONG_QUEUE_URL", JobQueueName::TranscodeLong),
        ] {
            if let Some(url) = lookup(name) {
                queues.insert(queue, url);
            }
        }
        let mut settings = Settings::new(derivatives_bucket.clone());
        let parse_error = |name: &'static str, value: &str, reason: String| ConfigError {
            name,
            value: value.into(),
            reason,
        };
        if let Some(value) = lookup("MEDIAFLOW_THUMBNAIL_SIZES") {
            settings.thumbnails.sizes = parse_list("MEDIAFLOW_THUMBNAIL_SIZES", &value)?;
        }
        if let Some(value) = lookup("MEDIAFLOW_THUMBNAIL_FORMAT") {
            settings.thumbnails.format = match value.to_ascii_lowercase().as_str() {
                "jpeg" | "jpg" => OutputFormat::Jpeg,
                "webp" => OutputFormat::Webp,
                _ => {
                    return Err(parse_error(
                        "MEDIAFLOW_THUMBNAIL_FORMAT",
                        &value,
                        "expected jpeg or webp".into(),
                    ));
                }
            };
        }
        if let Some(value) = lookup("MEDIAFLOW_THUMBNAIL_QUALITY") {
            settings.thumbnails.quality = value
                .parse()
                .map_err(|error| parse_error("MEDIAFLOW_THUMBNAIL_QUALITY", &value, format!("{error}")))?;
        }
        settings
            .thumbnails
            .validate()
            .map_err(|error| parse_error("MEDIAFLOW_THUMBNAIL_*", "", error.to_string()))?;
        if let Some(value) = lookup("MEDIAFLOW_WORK_DIR") {
            settings.work_dir = PathBuf::from(value);
        }
        let moderation = match lookup("MEDIAFLOW_MODERATION").map(|value| value.to_ascii_lowercase()) {
            None => None,
            Some(value) if value == "off" => None,
            Some(value) if value == "local" => Some(ModerationProvider::Local),
            Some(value) if value == "rekognition" => Some(ModerationProvider::Rekognition),
            Some(value) => {
                return Err(parse_error(
                    "MEDIAFLOW_MODERATION",
                    &value,
                    "expected local, rekognition or off".into(),
                ));
            }
        };
        if moderation.is_some() {
            let mut moderation_settings = ModerationSettings::default();
            if let Some(value) = lookup("MEDIAFLOW_MODERATION_THRESHOLD") {
                moderation_settings.threshold = value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|threshold| (0.0..=1.0).contains(threshold))
                    .ok_or_else(|| {
                        parse_error(
                            "MEDIAFLOW_MODERATION_THRESHOLD",
                            &value,
                            "expected a number from 0 to 1".into(),
                        )
                    })?;
            }
            if let Some(value) = lookup("MEDIAFLOW_MODERATION_VIDEO_FRAMES") {
                moderation_settings.video_frames = parse_number("MEDIAFLOW_MODERATION_VIDEO_FRAMES", &value)?;
            }
            settings.moderation = Some(moderation_settings);
        }
        let embedded_previews = match lookup("MEDIAFLOW_EMBEDDED_PREVIEWS").map(|v| v.to_ascii_lowercase()) {
            None => EmbeddedPreviews::WhenSafe,
            Some(value) if value == "when-safe" => EmbeddedPreviews::WhenSafe,
            Some(value) if value == "never" => EmbeddedPreviews::Never,
            Some(value) => {
                return Err(parse_error(
                    "MEDIAFLOW_EMBEDDED_PREVIEWS",
                    &value,
                    "expected when-safe or never".into(),
                ));
            }
        };
        settings.prices = Prices::from_lookup(&lookup)?;
        if let Some(value) = lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
            settings.lambda_memory_mb = Some(parse_number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &value)?);
        }
        Ok(Config {
            table: lookup("ASSETS_TABLE").unwrap_or_else(|| "mediaflow-assets".into()),
            uploads_bucket: lookup("UPLOADS_BUCKET"),
            derivatives_bucket,
            queues,
            event_bus: lookup("EVENT_BUS_NAME").unwrap_or_else(|| "default".into()),
            moderation,
            embedded_previews,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_settings_with_defaults() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("ASSETS_TABLE", "t"),
            ("THUMBNAIL_QUEUE_URL", "http://q/thumb"),
            ("MEDIAFLOW_THUMBNAIL_SIZES", "128, 512"),
            ("MEDIAFLOW_THUMBNAIL_FORMAT", "webp"),
        ]);
        let config = Config::from_lookup(|name| env.get(name).map(|v| v.to_string())).expect("valid");
        assert_eq!(config.table, "t");
        assert_eq!(config.derivatives_bucket, "mediaflow-derivatives");
        assert_eq!(config.settings.derivatives_bucket, "mediaflow-derivatives");
        assert_eq!(
            config.queues.get(&JobQueueName::Job(JobKind::Thumbnail)).map(String::as_str),
            Some("http://q/thumb")
        );
        assert_eq!(config.settings.thumbnails.sizes, vec![128, 512]);
        assert_eq!(config.settings.thumbnails.format, OutputFormat::Webp);
        assert_eq!(config.event_bus, "default");
    }

    #[test]
    fn moderation_is_off_unless_asked_for_and_its_threshold_is_checked() {
        let config = Config::from_lookup(|_| None).expect("valid");
        assert_eq!((config.moderation, config.settings.moderation), (None, None));
        let env: HashMap<&str, &str> = HashMap::from([
            ("MEDIAFLOW_MODERATION", "Local"),
            ("MEDIAFLOW_MODERATION_THRESHOLD", "0"),
            ("MODERATE_QUEUE_URL", "http://q/moderate"),
        ]);
        let config = Config::from_lookup(|name| env.get(name).map(|v| v.to_string())).expect("valid");
        assert_eq!(config.moderation, Some(ModerationProvider::Local));
        assert_eq!(config.settings.moderation.map(|m| (m.threshold, m.video_frames)), Some((0.0, 5)));
        assert!(config.queues.contains_key(&JobQueueName::Job(JobKind::Moderate)));
        for (name, value) in [
            ("MEDIAFLOW_MODERATION", "maybe"),
            ("MEDIAFLOW_MODERATION_THRESHOLD", "80"),
            ("MEDIAFLOW_MODERATION_VIDEO_FRAMES", "0"),
        ] {
            let error = Config::from_lookup(|wanted| match wanted {
                "MEDIAFLOW_MODERATION" if name != wanted => Some("rekognition".to_owned()),
                _ => (wanted == name).then(|| value.to_owned()),
            });
            assert!(matches!(error, Err(ConfigError { name: reported, .. }) if reported == name), "{name}");
        }
    }

    #[test]
    fn embedded_previews_are_used_when_safe_unless_turned_off() {
        let previews = |value: &'static str| {
            Config::from_lookup(|name| (name == "MEDIAFLOW_EMBEDDED_PREVIEWS").then(|| value.to_owned()))
                .map(|config| config.embedded_previews)
        };
        assert_eq!(
            Config::from_lookup(|_| None).expect("valid").embedded_previews,
            EmbeddedPreviews::WhenSafe
        );
        assert_eq!(previews("Never").expect("valid"), EmbeddedPreviews::Never);
        assert!(matches!(previews("off"), Err(ConfigError { name: "MEDIAFLOW_EMBEDDED_PREVIEWS", .. })));
    }

    #[test]
    fn rejects_bad_values_with_the_variable_name() {
        let error =
            Config::from_lookup(|name| (name == "MEDIAFLOW_THUMBNAIL_SIZES").then(|| "big".to_owned()));
        assert!(matches!(error, Err(ConfigError { name: "MEDIAFLOW_THUMBNAIL_SIZES", .. })));
    }
}

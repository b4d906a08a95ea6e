//! Configuration from the environment: resource names (set by the template on every function)
//! and the image settings. The video settings are read by `pipeline-video`, in the functions that
//! handle videos.
//!
//! | variable | default | used by |
//! |---|---|---|
//! | `ASSETS_TABLE` | `mediaflow-assets` | all |
//! | `UPLOADS_BUCKET` | — | CLI |
//! | `DERIVATIVES_BUCKET` | `mediaflow-derivatives` | all |
//! | `THUMBNAIL_QUEUE_URL`, `TRANSCODE_QUEUE_URL`, `METADATA_QUEUE_URL` | — | ingest (job queues) |
//! | `TRANSCODE_LONG_QUEUE_URL` | — | transcode (jobs too long for Lambda) |
//! | `EVENT_BUS_NAME` | `default` | all |
//! | `MEDIAFLOW_THUMBNAIL_SIZES` | `256,1024` | thumbnail, transcode (posters) |
//! | `MEDIAFLOW_THUMBNAIL_FORMAT` | `jpeg` (`webp`) | thumbnail, transcode |
//! | `MEDIAFLOW_THUMBNAIL_QUALITY` | `80` | thumbnail, transcode |
//! | `MEDIAFLOW_WORK_DIR` | the temp folder (`/tmp` on Lambda) | metadata, transcode |

use std::collections::HashMap;
use std::path::PathBuf;

use media_core::OutputFormat;
pub use pipeline::config::ConfigError;
use pipeline::config::parse_list;
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
        Ok(Config {
            table: lookup("ASSETS_TABLE").unwrap_or_else(|| "mediaflow-assets".into()),
            uploads_bucket: lookup("UPLOADS_BUCKET"),
            derivatives_bucket,
            queues,
            event_bus: lookup("EVENT_BUS_NAME").unwrap_or_else(|| "default".into()),
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
    fn rejects_bad_values_with_the_variable_name() {
        let error =
            Config::from_lookup(|name| (name == "MEDIAFLOW_THUMBNAIL_SIZES").then(|| "big".to_owned()));
        assert!(matches!(error, Err(ConfigError { name: "MEDIAFLOW_THUMBNAIL_SIZES", .. })));
    }
}

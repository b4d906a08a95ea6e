//! The error of configuration read from the environment, shared by every crate that reads some of
//! it (`aws-adapters` for names and image settings, `pipeline-video` for the video settings), so
//! a bad variable is reported the same way wherever it is parsed.

/// A variable that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it, and what is expected instead.
    pub reason: String,
}

/// Parses a comma-separated list of numbers such as `256,1024`.
pub fn parse_list(name: &'static str, value: &str) -> Result<Vec<u32>, ConfigError> {
    value.split(',').map(|part| part.trim().parse::<u32>()).collect::<Result<Vec<_>, _>>().map_err(|error| {
        ConfigError { name, value: value.into(), reason: format!("expected numbers: {error}") }
    })
}

/// Parses a boolean the way the template writes one (`true`/`false`), also accepting `1`/`0`,
/// `yes`/`no` and `on`/`off`; anything else is an error rather than a silent `false`.
pub fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError { name, value: value.into(), reason: "expected true or false".into() }),
    }
}

/// Parses a positive number such as `500`.
pub fn parse_number<T: std::str::FromStr + Default + PartialOrd>(
    name: &'static str,
    value: &str,
) -> Result<T, ConfigError> {
    match value.trim().parse::<T>() {
        Ok(number) if number > T::default() => Ok(number),
        _ => {
            Err(ConfigError { name, value: value.into(), reason: "expected a positive whole number".into() })
        }
    }
}

/// Parses a duration such as `15m`, `90s` or `1h 30m`.
pub fn parse_duration(name: &'static str, value: &str) -> Result<std::time::Duration, ConfigError> {
    humantime::parse_duration(value).map_err(|error| ConfigError {
        name,
        value: value.into(),
        reason: format!("expected a duration such as 15m or 90s: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_parse_or_name_the_variable() {
        assert_eq!(parse_number::<usize>("N", " 500").expect("number"), 500);
        assert!(matches!(parse_number::<u32>("N", "0"), Err(ConfigError { name: "N", .. })));
        assert!(matches!(parse_number::<u32>("N", "-3"), Err(ConfigError { name: "N", .. })));
        assert_eq!(parse_duration("D", "1h 30m").expect("duration").as_secs(), 5400);
        assert!(matches!(parse_duration("D", "soon"), Err(ConfigError { name: "D", .. })));
    }

    #[test]
    fn lists_and_booleans_parse_or_name_the_variable() {
        assert_eq!(parse_list("X", "128, 512").expect("numbers"), vec![128, 512]);
        assert!(matches!(parse_list("X", "big"), Err(ConfigError { name: "X", .. })));
        assert!(parse_bool("B", "TRUE").expect("bool"));
        assert!(!parse_bool("B", "off").expect("bool"));
        assert!(matches!(parse_bool("B", "maybe"), Err(ConfigError { name: "B", .. })));
    }
}

//! Wall-clock time as the pipeline records it, and the [`Clock`] port that supplies it.
//!
//! Times are milliseconds since the Unix epoch, serialised as RFC 3339 UTC strings with exactly three
//! fractional digits (`2024-05-01T12:00:00.123Z`): fixed width, so they sort as strings too, which the
//! DynamoDB status index (`GSI1`, sort key `updated`) relies on.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, in whole milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The current system time (times before 1970 count as the epoch).
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// This time plus `duration` (saturating).
    pub fn plus(self, duration: Duration) -> Timestamp {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    /// This time minus `duration` (saturating at the epoch).
    pub fn minus(self, duration: Duration) -> Timestamp {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(millis))
    }

    /// Milliseconds from `earlier` to this time (0 when `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Parses an RFC 3339 time such as S3's `eventTime` (`1970-01-01T00:00:00.000Z`).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        humantime::parse_rfc3339_weak(text).ok().map(Timestamp::from)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        let millis = time.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}

impl From<Timestamp> for SystemTime {
    fn from(time: Timestamp) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(time.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(SystemTime::from(*self)))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// Where the use-cases get the current time: the system clock in production, a manual one in tests
/// (lease expiry and durations are then deterministic).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_fixed_width_rfc3339_and_back() {
        let time = Timestamp::from_millis(1_714_564_800_123);
        let json = serde_json::to_string(&time).expect("serialises");
        assert_eq!(json, "\"2024-05-01T12:00:00.123Z\"");
        let back: Timestamp = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, time);
        assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_s3_event_times() {
        assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:00:01.000Z"), Some(Timestamp::from_millis(1000)));
        assert_eq!(Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").map(|t| t.as_millis() % 1000), Some(0));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}

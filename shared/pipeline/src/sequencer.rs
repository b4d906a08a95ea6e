//! S3 event sequencers: which of two events on the same key happened later.
//!
//! S3 documents the sequencer as a hexadecimal string whose length may differ between events; to
//! compare two, pad the shorter on the right with zeros, then compare lexicographically. A
//! [`Sequencer`] stores the padded form (uppercase, 32 digits) followed by the event time in
//! milliseconds (16 hex digits), so plain string comparison (in Rust and in DynamoDB condition
//! expressions) is event order.
//!
//! The time only breaks ties: on AWS two events on a key never share a sequencer, but other S3
//! implementations send a constant one (LocalStack sends S3's documentation example for every
//! event), and then the event time is the only order there is. A redelivered event keeps both, so
//! it is recognised as the same event.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A normalised S3 event sequencer; `Ord` is event order for events on the same object key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sequencer(String);

impl Sequencer {
    /// Digits kept of S3's sequencer (S3 sends 16 to 18 today; room to spare).
    pub const S3_WIDTH: usize = 32;
    /// Digits of a normalised sequencer: S3's, then the event time.
    pub const WIDTH: usize = Self::S3_WIDTH + 16;

    /// The ordering key of an event with S3 sequencer `s3` (absent on some events) at `time`.
    pub fn from_event(s3: Option<&str>, time: Option<Timestamp>) -> Sequencer {
        let mut digits = hex_digits(s3.unwrap_or(""));
        digits.truncate(Self::S3_WIDTH);
        digits.extend(std::iter::repeat_n('0', Self::S3_WIDTH - digits.len()));
        digits.push_str(&format!("{:016X}", time.map_or(0, Timestamp::as_millis)));
        Sequencer(digits)
    }

    /// Normalises a stored sequencer: hex digits uppercased and right-padded with zeros to
    /// [`WIDTH`](Self::WIDTH). Anything that is not hex is dropped, so a malformed value cannot
    /// break ordering.
    pub fn parse(text: &str) -> Sequencer {
        let mut digits = hex_digits(text);
        if digits.len() < Self::WIDTH {
            digits.extend(std::iter::repeat_n('0', Self::WIDTH - digits.len()));
        }
        Sequencer(digits)
    }

    /// The S3 sequencer part (padded) and the event time, as [`from_event`](Self::from_event) got them.
    pub fn parts(&self) -> (&str, Timestamp) {
        let (s3, time) = self.0.split_at(Self::S3_WIDTH.min(self.0.len()));
        (s3, Timestamp::from_millis(u64::from_str_radix(time, 16).unwrap_or(0)))
    }

    /// The normalised string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_uppercase()).collect()
}

impl fmt::Display for Sequencer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shorter_sequencers_are_padded_on_the_right() {
        assert!(Sequencer::parse("0055AED6DCD90281E5") > Sequencer::parse("0055AED6DCD90281E4"));
        // S3's own example: compare after right-padding the shorter one.
        assert!(Sequencer::parse("0055AED6DCD90281E5") > Sequencer::parse("0055AED6DCD902"));
        assert!(Sequencer::parse("0055aed6dcd90281e5") == Sequencer::parse("0055AED6DCD90281E5"));
        assert_eq!(Sequencer::parse("1").as_str().len(), Sequencer::WIDTH);
    }

    #[test]
    fn the_event_time_breaks_ties_of_a_constant_sequencer() {
        let at = |ms| Some(Timestamp::from_millis(ms));
        let constant = Some("0055AED6DCD90281E5");
        assert!(Sequencer::from_event(constant, at(2_000)) > Sequencer::from_event(constant, at(1_000)));
        // A later S3 sequencer wins whatever the times say.
        assert!(
            Sequencer::from_event(Some("0055AED6DCD90281E6"), at(1)) > Sequencer::from_event(constant, at(9))
        );
        // A redelivered event is the same event.
        assert_eq!(Sequencer::from_event(constant, at(5)), Sequencer::from_event(constant, at(5)));
        let sequencer = Sequencer::from_event(constant, at(1_234));
        let (s3, time) = sequencer.parts();
        assert_eq!(Sequencer::from_event(Some(s3), Some(time)), sequencer);
        assert_eq!(Sequencer::parse(sequencer.as_str()), sequencer);
    }

    proptest! {
        #[test]
        fn order_matches_padded_numeric_order(a in 0u64.., b in 0u64..) {
            let time = Some(Timestamp::from_millis(7));
            let (sa, sb) = (Sequencer::from_event(Some(&format!("{a:016X}")), time), Sequencer::from_event(Some(&format!("{b:016X}")), time));
            prop_assert_eq!(sa.cmp(&sb), a.cmp(&b));
        }
    }
}

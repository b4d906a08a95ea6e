//! S3 event sequencers: which of two events on the same key happened later.
//!
//! S3 documents the sequencer as a hexadecimal string whose length may differ between events; to
//! compare two, pad the shorter on the right with zeros, then compare lexicographically. A
//! [`Sequencer`] stores the padded form (uppercase, [`Sequencer::WIDTH`] digits), so plain string
//! comparison (in Rust and in DynamoDB condition expressions) is event order.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A normalised S3 event sequencer; `Ord` is event order for events on the same object key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sequencer(String);

impl Sequencer {
    /// Digits of a normalised sequencer (S3 sends 16 to 18 today; room to spare).
    pub const WIDTH: usize = 32;

    /// Normalises a sequencer from an event: hex digits uppercased and right-padded with zeros.
    /// Anything that is not hex is dropped, so a malformed value cannot break ordering.
    pub fn parse(text: &str) -> Sequencer {
        let mut digits: String =
            text.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_uppercase()).collect();
        if digits.len() < Self::WIDTH {
            digits.extend(std::iter::repeat_n('0', Self::WIDTH - digits.len()));
        }
        Sequencer(digits)
    }

    /// A sequencer derived from an event time (milliseconds since the epoch), for events that carry
    /// none. It orders such events by time only.
    pub fn from_millis(millis: u64) -> Sequencer {
        Sequencer::parse(&format!("{millis:016X}"))
    }

    /// The normalised string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
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

    proptest! {
        #[test]
        fn order_matches_padded_numeric_order(a in 0u64.., b in 0u64..) {
            let (sa, sb) = (Sequencer::parse(&format!("{a:016X}")), Sequencer::parse(&format!("{b:016X}")));
            prop_assert_eq!(sa.cmp(&sb), a.cmp(&b));
        }
    }
}

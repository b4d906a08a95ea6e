//! The one table of error codes, [`ERROR_CODES`]: media-core's [`ErrorCode`] constants, which every
//! layer uses. `docs/errors.md` lists the same rows (checked here), and tests check that every
//! error variant of media-core, media-video and the pipeline maps to a row with the same retry
//! class at every layer.

pub use media_core::ErrorCode;

/// Every error code, in the documented order.
pub const ERROR_CODES: &[ErrorCode] = ErrorCode::ALL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table_lists_every_code_with_its_retry_class_and_meaning() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
            .expect("docs/errors.md");
        for row in ERROR_CODES {
            let class = if row.is_retryable() { "retried" } else { "recorded" };
            let line = doc
                .lines()
                .find(|line| line.starts_with(&format!("| `{row}` |")))
                .unwrap_or_else(|| panic!("docs/errors.md's table has no row for {row}"));
            assert!(line.contains(&format!("| {class} |")), "docs/errors.md says otherwise of {row}: {line}");
            assert!(
                line.contains(row.meaning()),
                "docs/errors.md's meaning of {row} is not the code's: {line}"
            );
        }
        let rows = doc
            .lines()
            .filter(|line| {
                line.starts_with("| `") && (line.contains("| recorded |") || line.contains("| retried |"))
            })
            .count();
        assert_eq!(rows, ERROR_CODES.len(), "docs/errors.md's table has rows that are not codes");
    }
}

//! Logging: `tracing` to stderr, set up the way Lambda's advanced logging controls say and
//! `lambda_runtime`'s default subscriber reads them: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON` (the
//! template sets `LogFormat: JSON`), the level from `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`
//! (default `info`). Metrics are `aws_adapters::telemetry`'s.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, once per process. On Lambda it is `lambda_runtime`'s default
/// one (no timestamps: Lambda stamps every line); off Lambda (worker mode) the same variables
/// apply, with timestamps.
pub(crate) fn init() {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
        return;
    }
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let filter =
        EnvFilter::try_new(level.as_deref().unwrap_or("info")).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

//! FFmpeg's log, routed into `tracing` under the target `ffmpeg`.
//!
//! FFmpeg logs through a C-variadic callback. Stable Rust cannot define a variadic function, but it
//! does not need to: the callback receives the already-started `va_list` and hands it straight back to
//! FFmpeg's own `av_log_format_line2`, which formats it with `vsnprintf`. No argument is ever read on
//! the Rust side. Lines FFmpeg builds from several calls are joined per thread before they are emitted.
//!
//! Levels: FFmpeg errors become `error`, warnings `warn`, and its chatty `info` (encoder statistics,
//! CPU capabilities) becomes `debug`; `verbose` and below become `trace`. FFmpeg's own level
//! (`av_log_set_level`, default `info`) still filters first, so debug lines are never even formatted
//! unless it is raised.

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int, c_void};

use ffmpeg_next::ffi;
use tracing::Level;

/// The `va_list` as the C callback receives it: a pointer to the one-element array on x86-64, the
/// structure itself on other System V targets (aarch64).
#[cfg(target_arch = "x86_64")]
type VaList = *mut ffi::__va_list_tag;
#[cfg(not(target_arch = "x86_64"))]
type VaList = ffi::va_list;

/// Longest line kept; longer ones are emitted in pieces so a runaway logger cannot grow memory.
const MAX_LINE: usize = 4096;

thread_local! {
    /// The start of a line FFmpeg is still building on this thread.
    static PENDING_LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Installs the callback. Called once, from [`crate::init`].
pub(crate) fn route_ffmpeg_log_to_tracing() {
    // SAFETY: `forward_to_tracing` has exactly the signature FFmpeg calls, never unwinds, and is
    // safe to call from any thread at any time, as FFmpeg may call it from its worker threads.
    unsafe { ffi::av_log_set_callback(Some(forward_to_tracing)) };
}

/// The `tracing` level for an FFmpeg level; `None` for `AV_LOG_QUIET` and anything else negative.
fn tracing_level(av_level: c_int) -> Option<Level> {
    match av_level {
        level if level < ffi::AV_LOG_PANIC => None,
        level if level <= ffi::AV_LOG_ERROR => Some(Level::ERROR),
        level if level <= ffi::AV_LOG_WARNING => Some(Level::WARN),
        level if level <= ffi::AV_LOG_INFO => Some(Level::DEBUG),
        _ => Some(Level::TRACE),
    }
}

fn is_enabled(level: Level) -> bool {
    match level {
        Level::ERROR => tracing::enabled!(target: "ffmpeg", Level::ERROR),
        Level::WARN => tracing::enabled!(target: "ffmpeg", Level::WARN),
        Level::INFO => tracing::enabled!(target: "ffmpeg", Level::INFO),
        Level::DEBUG => tracing::enabled!(target: "ffmpeg", Level::DEBUG),
        Level::TRACE => tracing::enabled!(target: "ffmpeg", Level::TRACE),
    }
}

fn emit(level: Level, component: &str, line: &str) {
    match level {
        Level::ERROR => tracing::error!(target: "ffmpeg", component, "{line}"),
        Level::WARN => tracing::warn!(target: "ffmpeg", component, "{line}"),
        Level::INFO => tracing::info!(target: "ffmpeg", component, "{line}"),
        Level::DEBUG => tracing::debug!(target: "ffmpeg", component, "{line}"),
        Level::TRACE => tracing::trace!(target: "ffmpeg", component, "{line}"),
    }
}

/// The name FFmpeg would print in `[name @ 0x...]` for the logging context `avcl`.
///
/// # Safety
/// `avcl` must be null or point to a structure whose first member is an `AVClass` pointer (null or
/// valid), which is FFmpeg's contract for every logging context.
unsafe fn component_name(avcl: *mut c_void) -> String {
    if avcl.is_null() {
        return String::new();
    }
    // SAFETY: per this function's contract, `avcl` starts with a `*const AVClass`.
    let class = unsafe { *(avcl as *const *const ffi::AVClass) };
    if class.is_null() {
        return String::new();
    }
    // SAFETY: `class` is a valid, static `AVClass`; `item_name` takes the context it describes and
    // returns a static or context-owned C string, which we copy before returning.
    unsafe {
        let name: *const c_char = match (*class).item_name {
            Some(item_name) => item_name(avcl),
            None => (*class).class_name,
        };
        if name.is_null() { String::new() } else { CStr::from_ptr(name).to_string_lossy().into_owned() }
    }
}

/// The callback FFmpeg calls for every log message.
unsafe extern "C" fn forward_to_tracing(
    avcl: *mut c_void,
    av_level: c_int,
    fmt: *const c_char,
    args: VaList,
) {
    // SAFETY: reading FFmpeg's global log level has no preconditions.
    if av_level > unsafe { ffi::av_log_get_level() } || fmt.is_null() {
        return;
    }
    let Some(level) = tracing_level(av_level) else { return };
    if !is_enabled(level) {
        return;
    }
    let mut buffer = [0 as c_char; 1024];
    let mut print_prefix: c_int = 0;
    // SAFETY: `fmt` and `args` are the format and the started `va_list` FFmpeg passed to this
    // callback, consumed exactly once here; `buffer` is writable for its whole length, which is what
    // we pass, and `av_log_format_line2` always NUL-terminates within it.
    let written = unsafe {
        ffi::av_log_format_line2(
            avcl,
            av_level,
            fmt,
            args,
            buffer.as_mut_ptr(),
            buffer.len() as c_int,
            &mut print_prefix,
        )
    };
    if written < 0 {
        return;
    }
    // SAFETY: the buffer is NUL-terminated (see above) and lives until the end of this function.
    let piece = unsafe { CStr::from_ptr(buffer.as_ptr()) }.to_bytes();
    // SAFETY: `avcl` is the logging context FFmpeg passed along with this message.
    let component = unsafe { component_name(avcl) };
    collect_and_emit(level, &component, piece);
}

/// Appends `piece` to this thread's pending line and emits every completed line.
fn collect_and_emit(level: Level, component: &str, piece: &[u8]) {
    PENDING_LINE.with(|pending| {
        // A subscriber that itself logs through FFmpeg would re-enter; drop the piece rather than panic.
        let Ok(mut pending) = pending.try_borrow_mut() else { return };
        pending.extend_from_slice(piece);
        while let Some(newline) = pending.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=newline).collect();
            emit_line(level, component, &line);
        }
        if pending.len() > MAX_LINE {
            let line = std::mem::take(&mut *pending);
            emit_line(level, component, &line);
        }
    });
}

fn emit_line(level: Level, component: &str, line: &[u8]) {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end();
    if !line.is_empty() {
        emit(level, component, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_levels_map_to_tracing_levels() {
        assert_eq!(tracing_level(ffi::AV_LOG_QUIET), None);
        assert_eq!(tracing_level(ffi::AV_LOG_FATAL), Some(Level::ERROR));
        assert_eq!(tracing_level(ffi::AV_LOG_ERROR), Some(Level::ERROR));
        assert_eq!(tracing_level(ffi::AV_LOG_WARNING), Some(Level::WARN));
        assert_eq!(tracing_level(ffi::AV_LOG_INFO), Some(Level::DEBUG));
        assert_eq!(tracing_level(ffi::AV_LOG_DEBUG), Some(Level::TRACE));
    }

    #[test]
    fn a_null_context_has_no_component_name() {
        // SAFETY: null is explicitly allowed.
        assert_eq!(unsafe { component_name(std::ptr::null_mut()) }, "");
    }
}

//! `read_metadata` with every decoder the functions link: metadata or a coded error, never a panic.
#![no_main]

use mediaflow_fuzz::{DECODERS, LIMITS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(error) = DECODERS.read_metadata(data, &LIMITS) {
        assert!(!error.to_string().contains("panicked"), "{error}");
    }
});

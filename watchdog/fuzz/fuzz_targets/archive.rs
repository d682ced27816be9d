#![no_main]
//! Bytes as a backup archive through the decoder and its checks: a typed error or a verified
//! archive, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = watchdog::backup::decode(data);
});

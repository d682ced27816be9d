#![no_main]
//! One `eth_getLogs` entry through the reader's decoding and checks: a typed problem or an
//! input, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input_box = [0x11; 20].into();
    let app = [0x22; 20].into();
    let _ = l1::check_log_json(data, input_box, app, 0, u64::MAX, 0);
});

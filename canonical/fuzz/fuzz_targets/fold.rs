#![no_main]
//! The fold over arbitrary advances: errors are `Fatal` values, never panics.
use canonical::{Engine, WalletConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut engine = Engine::new(WalletConfig::devnet());
    for chunk in data.split(|&b| b == 0xff) {
        if engine.advance(chunk).is_err() {
            break;
        }
    }
});

#![no_main]
//! `EngineState::decode`: never panics; accepted bytes round-trip byte for byte.
use canonical::EngineState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = EngineState::decode(data) {
        assert_eq!(state.encode(), data);
    }
});

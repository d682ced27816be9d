#![no_main]
//! `/finalized_state/inclusion_block` bodies: a typed error or a point, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sequencer_client::FinalizedPoint::from_json(data);
});

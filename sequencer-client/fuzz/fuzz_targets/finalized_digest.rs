#![no_main]
//! `/finalized_state/digest` bodies: a typed error or a digest, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sequencer_client::FinalizedDigest::from_json(data);
});

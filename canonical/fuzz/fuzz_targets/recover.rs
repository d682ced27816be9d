#![no_main]
//! `recover_sender` (libsecp256k1) against the reference's recovery (alloy over k256) on a
//! 32-byte digest and arbitrary signature bytes: the same sender or the same refusal.
use alloy_primitives::B256;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/recover_oracle.rs"]
mod recover_oracle;

fuzz_target!(|data: &[u8]| {
    if let Some((hash, signature)) = data.split_first_chunk::<32>() {
        recover_oracle::check_recover(&B256::from(*hash), signature);
    }
});

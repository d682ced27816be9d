//! The reference's sender recovery (alloy parses `r ‖ s ‖ v`, k256 recovers) as the oracle of
//! `recover_sender` (libsecp256k1).
//!
//! Shared with the `recover` fuzz target (`fuzz/fuzz_targets/recover.rs`), which includes this
//! file.

use alloy_primitives::{Address, B256, Signature, hex};
use canonical::recover_sender;

/// The reference's recovery.
pub(crate) fn reference(hash: &B256, signature: &[u8]) -> Option<Address> {
    let signature = Signature::from_raw(signature).ok()?;
    let key = signature.recover_from_prehash(hash).ok()?;
    Some(Address::from_public_key(&key))
}

/// Panics unless `recover_sender` and the reference agree; returns whether a sender recovered.
pub(crate) fn check_recover(hash: &B256, signature: &[u8]) -> bool {
    let ours = recover_sender(hash, signature);
    assert_eq!(
        ours,
        reference(hash, signature),
        "hash {hash} signature {}",
        hex::encode(signature)
    );
    ours.is_some()
}

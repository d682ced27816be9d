//! The `fold` fuzz target's input: advances, each a 2-byte little-endian length and that many
//! bytes (the last one takes what is left). A length prefix cannot occur inside the data it
//! frames, so a seed's batch reaches the fold whole whatever bytes its signatures hold.
//!
//! Shared with the fuzz target (`fuzz/fuzz_targets/fold.rs`), which includes this file.

use canonical::{Engine, InputOutcome, WalletConfig};

/// The advances framed in `data`.
pub(crate) fn advances(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (len, rest) = data.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (advance, rest) = rest.split_at(len);
        data = rest;
        Some(advance)
    })
}

/// Runs the advances framed in `data` through a genesis engine until one is fatal; returns the
/// number of user ops included by executed batches.
pub(crate) fn run(data: &[u8]) -> usize {
    let mut engine = Engine::new(WalletConfig::devnet());
    let mut included = 0;
    for advance in advances(data) {
        match engine.advance(advance) {
            Ok(result) => {
                if let Some(InputOutcome::BatchExecuted { included: ops, .. }) = result.outcome {
                    included += ops;
                }
            }
            Err(_) => break,
        }
    }
    included
}

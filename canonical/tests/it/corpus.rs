//! Replays the saved fuzz corpus (`canonical/fuzz/corpus/<target>/`) through what each fuzz
//! target runs, and checks that the seeds reach the code the target is for: a harness whose
//! seeds never get past the first decoder fails here.
//!
//! The fuzz targets themselves run with `cargo fuzz` (`fuzz/run` at the workspace root); this
//! keeps what they found running on stable.

use std::path::Path;

use alloy_primitives::B256;
use canonical::{Batch, EngineState, EvmAdvance, Method, WalletSnapshot};

use crate::fold_input;
use crate::recover_oracle::check_recover;
use crate::ssz_oracle::check_all;

/// Runs `target` over every seed of its corpus; returns (seeds, seeds that reached the success
/// path).
fn replay(target: &str, reaches: impl Fn(&[u8]) -> bool) -> (usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let (mut seeds, mut reached) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seeds += 1;
        reached += usize::from(reaches(&bytes));
    }
    (seeds, reached)
}

fn assert_reaches(target: &str, reaches: impl Fn(&[u8]) -> bool) {
    let (seeds, reached) = replay(target, reaches);
    assert!(seeds > 0, "{target}: no seeds");
    assert!(reached > 0, "{target}: no seed reaches the success path");
}

#[test]
fn snapshot_seeds_decode_and_round_trip() {
    assert_reaches("snapshot", |bytes| {
        WalletSnapshot::decode(bytes).is_ok_and(|snapshot| {
            assert!(WalletSnapshot::decode(&snapshot.encode()).is_ok());
            true
        })
    });
}

#[test]
fn batch_seeds_decode_to_signed_ops() {
    assert_reaches("batch", |bytes| {
        Batch::decode(bytes).is_ok_and(|batch| {
            assert_eq!(batch.encode(), bytes);
            batch.op_count() > 0
        })
    });
}

#[test]
fn method_seeds_decode() {
    assert_reaches("method", |bytes| {
        Method::decode(bytes).is_ok_and(|method| {
            assert_eq!(method.encode(), bytes);
            true
        })
    });
}

#[test]
fn advance_seeds_decode() {
    assert_reaches("advance", |bytes| {
        EvmAdvance::decode(bytes).is_ok_and(|advance| {
            assert_eq!(EvmAdvance::decode(&advance.encode()).as_ref(), Ok(&advance));
            true
        })
    });
}

#[test]
fn engine_state_seeds_decode() {
    assert_reaches("engine_state", |bytes| {
        EngineState::decode(bytes).is_ok_and(|state| {
            assert_eq!(state.encode(), bytes);
            true
        })
    });
}

#[test]
fn fold_seeds_include_signed_ops() {
    // Past decoding: senders recovered, ops validated and executed, fees charged.
    assert_reaches("fold", |bytes| fold_input::run(bytes) > 0);
}

#[test]
fn recover_seeds_recover_a_sender_on_both_sides() {
    assert_reaches("recover", |bytes| {
        bytes.len() >= 32 && check_recover(&B256::from_slice(&bytes[..32]), &bytes[32..])
    });
}

#[test]
fn ssz_differential_seeds_decode_on_both_sides() {
    assert_reaches("ssz_differential", |bytes| check_all(bytes) > 0);
}

//! The SSZ codec against `ssz_rs` (see `ssz_oracle.rs`): on the conformance vectors, on the
//! encodings of generated values, on mutations of them and on arbitrary bytes.

use std::path::Path;

use alloy_primitives::hex;
use canonical::{Batch, Method, WalletSnapshot};
use proptest::prelude::*;
use serde_json::Value;

use crate::props::{batch_strategy, method_strategy, snapshot};
use crate::ssz_oracle::{
    check_all, check_batch, check_frame, check_method, check_op, check_snapshot,
};

fn vectors(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/vectors")
        .join(file);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn ssz_of(case: &Value) -> Vec<u8> {
    hex::decode(case["ssz"].as_str().unwrap()).unwrap()
}

/// A vector file, the check of its type, and the groups of cases that must decode.
type VectorCheck = (&'static str, fn(&[u8]) -> bool, &'static [&'static str]);

#[test]
fn the_oracle_agrees_on_every_conformance_vector() {
    let checks: [VectorCheck; 3] = [
        ("batches.json", check_batch, &["valid"]),
        ("methods.json", check_method, &["valid"]),
        ("snapshots.json", check_snapshot, &["valid", "legacy_v1"]),
    ];
    for (file, check, accepted) in checks {
        let vectors = vectors(file);
        for (group, cases) in vectors.as_object().unwrap() {
            for case in cases.as_array().unwrap() {
                let expected = accepted.contains(&group.as_str());
                assert_eq!(
                    check(&ssz_of(case)),
                    expected,
                    "{file} {group} {}",
                    case["name"]
                );
            }
        }
    }
}

/// Mutates `bytes`: flips a byte, cuts, or inserts, at a position drawn from `at`.
fn mutate(mut bytes: Vec<u8>, kind: u8, at: usize, value: u8) -> Vec<u8> {
    let at = if bytes.is_empty() {
        0
    } else {
        at % bytes.len()
    };
    match kind % 4 {
        0 if !bytes.is_empty() => bytes[at] ^= value.max(1),
        1 => bytes.truncate(at),
        2 => bytes.insert(at, value),
        _ if !bytes.is_empty() => {
            bytes.remove(at);
        }
        _ => {}
    }
    bytes
}

proptest! {
    #[test]
    fn valid_encodings_agree(batch in batch_strategy(), snapshot in snapshot(), method in method_strategy()) {
        prop_assert!(check_batch(&batch.encode()));
        for frame in &batch.frames {
            prop_assert!(check_frame(&frame.encode()));
            for op in &frame.user_ops {
                prop_assert!(check_op(&op.encode()));
            }
        }
        prop_assert!(check_snapshot(&snapshot.encode()));
        prop_assert!(check_method(&method.encode()));
    }

    #[test]
    fn mutated_encodings_agree(
        batch in batch_strategy(),
        snapshot in snapshot(),
        method in method_strategy(),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        for bytes in [batch.encode(), snapshot.encode(), method.encode()] {
            let mutated = edits
                .iter()
                .fold(bytes, |bytes, &(kind, at, value)| mutate(bytes, kind, at, value));
            check_all(&mutated);
        }
    }

    #[test]
    fn arbitrary_bytes_agree(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_all(&bytes);
    }
}

#[test]
fn generated_values_decode_on_both_sides() {
    // A sanity check on the strategies: these are the values `valid_encodings_agree` encodes.
    let batch = Batch::default();
    assert!(check_batch(&batch.encode()));
    let method = Method::Withdrawal {
        amount: alloy_primitives::U256::MAX,
    };
    assert!(check_method(&method.encode()));
    let snapshot = WalletSnapshot::genesis(&canonical::WalletConfig::sepolia());
    assert!(check_snapshot(&snapshot.encode()));
}

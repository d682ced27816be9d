//! `recover_sender` (libsecp256k1) against the reference's recovery (alloy over k256) on every
//! kind of signature: valid ones, high `s`, `r` or `s` zero or not below the group order, every
//! `v` byte, wrong lengths and arbitrary bytes.

use alloy_primitives::{B256, U256, hex};
use canonical::{SIGNATURE_LEN, recover_sender, sign_hash};
use proptest::prelude::*;

use crate::recover_oracle::check_recover;

/// The secp256k1 group order `n`.
const N: U256 = U256::from_be_bytes(hex!(
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
));

fn assert_same(hash: &B256, signature: &[u8]) -> Result<(), TestCaseError> {
    check_recover(hash, signature);
    Ok(())
}

fn with_scalars(signature: &[u8; 65], r: U256, s: U256) -> [u8; 65] {
    let mut out = *signature;
    out[..32].copy_from_slice(&r.to_be_bytes::<32>());
    out[32..64].copy_from_slice(&s.to_be_bytes::<32>());
    out
}

/// A secret key: any 32 bytes below `n` except zero.
fn secret() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>()
        .prop_map(B256::from)
        .prop_filter("a valid scalar", |k| {
            let k = U256::from_be_bytes(k.0);
            !k.is_zero() && k < N
        })
}

/// Scalars around the edges that matter: 0, 1, n/2, n-1, n, n+1, 2^256-1, and random ones.
fn edge_scalar() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::from(1)),
        Just(N >> 1),
        Just((N >> 1) + U256::from(1)),
        Just(N - U256::from(1)),
        Just(N),
        Just(N + U256::from(1)),
        Just(U256::MAX),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

#[test]
fn every_v_byte_of_a_valid_signature() {
    let secret = B256::repeat_byte(0x11);
    for seed in 0u8..2 {
        let hash = B256::repeat_byte(seed);
        let signature = sign_hash(&secret, &hash).unwrap();
        let s = U256::from_be_slice(&signature[32..64]);
        let high = with_scalars(&signature, U256::from_be_slice(&signature[..32]), N - s);
        for v in 0..=u8::MAX {
            for base in [signature, high] {
                let mut candidate = base;
                candidate[64] = v;
                assert_same(&hash, &candidate).unwrap();
            }
        }
    }
}

#[test]
fn the_reference_accepts_what_the_spec_says() {
    let secret = B256::repeat_byte(0x22);
    let hash = B256::repeat_byte(0x33);
    let signature = sign_hash(&secret, &hash).unwrap();
    let parity = signature[64] - 27;
    let accepted: Vec<u8> = (0..=u8::MAX)
        .filter(|&v| {
            let mut candidate = signature;
            candidate[64] = v;
            recover_sender(&hash, &candidate) == canonical::address_of(&secret)
        })
        .collect();
    // 0/27 or 1/28 by parity, and every EIP-155 `v` of the same parity from 35 on.
    let mut expected = vec![parity, 27 + parity];
    expected.extend((35..=u8::MAX).filter(|v| (v - 35) % 2 == parity));
    assert_eq!(accepted, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_signatures_and_their_high_s_forms(secret in secret(), hash in any::<[u8; 32]>()) {
        let hash = B256::from(hash);
        let signature = sign_hash(&secret, &hash).unwrap();
        prop_assert_eq!(recover_sender(&hash, &signature), canonical::address_of(&secret));
        assert_same(&hash, &signature)?;
        let r = U256::from_be_slice(&signature[..32]);
        let s = U256::from_be_slice(&signature[32..64]);
        let mut high = with_scalars(&signature, r, N - s);
        high[64] = 55 - signature[64]; // 27 ↔ 28: the parity flips with s.
        prop_assert_eq!(recover_sender(&hash, &high), canonical::address_of(&secret));
        assert_same(&hash, &high)?;
    }

    #[test]
    fn edge_scalars(secret in secret(), hash in any::<[u8; 32]>(), r in edge_scalar(), s in edge_scalar(), v in any::<u8>(), keep_r in any::<bool>()) {
        let hash = B256::from(hash);
        let signature = sign_hash(&secret, &hash).unwrap();
        let r = if keep_r { U256::from_be_slice(&signature[..32]) } else { r };
        let mut candidate = with_scalars(&signature, r, s);
        candidate[64] = v;
        assert_same(&hash, &candidate)?;
    }

    #[test]
    fn arbitrary_bytes_of_any_length(hash in any::<[u8; 32]>(), bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        assert_same(&B256::from(hash), &bytes)?;
    }

    #[test]
    fn truncated_and_extended_valid_signatures(secret in secret(), hash in any::<[u8; 32]>(), len in 0usize..100) {
        let hash = B256::from(hash);
        let signature = sign_hash(&secret, &hash).unwrap();
        let mut candidate = signature.to_vec();
        candidate.resize(len, 27);
        prop_assert_eq!(recover_sender(&hash, &candidate).is_some(), len == SIGNATURE_LEN);
        assert_same(&hash, &candidate)?;
    }
}

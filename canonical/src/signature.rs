//! Signatures and sender recovery on libsecp256k1 (`protocol.md` §3.4).
//!
//! The accept/reject rules are the reference's (alloy over k256): `v` of 0/27 or 1/28, or
//! EIP-155 style `v ≥ 35`; `r` and `s` in `[1, n)`; high `s` accepted (it recovers the same key
//! as its low form with the parity flipped). The test suite checks this module against that
//! reference on every kind of input (`tests/it/recovery.rs`).

use std::sync::LazyLock;

use alloy_primitives::{Address, B256, keccak256};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{All, Message, PublicKey, Secp256k1, SecretKey};

/// Length of a signature: `r ‖ s ‖ v`.
pub const SIGNATURE_LEN: usize = 65;

/// One context for the process: libsecp256k1 contexts are immutable once built.
static CONTEXT: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);

/// The y-parity a `v` byte stands for, or `None` for a `v` the reference refuses.
fn parity(v: u8) -> Option<RecoveryId> {
    let odd = match v {
        0 | 27 => false,
        1 | 28 => true,
        v if v >= 35 => (v - 35) % 2 == 1,
        _ => return None,
    };
    Some(if odd {
        RecoveryId::One
    } else {
        RecoveryId::Zero
    })
}

/// The Ethereum address of a public key: the last 20 bytes of the keccak of its 64-byte form.
fn address_of_key(key: &PublicKey) -> Address {
    let uncompressed = key.serialize_uncompressed();
    Address::from_slice(&keccak256(&uncompressed[1..])[12..])
}

/// Recovers the signer of `hash`, or `None` when the signature is invalid or unrecoverable.
///
/// Accepts `v` of 0/27 and 1/28 and EIP-155 style `v ≥ 35`; accepts high `s`. Any length other
/// than [`SIGNATURE_LEN`], `r` or `s` zero or not below the group order, and a point that does
/// not recover are `None`.
pub fn recover_sender(hash: &B256, signature: &[u8]) -> Option<Address> {
    if signature.len() != SIGNATURE_LEN {
        return None;
    }
    let (rs, v) = (&signature[..64], signature[64]);
    // `from_compact` refuses r or s not below the group order; recovery refuses zero.
    let signature = RecoverableSignature::from_compact(rs, parity(v)?).ok()?;
    let key = CONTEXT
        .recover_ecdsa(Message::from_digest(hash.0), &signature)
        .ok()?;
    Some(address_of_key(&key))
}

/// Signs a prehashed digest with a secret key, producing `r ‖ s ‖ v` with low `s` and `v` in
/// {27, 28} (RFC 6979 nonces, so the same inputs always give the same signature).
///
/// Returns `None` when `secret` is not a valid secp256k1 scalar.
pub fn sign_hash(secret: &B256, hash: &B256) -> Option<[u8; SIGNATURE_LEN]> {
    let key = SecretKey::from_byte_array(secret.0).ok()?;
    let (recovery, rs) = CONTEXT
        .sign_ecdsa_recoverable(Message::from_digest(hash.0), &key)
        .serialize_compact();
    let mut out = [0u8; SIGNATURE_LEN];
    out[..64].copy_from_slice(&rs);
    out[64] = 27 + u8::from(recovery == RecoveryId::One);
    Some(out)
}

/// The address of a secret key, or `None` when it is not a valid secp256k1 scalar.
pub fn address_of(secret: &B256) -> Option<Address> {
    let key = SecretKey::from_byte_array(secret.0).ok()?;
    Some(address_of_key(&PublicKey::from_secret_key(&CONTEXT, &key)))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Bytes, U256, address, b256, hex};

    use super::*;
    use crate::eip712::{UserOp, sign_user_op, signing_hash};

    // Anvil account 0: a well-known development key.
    const KEY: B256 = b256!("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

    /// The secp256k1 group order `n`.
    const CURVE_ORDER: U256 = U256::from_be_bytes(hex!(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    ));

    #[test]
    fn sign_and_recover_all_v_forms() {
        let app = Address::repeat_byte(0x42);
        let op = UserOp {
            nonce: 0,
            max_fee: 2000,
            data: Bytes::new(),
        };
        let signer = address_of(&KEY).unwrap();
        assert_eq!(
            signer,
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        let hash = signing_hash(1, app, &op);
        let sig = sign_user_op(&KEY, 1, app, &op).unwrap();
        assert_eq!(recover_sender(&hash, &sig), Some(signer));

        let parity = sig[64] - 27;
        let mut other = sig;
        other[64] = parity;
        assert_eq!(recover_sender(&hash, &other), Some(signer));
        other[64] = 35 + parity;
        assert_eq!(recover_sender(&hash, &other), Some(signer));
        other[64] = 2;
        assert_eq!(recover_sender(&hash, &other), None);

        // High-s form: s' = n - s with the parity flipped.
        let s = U256::from_be_slice(&sig[32..64]);
        let mut high = sig;
        high[32..64].copy_from_slice(&(CURVE_ORDER - s).to_be_bytes::<32>());
        high[64] = 27 + (1 - parity);
        assert_eq!(recover_sender(&hash, &high), Some(signer));

        let mut zero_r = sig;
        zero_r[..32].fill(0);
        assert_eq!(recover_sender(&hash, &zero_r), None);
        assert_eq!(recover_sender(&hash, &sig[..64]), None);
    }
}

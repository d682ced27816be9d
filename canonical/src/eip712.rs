//! EIP-712 user operations, signatures and sender recovery (`protocol.md` §3.3, §3.4).

use alloy_primitives::{Address, B256, Bytes, Signature, U256, b256, keccak256};
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

/// `keccak256("UserOp(uint32 nonce,uint16 max_fee,bytes data)")`.
pub const USER_OP_TYPEHASH: B256 =
    b256!("0x794b86e861930e59e62ce17b915511462a70fd7518920d37d23766ce03bf6cb5");

/// `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`.
pub const DOMAIN_TYPEHASH: B256 =
    b256!("0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");

/// The EIP-712 domain name.
pub const DOMAIN_NAME: &str = "CartesiAppSequencer";
/// The EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";

/// Length of a signature: `r ‖ s ‖ v`.
pub const SIGNATURE_LEN: usize = 65;

/// secp256k1 group order `n`.
const CURVE_ORDER: U256 = U256::from_limbs([
    0xBFD2_5E8C_D036_4141,
    0xBAAE_DCE6_AF48_A03B,
    0xFFFF_FFFF_FFFF_FFFE,
    0xFFFF_FFFF_FFFF_FFFF,
]);

/// What a user signs: the typed struct `UserOp(uint32 nonce,uint16 max_fee,bytes data)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserOp {
    /// The sender's expected wallet nonce.
    pub nonce: u32,
    /// The highest fee exponent the sender accepts.
    pub max_fee: u16,
    /// Method bytes (see [`Method`](crate::Method)).
    pub data: Bytes,
}

impl UserOp {
    /// The EIP-712 struct hash.
    pub fn struct_hash(&self) -> B256 {
        let mut buf = [0u8; 128];
        buf[..32].copy_from_slice(USER_OP_TYPEHASH.as_slice());
        buf[60..64].copy_from_slice(&self.nonce.to_be_bytes());
        buf[94..96].copy_from_slice(&self.max_fee.to_be_bytes());
        buf[96..].copy_from_slice(keccak256(&self.data).as_slice());
        keccak256(buf)
    }
}

/// The domain separator for an application on a chain.
pub fn domain_separator(chain_id: u64, app: Address) -> B256 {
    let mut buf = [0u8; 160];
    buf[..32].copy_from_slice(DOMAIN_TYPEHASH.as_slice());
    buf[32..64].copy_from_slice(keccak256(DOMAIN_NAME).as_slice());
    buf[64..96].copy_from_slice(keccak256(DOMAIN_VERSION).as_slice());
    buf[120..128].copy_from_slice(&chain_id.to_be_bytes());
    buf[140..160].copy_from_slice(app.as_slice());
    keccak256(buf)
}

/// The digest a user signs, given a precomputed [`domain_separator`].
pub fn signing_hash_with_domain(domain_separator: &B256, op: &UserOp) -> B256 {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(domain_separator.as_slice());
    buf[34..].copy_from_slice(op.struct_hash().as_slice());
    keccak256(buf)
}

/// The digest a user signs for `op` on application `app` of chain `chain_id`.
pub fn signing_hash(chain_id: u64, app: Address, op: &UserOp) -> B256 {
    signing_hash_with_domain(&domain_separator(chain_id, app), op)
}

/// Recovers the signer of `hash`, or `None` when the signature is invalid or unrecoverable.
///
/// Accepts `v` of 0/27 and 1/28 and EIP-155 style `v ≥ 35`; normalises high `s`.
pub fn recover_sender(hash: &B256, signature: &[u8]) -> Option<Address> {
    if signature.len() != SIGNATURE_LEN {
        return None;
    }
    let r = U256::from_be_slice(&signature[..32]);
    let mut s = U256::from_be_slice(&signature[32..64]);
    let mut odd = match signature[64] {
        0 | 27 => false,
        1 | 28 => true,
        v if v >= 35 => (v - 35) % 2 == 1,
        _ => return None,
    };
    if r.is_zero() || s.is_zero() || r >= CURVE_ORDER || s >= CURVE_ORDER {
        return None;
    }
    if s > CURVE_ORDER >> 1 {
        s = CURVE_ORDER - s;
        odd = !odd;
    }
    Signature::new(r, s, odd)
        .recover_address_from_prehash(hash)
        .ok()
}

/// Signs `op` with a secret key, producing `r ‖ s ‖ v` with `v` in {27, 28}.
///
/// Returns `None` when `secret` is not a valid secp256k1 scalar. For workloads and tests.
pub fn sign_user_op(secret: &B256, chain_id: u64, app: Address, op: &UserOp) -> Option<[u8; 65]> {
    let key = SigningKey::from_bytes(secret.as_slice().into()).ok()?;
    sign_hash(&key, &signing_hash(chain_id, app, op))
}

/// Signs a prehashed digest with `key`, producing `r ‖ s ‖ v` with `v` in {27, 28}.
pub fn sign_hash(key: &SigningKey, hash: &B256) -> Option<[u8; 65]> {
    let (signature, recovery) = key.sign_prehash_recoverable(hash.as_slice()).ok()?;
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&signature.to_bytes());
    out[64] = 27 + u8::from(recovery.is_y_odd());
    Some(out)
}

/// The address of a secret key.
pub fn address_of(secret: &B256) -> Option<Address> {
    let key = SigningKey::from_bytes(secret.as_slice().into()).ok()?;
    Some(Address::from_public_key(key.verifying_key()))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{address, hex};
    use alloy_sol_types::{SolStruct, eip712_domain, sol};

    use super::*;

    sol! {
        struct UserOp712 {
            uint32 nonce;
            uint16 max_fee;
            bytes data;
        }
    }

    // Anvil account 0: a well-known development key.
    const KEY: B256 = b256!("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

    #[test]
    fn typehashes_are_the_keccak_of_their_types() {
        assert_eq!(
            USER_OP_TYPEHASH,
            keccak256("UserOp(uint32 nonce,uint16 max_fee,bytes data)")
        );
        assert_eq!(
            DOMAIN_TYPEHASH,
            keccak256(
                "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
            )
        );
        assert_eq!(
            CURVE_ORDER,
            U256::from_be_slice(&hex!(
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
            ))
        );
    }

    #[test]
    fn matches_alloy_eip712() {
        let app = address!("0x1111111111111111111111111111111111111111");
        let op = UserOp {
            nonce: 7,
            max_fee: 1400,
            data: Bytes::from(vec![1, 2, 3]),
        };
        let domain = eip712_domain! {
            name: "CartesiAppSequencer",
            version: "1",
            chain_id: 31337,
            verifying_contract: app,
        };
        let typed = UserOp712 {
            nonce: 7,
            max_fee: 1400,
            data: op.data.clone(),
        };
        // alloy names the struct after the Rust type; the struct hash must use `UserOp`.
        let mut struct_buf = USER_OP_TYPEHASH.to_vec();
        struct_buf.extend_from_slice(&typed.eip712_encode_data());
        let expected_struct = keccak256(struct_buf);
        assert_eq!(op.struct_hash(), expected_struct);
        assert_eq!(domain_separator(31337, app), domain.hash_struct());
        let mut digest = vec![0x19, 0x01];
        digest.extend_from_slice(domain.hash_struct().as_slice());
        digest.extend_from_slice(expected_struct.as_slice());
        assert_eq!(signing_hash(31337, app, &op), keccak256(digest));
    }

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

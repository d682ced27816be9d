//! EIP-712 user operations, signatures and sender recovery (`protocol.md` §3.3, §3.4).

use alloy_primitives::{Address, B256, Bytes, b256, keccak256};
use serde::{Deserialize, Serialize};

use crate::signature::sign_hash;

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
        struct_hash_of(self.nonce, self.max_fee, &self.data)
    }
}

/// The EIP-712 struct hash of a `UserOp` given by its fields (no copy of `data`).
fn struct_hash_of(nonce: u32, max_fee: u16, data: &[u8]) -> B256 {
    let mut buf = [0u8; 128];
    buf[..32].copy_from_slice(USER_OP_TYPEHASH.as_slice());
    buf[60..64].copy_from_slice(&nonce.to_be_bytes());
    buf[94..96].copy_from_slice(&max_fee.to_be_bytes());
    buf[96..].copy_from_slice(keccak256(data).as_slice());
    keccak256(buf)
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
    signing_hash_of(domain_separator, op.nonce, op.max_fee, &op.data)
}

/// [`signing_hash_with_domain`] of a `UserOp` given by its fields (no copy of `data`).
pub(crate) fn signing_hash_of(
    domain_separator: &B256,
    nonce: u32,
    max_fee: u16,
    data: &[u8],
) -> B256 {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(domain_separator.as_slice());
    buf[34..].copy_from_slice(struct_hash_of(nonce, max_fee, data).as_slice());
    keccak256(buf)
}

/// The digest a user signs for `op` on application `app` of chain `chain_id`.
pub fn signing_hash(chain_id: u64, app: Address, op: &UserOp) -> B256 {
    signing_hash_with_domain(&domain_separator(chain_id, app), op)
}

/// Signs `op` with a secret key, producing `r ‖ s ‖ v` with `v` in {27, 28}.
///
/// Returns `None` when `secret` is not a valid secp256k1 scalar. For workloads and tests.
pub fn sign_user_op(secret: &B256, chain_id: u64, app: Address, op: &UserOp) -> Option<[u8; 65]> {
    sign_hash(secret, &signing_hash(chain_id, app, op))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;
    use alloy_sol_types::{SolStruct, eip712_domain, sol};

    use super::*;

    sol! {
        struct UserOp712 {
            uint32 nonce;
            uint16 max_fee;
            bytes data;
        }
    }

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
}

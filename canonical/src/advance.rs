//! L1 input formats: the `EvmAdvance` envelope and the ERC-20 portal payload
//! (`protocol.md` §2.2, §2.5).

use alloy_primitives::{Address, Bytes, U256, hex};
use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, DecodeResult};

/// Selector of `EvmAdvance(uint256,address,address,uint256,uint256,uint256,uint256,bytes)`.
pub const EVM_ADVANCE_SELECTOR: [u8; 4] = hex!("415bf363");

/// Bytes before the payload: selector, eight head words and the length word.
const HEAD_LEN: usize = 4 + 9 * 32;

/// The advance request the InputBox builds for every input; `input` bytes of `InputAdded`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EvmAdvance {
    /// Chain id (must fit in 64 bits).
    pub chain_id: u64,
    /// The application the input is for.
    pub app_contract: Address,
    /// The caller of `addInput`.
    pub msg_sender: Address,
    /// The L1 block that included the input (must fit in 64 bits).
    pub block_number: u64,
    /// The including block's timestamp.
    pub block_timestamp: U256,
    /// The including block's `prevRandao`.
    pub prev_randao: U256,
    /// The per-application input index.
    pub index: U256,
    /// The bytes given to `addInput`.
    pub payload: Bytes,
}

/// Reads ABI word `n` after the selector. The caller has checked the bounds.
fn word(bytes: &[u8], n: usize) -> &[u8] {
    &bytes[4 + 32 * n..4 + 32 * (n + 1)]
}

fn address_word(what: &'static str, word: &[u8]) -> DecodeResult<Address> {
    if word[..12].iter().any(|&b| b != 0) {
        return Err(DecodeError::DirtyAddress { what });
    }
    Ok(Address::from_slice(&word[12..]))
}

fn u64_word(what: &'static str, word: &[u8]) -> DecodeResult<u64> {
    u64::try_from(U256::from_be_slice(word)).map_err(|_| DecodeError::Overflow { what })
}

fn usize_word(what: &'static str, word: &[u8]) -> DecodeResult<usize> {
    usize::try_from(U256::from_be_slice(word)).map_err(|_| DecodeError::AbiOutOfBounds { what })
}

impl EvmAdvance {
    /// Encodes the calldata the machine receives, selector included, payload zero-padded.
    pub fn encode(&self) -> Vec<u8> {
        let padded = self.payload.len().div_ceil(32) * 32;
        let mut out = Vec::with_capacity(HEAD_LEN + padded);
        out.extend_from_slice(&EVM_ADVANCE_SELECTOR);
        out.extend_from_slice(&U256::from(self.chain_id).to_be_bytes::<32>());
        out.extend_from_slice(self.app_contract.into_word().as_slice());
        out.extend_from_slice(self.msg_sender.into_word().as_slice());
        out.extend_from_slice(&U256::from(self.block_number).to_be_bytes::<32>());
        out.extend_from_slice(&self.block_timestamp.to_be_bytes::<32>());
        out.extend_from_slice(&self.prev_randao.to_be_bytes::<32>());
        out.extend_from_slice(&self.index.to_be_bytes::<32>());
        out.extend_from_slice(&U256::from(0x100).to_be_bytes::<32>());
        out.extend_from_slice(&U256::from(self.payload.len()).to_be_bytes::<32>());
        out.extend_from_slice(&self.payload);
        out.resize(HEAD_LEN + padded, 0);
        out
    }

    /// Decodes the calldata, following the payload offset and bound-checking every read.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "EvmAdvance";
        if bytes.len() < 4 + 8 * 32 {
            return Err(DecodeError::TooShort {
                what: WHAT,
                len: bytes.len(),
                min: 4 + 8 * 32,
            });
        }
        if bytes[..4] != EVM_ADVANCE_SELECTOR {
            return Err(DecodeError::WrongSelector {
                what: WHAT,
                found: hex::encode(&bytes[..4]),
                expected: "415bf363",
            });
        }
        let offset = usize_word("EvmAdvance.payload offset", word(bytes, 7))?;
        let length_at = offset
            .checked_add(4)
            .filter(|at| at.checked_add(32).is_some_and(|end| end <= bytes.len()));
        let length_at = length_at.ok_or(DecodeError::AbiOutOfBounds {
            what: "EvmAdvance.payload",
        })?;
        let length = usize_word(
            "EvmAdvance.payload length",
            &bytes[length_at..length_at + 32],
        )?;
        let start = length_at + 32;
        let end = start
            .checked_add(length)
            .filter(|&end| end <= bytes.len())
            .ok_or(DecodeError::AbiOutOfBounds {
                what: "EvmAdvance.payload",
            })?;
        Ok(Self {
            chain_id: u64_word("EvmAdvance.chainId", word(bytes, 0))?,
            app_contract: address_word("EvmAdvance.appContract", word(bytes, 1))?,
            msg_sender: address_word("EvmAdvance.msgSender", word(bytes, 2))?,
            block_number: u64_word("EvmAdvance.blockNumber", word(bytes, 3))?,
            block_timestamp: U256::from_be_slice(word(bytes, 4)),
            prev_randao: U256::from_be_slice(word(bytes, 5)),
            index: U256::from_be_slice(word(bytes, 6)),
            payload: Bytes::copy_from_slice(&bytes[start..end]),
        })
    }
}

/// The packed payload the ERC-20 portal adds for a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Erc20Deposit {
    /// The deposited token.
    pub token: Address,
    /// Who deposited (the caller of `depositErc20Tokens`).
    pub depositor: Address,
    /// Amount in the token's smallest units (big-endian on the wire).
    #[serde(with = "crate::serde_u256")]
    pub value: U256,
    /// Extra data passed through the portal.
    pub exec_layer_data: Bytes,
}

impl Erc20Deposit {
    /// Encodes `token ‖ depositor ‖ value ‖ exec_layer_data`, unpadded.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(72 + self.exec_layer_data.len());
        out.extend_from_slice(self.token.as_slice());
        out.extend_from_slice(self.depositor.as_slice());
        out.extend_from_slice(&self.value.to_be_bytes::<32>());
        out.extend_from_slice(&self.exec_layer_data);
        out
    }

    /// Decodes a portal payload; fewer than 72 bytes is malformed.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        if bytes.len() < 72 {
            return Err(DecodeError::TooShort {
                what: "Erc20Deposit",
                len: bytes.len(),
                min: 72,
            });
        }
        Ok(Self {
            token: Address::from_slice(&bytes[..20]),
            depositor: Address::from_slice(&bytes[20..40]),
            value: U256::from_be_slice(&bytes[40..72]),
            exec_layer_data: Bytes::copy_from_slice(&bytes[72..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EvmAdvance {
        EvmAdvance {
            chain_id: 31337,
            app_contract: Address::repeat_byte(1),
            msg_sender: Address::repeat_byte(2),
            block_number: 77,
            block_timestamp: U256::from(1_700_000_000u64),
            prev_randao: U256::from(5),
            index: U256::from(3),
            payload: Bytes::from(vec![9; 33]),
        }
    }

    #[test]
    fn layout_and_round_trip() {
        let advance = sample();
        let bytes = advance.encode();
        assert_eq!(bytes.len(), 292 + 64);
        assert_eq!(&bytes[..4], &EVM_ADVANCE_SELECTOR);
        assert_eq!(bytes[291], 33);
        assert_eq!(bytes[292], 9);
        assert_eq!(EvmAdvance::decode(&bytes).unwrap(), advance);
    }

    #[test]
    fn rejects_hostile_words() {
        let bytes = sample().encode();
        let mut dirty = bytes.clone();
        dirty[36] = 1;
        assert!(matches!(
            EvmAdvance::decode(&dirty),
            Err(DecodeError::DirtyAddress { .. })
        ));
        let mut big_chain = bytes.clone();
        big_chain[4] = 1;
        assert!(matches!(
            EvmAdvance::decode(&big_chain),
            Err(DecodeError::Overflow { .. })
        ));
        let mut far = bytes.clone();
        far[228..260].fill(0xff);
        assert!(matches!(
            EvmAdvance::decode(&far),
            Err(DecodeError::AbiOutOfBounds { .. })
        ));
        let mut long = bytes.clone();
        long[260..292].copy_from_slice(&U256::from(10_000).to_be_bytes::<32>());
        assert!(matches!(
            EvmAdvance::decode(&long),
            Err(DecodeError::AbiOutOfBounds { .. })
        ));
        assert!(EvmAdvance::decode(&bytes[..200]).is_err());
        let mut selector = bytes;
        selector[0] = 0;
        assert!(matches!(
            EvmAdvance::decode(&selector),
            Err(DecodeError::WrongSelector { .. })
        ));
    }

    #[test]
    fn deposit_round_trip() {
        let deposit = Erc20Deposit {
            token: Address::repeat_byte(3),
            depositor: Address::repeat_byte(4),
            value: U256::from(1000),
            exec_layer_data: Bytes::from(vec![1]),
        };
        let bytes = deposit.encode();
        assert_eq!(bytes.len(), 73);
        assert_eq!(Erc20Deposit::decode(&bytes).unwrap(), deposit);
        assert!(Erc20Deposit::decode(&bytes[..71]).is_err());
    }
}

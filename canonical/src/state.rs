//! The complete, serialisable state of the canonical machine.
//!
//! Format (all integers little-endian), version 1:
//!
//! | Bytes | Field |
//! |---|---|
//! | 4 | magic `CWES` |
//! | 1 | format version (1) |
//! | 8 | `chain_id` of the configuration |
//! | 4 + n | length-prefixed canonical `WalletSnapshot` bytes |
//! | 8 | `next_batch_nonce` |
//! | 4 | number of fridge entries, then per entry: sender (20), block (8), length-prefixed payload |
//!
//! Decoding is strict: the snapshot must be canonical and no byte may be left over, so
//! `decode(encode(s)) == s` and `encode(decode(b)) == b` for every accepted `b`.

use std::collections::VecDeque;

use alloy_primitives::{Address, Bytes};

use crate::config::WalletConfig;
use crate::error::{DecodeError, DecodeResult};
use crate::fridge::DirectInput;
use crate::snapshot::{SnapshotLayout, WalletSnapshot};
use crate::wallet::Wallet;

const MAGIC: &[u8; 4] = b"CWES";
const VERSION: u8 = 1;

/// Wallet, fridge and expected batch nonce: everything the fold carries between inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineState {
    /// The wallet application state.
    pub wallet: Wallet,
    /// Direct inputs waiting for a frame or the backstop, oldest first.
    pub fridge: VecDeque<DirectInput>,
    /// The nonce the next accepted batch must carry.
    pub next_batch_nonce: u64,
}

/// A bounds-checked cursor over untrusted bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(DecodeError::TooShort {
                what: "EngineState",
                len: self.bytes.len(),
                min: n,
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> DecodeResult<u32> {
        let mut word = [0; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word))
    }

    fn u64(&mut self) -> DecodeResult<u64> {
        let mut word = [0; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }

    fn prefixed(&mut self) -> DecodeResult<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}

fn put_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Payloads and snapshots are far below 4 GiB; a larger one cannot come from an L1 input.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

impl EngineState {
    /// The genesis state of a configuration.
    pub fn genesis(config: WalletConfig) -> Self {
        Self {
            wallet: Wallet::new(config),
            fridge: VecDeque::new(),
            next_batch_nonce: 0,
        }
    }

    /// Serialises the state deterministically.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.wallet.config().chain_id.to_le_bytes());
        put_prefixed(&mut out, &self.wallet.snapshot().encode());
        out.extend_from_slice(&self.next_batch_nonce.to_le_bytes());
        out.extend_from_slice(&(self.fridge.len() as u32).to_le_bytes());
        for direct in &self.fridge {
            out.extend_from_slice(direct.sender.as_slice());
            out.extend_from_slice(&direct.block.to_le_bytes());
            put_prefixed(&mut out, &direct.payload);
        }
        out
    }

    /// Parses a serialised state; rejects anything [`encode`](Self::encode) would not produce.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut cursor = Cursor { bytes };
        if cursor.take(4)? != MAGIC {
            return Err(DecodeError::WrongSelector {
                what: "EngineState",
                found: alloy_primitives::hex::encode(&bytes[..4]),
                expected: "43574553",
            });
        }
        let version = cursor.take(1)?[0];
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let chain_id = cursor.u64()?;
        let snapshot_bytes = cursor.prefixed()?;
        let (snapshot, layout) = WalletSnapshot::decode_with_layout(snapshot_bytes)?;
        if layout != SnapshotLayout::Current || !snapshot.is_canonical() {
            return Err(DecodeError::BadOffset {
                what: "EngineState.snapshot",
                offset: 0,
                rule: "the stored snapshot must be canonical",
            });
        }
        let wallet = Wallet::from_snapshot(&snapshot, chain_id).ok_or(DecodeError::BadOffset {
            what: "EngineState.snapshot",
            offset: 0,
            rule: "the stored snapshot must be canonical",
        })?;
        let next_batch_nonce = cursor.u64()?;
        let count = cursor.u32()?;
        let mut fridge = VecDeque::new();
        for _ in 0..count {
            let sender = Address::from_slice(cursor.take(20)?);
            let block = cursor.u64()?;
            let payload = Bytes::copy_from_slice(cursor.prefixed()?);
            fridge.push_back(DirectInput {
                sender,
                payload,
                block,
            });
        }
        if !cursor.bytes.is_empty() {
            return Err(DecodeError::WrongLength {
                what: "EngineState",
                len: bytes.len(),
                expected: bytes.len() - cursor.bytes.len(),
            });
        }
        Ok(Self {
            wallet,
            fridge,
            next_batch_nonce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_byte_identical() {
        let mut state = EngineState::genesis(WalletConfig::devnet());
        state.next_batch_nonce = 4;
        state.fridge.push_back(DirectInput {
            sender: Address::repeat_byte(1),
            payload: Bytes::from(vec![1, 2, 3]),
            block: 9,
        });
        let bytes = state.encode();
        let decoded = EngineState::decode(&bytes).unwrap();
        assert_eq!(decoded, state);
        assert_eq!(decoded.encode(), bytes);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(EngineState::decode(&trailing).is_err());
        for cut in 0..bytes.len() {
            assert!(EngineState::decode(&bytes[..cut]).is_err());
        }
    }
}

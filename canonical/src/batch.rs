//! `Batch`, `Frame` and `WireUserOp`: what the sequencer posts to L1 (`protocol.md` §4.4).
//!
//! The SSZ containers are the reference's, encoded and decoded by the reference's codec
//! (`ethereum_ssz`), so a batch decodes here exactly when it decodes in the canonical guest.

use alloy_primitives::Bytes;
use serde::{Deserialize, Serialize};
use ssz::{Decode as _, Encode as _};
use ssz_derive::{Decode, Encode};

use crate::eip712::UserOp;
use crate::error::{DecodeError, DecodeResult};

/// A batch: the sequencer's ordered frames, numbered by a consensus nonce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Encode, Decode)]
pub struct Batch {
    /// Must equal the fold's next batch nonce.
    pub nonce: u64,
    /// Frames in order.
    pub frames: Vec<Frame>,
}

/// A frame: user operations sharing one clock (`safe_block`) and one fee exponent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Encode, Decode)]
pub struct Frame {
    /// Operations in order.
    pub user_ops: Vec<WireUserOp>,
    /// Direct inputs of blocks up to this one are drained before the ops.
    pub safe_block: u64,
    /// The frame's fee exponent, charged to every included op.
    pub fee_price: u16,
}

/// A signed user operation as it travels in a frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Encode, Decode)]
pub struct WireUserOp {
    /// The sender's expected wallet nonce.
    pub nonce: u32,
    /// The highest fee exponent the sender accepts.
    pub max_fee: u16,
    /// Method bytes.
    pub data: Bytes,
    /// `r ‖ s ‖ v`; any other length than 65 decodes but is skipped by the fold.
    pub signature: Bytes,
}

impl WireUserOp {
    /// The signed part.
    pub fn user_op(&self) -> UserOp {
        UserOp {
            nonce: self.nonce,
            max_fee: self.max_fee,
            data: self.data.clone(),
        }
    }

    /// Encodes the container.
    pub fn encode(&self) -> Vec<u8> {
        self.as_ssz_bytes()
    }

    /// Decodes the container.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Self::from_ssz_bytes(bytes).map_err(|e| DecodeError::ssz("WireUserOp", e))
    }
}

impl Frame {
    /// Encodes the container.
    pub fn encode(&self) -> Vec<u8> {
        self.as_ssz_bytes()
    }

    /// Decodes the container.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Self::from_ssz_bytes(bytes).map_err(|e| DecodeError::ssz("Frame", e))
    }
}

impl Batch {
    /// Encodes `ssz(Batch)`: the exact payload of a batch input.
    pub fn encode(&self) -> Vec<u8> {
        self.as_ssz_bytes()
    }

    /// Decodes a batch payload, accepting exactly what the reference codec accepts.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Self::from_ssz_bytes(bytes).map_err(|e| DecodeError::ssz("Batch", e))
    }

    /// Number of user operations in all frames.
    pub fn op_count(&self) -> usize {
        self.frames.iter().map(|frame| frame.user_ops.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(n: u32) -> WireUserOp {
        WireUserOp {
            nonce: n,
            max_fee: 1400,
            data: Bytes::from(vec![1; 53]),
            signature: Bytes::from(vec![2; 65]),
        }
    }

    #[test]
    fn empty_batch_is_twelve_bytes() {
        let bytes = Batch {
            nonce: 5,
            frames: vec![],
        }
        .encode();
        assert_eq!(bytes, [5, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0]);
        assert_eq!(Batch::decode(&bytes).unwrap().nonce, 5);
    }

    #[test]
    fn round_trip() {
        let batch = Batch {
            nonce: 3,
            frames: vec![
                Frame {
                    user_ops: vec![op(0), op(1)],
                    safe_block: 10,
                    fee_price: 1356,
                },
                Frame {
                    user_ops: vec![],
                    safe_block: 11,
                    fee_price: 0,
                },
            ],
        };
        let bytes = batch.encode();
        assert_eq!(Batch::decode(&bytes).unwrap(), batch);
    }

    #[test]
    fn rejects_truncations_and_trailing_garbage_in_fixed_lists() {
        let batch = Batch {
            nonce: 1,
            frames: vec![Frame {
                user_ops: vec![op(0)],
                safe_block: 1,
                fee_price: 1,
            }],
        };
        let bytes = batch.encode();
        for cut in 0..bytes.len() {
            // Every strict prefix must either fail or decode to something else.
            if let Ok(decoded) = Batch::decode(&bytes[..cut]) {
                assert_ne!(decoded, batch, "prefix {cut}");
            }
        }
        assert!(Batch::decode(&bytes[..11]).is_err());
    }
}

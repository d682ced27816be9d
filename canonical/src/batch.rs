//! `Batch`, `Frame` and `WireUserOp`: what the sequencer posts to L1 (`protocol.md` §4.4).

use alloy_primitives::Bytes;
use serde::{Deserialize, Serialize};

use crate::eip712::UserOp;
use crate::error::DecodeResult;
use crate::ssz;

/// Fixed part of a [`Batch`]: nonce and the frames offset.
const BATCH_FIXED: usize = 12;
/// Fixed part of a [`Frame`]: ops offset, safe block and fee price.
const FRAME_FIXED: usize = 14;
/// Fixed part of a [`WireUserOp`]: nonce, max fee and two offsets.
const OP_FIXED: usize = 14;

/// A batch: the sequencer's ordered frames, numbered by a consensus nonce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Batch {
    /// Must equal the fold's next batch nonce.
    pub nonce: u64,
    /// Frames in order.
    pub frames: Vec<Frame>,
}

/// A frame: user operations sharing one clock (`safe_block`) and one fee exponent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Frame {
    /// Operations in order.
    pub user_ops: Vec<WireUserOp>,
    /// Direct inputs of blocks up to this one are drained before the ops.
    pub safe_block: u64,
    /// The frame's fee exponent, charged to every included op.
    pub fee_price: u16,
}

/// A signed user operation as it travels in a frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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
        let mut out = Vec::with_capacity(OP_FIXED + self.data.len() + self.signature.len());
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.max_fee.to_le_bytes());
        ssz::put_offset(&mut out, OP_FIXED);
        ssz::put_offset(&mut out, OP_FIXED + self.data.len());
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes the container.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let spans = ssz::variable_fields("WireUserOp", bytes, OP_FIXED, &[6, 10])?;
        Ok(Self {
            nonce: ssz::u32_at(bytes, 0),
            max_fee: ssz::u16_at(bytes, 4),
            data: Bytes::copy_from_slice(spans[0]),
            signature: Bytes::copy_from_slice(spans[1]),
        })
    }
}

impl Frame {
    /// Encodes the container.
    pub fn encode(&self) -> Vec<u8> {
        let ops: Vec<Vec<u8>> = self.user_ops.iter().map(WireUserOp::encode).collect();
        let mut out =
            Vec::with_capacity(FRAME_FIXED + ops.iter().map(|op| op.len() + 4).sum::<usize>());
        ssz::put_offset(&mut out, FRAME_FIXED);
        out.extend_from_slice(&self.safe_block.to_le_bytes());
        out.extend_from_slice(&self.fee_price.to_le_bytes());
        ssz::put_variable_list(&mut out, &ops);
        out
    }

    /// Decodes the container.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let spans = ssz::variable_fields("Frame", bytes, FRAME_FIXED, &[0])?;
        let user_ops = ssz::variable_list("Frame.user_ops", spans[0])?
            .into_iter()
            .map(WireUserOp::decode)
            .collect::<DecodeResult<_>>()?;
        Ok(Self {
            user_ops,
            safe_block: ssz::u64_at(bytes, 4),
            fee_price: ssz::u16_at(bytes, 12),
        })
    }
}

impl Batch {
    /// Encodes `ssz(Batch)`: the exact payload of a batch input.
    pub fn encode(&self) -> Vec<u8> {
        let frames: Vec<Vec<u8>> = self.frames.iter().map(Frame::encode).collect();
        let mut out =
            Vec::with_capacity(BATCH_FIXED + frames.iter().map(|f| f.len() + 4).sum::<usize>());
        out.extend_from_slice(&self.nonce.to_le_bytes());
        ssz::put_offset(&mut out, BATCH_FIXED);
        ssz::put_variable_list(&mut out, &frames);
        out
    }

    /// Decodes a batch payload, accepting exactly what the reference codec accepts.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let spans = ssz::variable_fields("Batch", bytes, BATCH_FIXED, &[8])?;
        let frames = ssz::variable_list("Batch.frames", spans[0])?
            .into_iter()
            .map(Frame::decode)
            .collect::<DecodeResult<_>>()?;
        Ok(Self {
            nonce: ssz::u64_at(bytes, 0),
            frames,
        })
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

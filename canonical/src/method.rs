//! The `Method` SSZ union carried in `UserOp.data` (`protocol.md` §3.2).

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, DecodeResult};

/// Selector byte of [`Method::Withdrawal`].
const WITHDRAWAL: u8 = 0x00;
/// Selector byte of [`Method::Transfer`].
const TRANSFER: u8 = 0x01;

/// What a user operation asks the wallet to do. Amounts are little-endian on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// Withdraw `amount` to L1: emits an ERC-20 `transfer` voucher.
    Withdrawal {
        /// Amount in the token's smallest units.
        #[serde(with = "crate::serde_u256")]
        amount: U256,
    },
    /// Move `amount` to `to` inside the wallet.
    Transfer {
        /// Amount in the token's smallest units.
        #[serde(with = "crate::serde_u256")]
        amount: U256,
        /// Recipient.
        to: Address,
    },
}

impl Method {
    /// Encodes the union: selector byte then the variant's body (33 or 53 bytes in all).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Withdrawal { amount } => {
                let mut out = Vec::with_capacity(33);
                out.push(WITHDRAWAL);
                out.extend_from_slice(&amount.to_le_bytes::<32>());
                out
            }
            Self::Transfer { amount, to } => {
                let mut out = Vec::with_capacity(53);
                out.push(TRANSFER);
                out.extend_from_slice(&amount.to_le_bytes::<32>());
                out.extend_from_slice(to.as_slice());
                out
            }
        }
    }

    /// Decodes the union; any length other than exactly 33 or 53 fails.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let (&selector, body) = bytes.split_first().ok_or(DecodeError::EmptyMethod)?;
        match selector {
            WITHDRAWAL => {
                if body.len() != 32 {
                    return Err(DecodeError::WrongLength {
                        what: "Withdrawal",
                        len: body.len(),
                        expected: 32,
                    });
                }
                Ok(Self::Withdrawal {
                    amount: U256::from_le_slice(body),
                })
            }
            TRANSFER => {
                if body.len() != 52 {
                    return Err(DecodeError::WrongLength {
                        what: "Transfer",
                        len: body.len(),
                        expected: 52,
                    });
                }
                Ok(Self::Transfer {
                    amount: U256::from_le_slice(&body[..32]),
                    to: Address::from_slice(&body[32..]),
                })
            }
            other => Err(DecodeError::UnknownMethod(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let transfer = Method::Transfer {
            amount: U256::from(0x0102),
            to: Address::repeat_byte(9),
        };
        let bytes = transfer.encode();
        assert_eq!(bytes.len(), 53);
        assert_eq!(&bytes[..3], &[1, 0x02, 0x01]);
        assert_eq!(Method::decode(&bytes).unwrap(), transfer);
        let withdrawal = Method::Withdrawal { amount: U256::MAX };
        assert_eq!(Method::decode(&withdrawal.encode()).unwrap(), withdrawal);
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert!(Method::decode(&[]).is_err());
        assert!(Method::decode(&[2; 53]).is_err());
        assert!(Method::decode(&[0; 34]).is_err());
        assert!(Method::decode(&[1; 52]).is_err());
        let mut long = Method::Withdrawal { amount: U256::ONE }.encode();
        long.push(0);
        assert!(Method::decode(&long).is_err());
    }
}

//! The `Method` SSZ union carried in `UserOp.data` (`protocol.md` §3.2).

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use ssz::{Decode as _, Encode as _};
use ssz_derive::{Decode, Encode};

use crate::error::{DecodeError, DecodeResult};

/// The union as the reference declares it: selector 0 is a withdrawal, 1 a transfer.
#[derive(Encode, Decode)]
#[ssz(enum_behaviour = "union")]
enum WireMethod {
    Withdrawal(WireWithdrawal),
    Transfer(WireTransfer),
}

/// `Withdrawal { amount }`: 32 bytes, little-endian.
#[derive(Encode, Decode)]
struct WireWithdrawal {
    amount: U256,
}

/// `Transfer { amount, to }`: 32 bytes little-endian, then 20.
#[derive(Encode, Decode)]
struct WireTransfer {
    amount: U256,
    to: Address,
}

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
        let wire = match *self {
            Self::Withdrawal { amount } => WireMethod::Withdrawal(WireWithdrawal { amount }),
            Self::Transfer { amount, to } => WireMethod::Transfer(WireTransfer { amount, to }),
        };
        wire.as_ssz_bytes()
    }

    /// Decodes the union; any length other than exactly 33 or 53 fails.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        if bytes.is_empty() {
            return Err(DecodeError::EmptyMethod);
        }
        match WireMethod::from_ssz_bytes(bytes).map_err(|e| DecodeError::ssz("Method", e))? {
            WireMethod::Withdrawal(WireWithdrawal { amount }) => Ok(Self::Withdrawal { amount }),
            WireMethod::Transfer(WireTransfer { amount, to }) => Ok(Self::Transfer { amount, to }),
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

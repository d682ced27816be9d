//! Application outputs: notices and vouchers (`protocol.md` §3.8).

use alloy_primitives::{Address, Bytes, U256, hex};
use serde::{Deserialize, Serialize};

/// Selector of the wallet's `TransferNotice(address,address,uint256)`.
pub const TRANSFER_NOTICE_SELECTOR: [u8; 4] = hex!("98830f8d");
/// Selector of the wallet's `DepositNotice(address,address,uint256)`.
pub const DEPOSIT_NOTICE_SELECTOR: [u8; 4] = hex!("d19f477d");
/// Selector of ERC-20 `transfer(address,uint256)`.
pub const ERC20_TRANSFER_SELECTOR: [u8; 4] = hex!("a9059cbb");
/// Selector of the Cartesi output envelope `Notice(bytes)`.
pub const NOTICE_ENVELOPE_SELECTOR: [u8; 4] = hex!("c258d6e5");
/// Selector of the Cartesi output envelope `Voucher(address,uint256,bytes)`.
pub const VOUCHER_ENVELOPE_SELECTOR: [u8; 4] = hex!("237a816f");

/// One output of an advance, in emission order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    /// A notice with its application payload.
    Notice {
        /// Application payload (e.g. a `TransferNotice` call).
        payload: Bytes,
    },
    /// A voucher: a call the application authorises on L1.
    Voucher {
        /// Contract to call.
        destination: Address,
        /// Ether value (always zero for the wallet).
        #[serde(with = "crate::serde_u256")]
        value: U256,
        /// Calldata.
        payload: Bytes,
    },
}

/// `selector ‖ pad32(a) ‖ pad32(b) ‖ pad32(amount)`.
fn three_words(selector: [u8; 4], a: Address, b: Address, amount: U256) -> Bytes {
    let mut out = Vec::with_capacity(100);
    out.extend_from_slice(&selector);
    out.extend_from_slice(a.into_word().as_slice());
    out.extend_from_slice(b.into_word().as_slice());
    out.extend_from_slice(&amount.to_be_bytes::<32>());
    out.into()
}

impl Output {
    /// The notice announcing a wallet transfer.
    pub fn transfer_notice(sender: Address, recipient: Address, amount: U256) -> Self {
        Self::Notice {
            payload: three_words(TRANSFER_NOTICE_SELECTOR, sender, recipient, amount),
        }
    }

    /// The notice announcing a credited deposit.
    pub fn deposit_notice(token: Address, depositor: Address, amount: U256) -> Self {
        Self::Notice {
            payload: three_words(DEPOSIT_NOTICE_SELECTOR, token, depositor, amount),
        }
    }

    /// The voucher paying a withdrawal: `token.transfer(recipient, amount)`.
    pub fn withdrawal_voucher(token: Address, recipient: Address, amount: U256) -> Self {
        let mut payload = Vec::with_capacity(68);
        payload.extend_from_slice(&ERC20_TRANSFER_SELECTOR);
        payload.extend_from_slice(recipient.into_word().as_slice());
        payload.extend_from_slice(&amount.to_be_bytes::<32>());
        Self::Voucher {
            destination: token,
            value: U256::ZERO,
            payload: payload.into(),
        }
    }

    /// The ABI-encoded Cartesi envelope that goes into the outputs tree.
    pub fn envelope(&self) -> Vec<u8> {
        let (mut out, payload) = match self {
            Self::Notice { payload } => {
                let mut out = NOTICE_ENVELOPE_SELECTOR.to_vec();
                out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
                (out, payload)
            }
            Self::Voucher {
                destination,
                value,
                payload,
            } => {
                let mut out = VOUCHER_ENVELOPE_SELECTOR.to_vec();
                out.extend_from_slice(destination.into_word().as_slice());
                out.extend_from_slice(&value.to_be_bytes::<32>());
                out.extend_from_slice(&U256::from(96).to_be_bytes::<32>());
                (out, payload)
            }
        };
        out.extend_from_slice(&U256::from(payload.len()).to_be_bytes::<32>());
        out.extend_from_slice(payload);
        out.resize(out.len() + (32 - payload.len() % 32) % 32, 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use alloy_sol_types::{SolCall, sol};

    use super::*;

    sol! {
        function Notice(bytes payload);
        function Voucher(address destination, uint256 value, bytes payload);
        function transfer(address to, uint256 amount);
    }

    #[test]
    fn envelopes_match_the_abi() {
        let notice = Output::transfer_notice(
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            U256::from(5),
        );
        let Output::Notice { payload } = &notice else {
            unreachable!()
        };
        assert_eq!(payload.len(), 100);
        assert_eq!(
            notice.envelope(),
            NoticeCall {
                payload: payload.clone()
            }
            .abi_encode()
        );

        let voucher = Output::withdrawal_voucher(
            Address::repeat_byte(3),
            Address::repeat_byte(4),
            U256::from(6),
        );
        let Output::Voucher { payload, .. } = &voucher else {
            unreachable!()
        };
        assert_eq!(
            payload.to_vec(),
            transferCall {
                to: Address::repeat_byte(4),
                amount: U256::from(6)
            }
            .abi_encode()
        );
        let expected = VoucherCall {
            destination: Address::repeat_byte(3),
            value: U256::ZERO,
            payload: payload.clone(),
        }
        .abi_encode();
        assert_eq!(voucher.envelope(), expected);
    }
}

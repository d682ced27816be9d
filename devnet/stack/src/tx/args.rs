//! What a transaction takes: accounts by role name, index or address, amounts, payloads, and
//! how long to wait. Every check happens before anything is sent.

use std::str::FromStr;

use alloy::primitives::{Address, Bytes, U256};
use anyhow::{Result, anyhow, bail};
use devnet_pins::{ANVIL_ADDRESSES, roles};
use serde::{Deserialize, Serialize};

use crate::state_file::account_roles;

/// How far a transaction is waited for before its line is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Sent: the L1 transaction hash, or the sequencer's acknowledgement.
    None,
    /// Included: the L1 block of an input, or the sequencer's acknowledgement of an op (it
    /// was executed and committed, a soft confirmation).
    #[default]
    Soft,
    /// In the sequencer's finalized state: the block of the first finalized checkpoint that
    /// holds it.
    Finalized,
}

impl Wait {
    /// Every value, in order.
    pub const ALL: [Self; 3] = [Self::None, Self::Soft, Self::Finalized];

    /// Its name on the command line and in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Soft => "soft",
            Self::Finalized => "finalized",
        }
    }
}

impl FromStr for Wait {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|w| w.as_str() == text)
            .ok_or_else(|| anyhow!("bad wait {text:?}: none, soft or finalized"))
    }
}

/// A devnet account: one of anvil's ten default accounts, whose keys the devnet holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its index (anvil's default mnemonic).
    pub index: usize,
    /// Its address.
    pub address: Address,
}

impl Account {
    /// Refuses the batch submitter for L1 transactions: its nonces belong to the sequencer.
    pub fn for_l1(self) -> Result<Self> {
        if self.index == roles::SUBMITTER {
            bail!(
                "account {} is the batch submitter: its L1 nonces belong to the sequencer; send from another account",
                self.address
            );
        }
        Ok(self)
    }
}

impl FromStr for Account {
    type Err = anyhow::Error;

    /// A role name (`alice`, `bob`, `deployer`, `direct-inputs`, `submitter`), `load3` …
    /// `load7`, an index `0` … `9`, or one of those accounts' addresses.
    fn from_str(text: &str) -> Result<Self> {
        let by_index = |index: usize| Account {
            index,
            address: ANVIL_ADDRESSES[index],
        };
        let lower = text.trim().to_ascii_lowercase();
        if let Some(role) = account_roles()
            .into_iter()
            .find(|r| r.role != "load" && r.role == lower)
        {
            return Ok(by_index(role.index));
        }
        let numbered = lower.strip_prefix("load").unwrap_or(&lower);
        if let Ok(index) = numbered.parse::<usize>() {
            let load = lower.starts_with("load");
            if index < ANVIL_ADDRESSES.len() && (!load || (3..=7).contains(&index)) {
                return Ok(by_index(index));
            }
        }
        if lower.starts_with("0x") {
            let address: Address = lower
                .parse()
                .map_err(|e| anyhow!("bad account address {text:?}: {e}"))?;
            return ANVIL_ADDRESSES
                .iter()
                .position(|a| *a == address)
                .map(by_index)
                .ok_or_else(|| {
                    anyhow!(
                        "unknown account {address}: not one of the devnet's accounts, so there is no key to sign with"
                    )
                });
        }
        bail!(
            "unknown account {text:?}: use alice, bob, deployer, direct-inputs, submitter, load3…load7, an index 0…9 or one of their addresses"
        )
    }
}

/// A positive whole number of token units (the devnet token has 6 decimals).
pub fn parse_amount(text: &str) -> Result<U256> {
    let bad = |why: &str| anyhow!("bad amount {text:?}: {why}");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected a positive whole number of token units"));
    }
    let amount = U256::from_str_radix(text, 10).map_err(|_| bad("too large"))?;
    if amount.is_zero() {
        return Err(bad("must be above 0"));
    }
    if amount > U256::from(u128::MAX) {
        return Err(bad("too large"));
    }
    Ok(amount)
}

/// Hex bytes, with or without `0x`.
pub fn parse_payload(text: &str) -> Result<Bytes> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    alloy::primitives::hex::decode(digits)
        .map(Bytes::from)
        .map_err(|e| anyhow!("bad payload {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_resolve_by_role_index_and_address() {
        let alice: Account = "alice".parse().unwrap();
        assert_eq!(alice.index, roles::ALICE);
        assert_eq!("Bob".parse::<Account>().unwrap().index, roles::BOB);
        assert_eq!("load4".parse::<Account>().unwrap().index, 4);
        assert_eq!("8".parse::<Account>().unwrap().index, 8);
        let by_address: Account = ANVIL_ADDRESSES[2].to_string().parse().unwrap();
        assert_eq!(by_address.index, 2);
        let lower = ANVIL_ADDRESSES[2].to_string().to_lowercase();
        assert_eq!(lower.parse::<Account>().unwrap().index, 2);
        for bad in ["carol", "load", "load8", "10", "", "0x1234"] {
            assert!(bad.parse::<Account>().is_err(), "{bad}");
        }
        let stranger = Address::repeat_byte(0x42).to_string();
        let err = stranger.parse::<Account>().unwrap_err().to_string();
        assert!(err.contains("unknown account"), "{err}");
        let submitter: Account = "submitter".parse().unwrap();
        assert!(submitter.for_l1().is_err());
        assert!(alice.for_l1().is_ok());
    }

    #[test]
    fn amounts_are_positive_whole_numbers() {
        assert_eq!(parse_amount("600000").unwrap(), U256::from(600_000));
        for bad in ["0", "-1", "1.5", "", "1e6", "0x10", " 5", &"9".repeat(80)] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn payloads_are_hex() {
        assert_eq!(parse_payload("0xdead").unwrap().as_ref(), [0xde, 0xad]);
        assert_eq!(parse_payload("beef").unwrap().as_ref(), [0xbe, 0xef]);
        assert!(parse_payload("0x").unwrap().is_empty());
        assert!(parse_payload("0xzz").is_err());
        assert!(parse_payload("0xabc").is_err());
    }
}

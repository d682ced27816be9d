//! `WalletSnapshot`: the canonical serialisation of wallet state (`protocol.md` §4.2, §4.3).

use std::collections::BTreeSet;

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::WalletConfig;
use crate::error::{DecodeError, DecodeResult};
use crate::ssz;

/// Size of the current fixed part.
const FIXED_LEN: usize = 84;
/// Size of the legacy (V1) fixed part, which lacks `last_executed_safe_block`.
const FIXED_LEN_V1: usize = 76;
/// Size of one balance entry: address and big-endian balance.
const BALANCE_LEN: usize = 52;
/// Size of one nonce entry: address and little-endian `u32`.
const NONCE_LEN: usize = 24;

/// One account's balance. The SSZ form stores the balance big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotBalance {
    /// The account.
    pub address: Address,
    /// Its balance in the token's smallest units (a decimal string in JSON).
    #[serde(with = "crate::serde_u256")]
    pub balance: U256,
}

/// One account's wallet nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotNonce {
    /// The account.
    pub address: Address,
    /// The next nonce the account must sign.
    pub nonce: u32,
}

/// The wallet state as the sequencer serves it and the canonical machine reports it.
///
/// [`encode`](Self::encode) always produces the canonical form (lists sorted by address);
/// [`decode`](Self::decode) accepts exactly what the reference decoder accepts, including
/// unsorted lists, which [`is_canonical`](Self::is_canonical) flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WalletSnapshot {
    /// Configured ERC-20 portal.
    pub erc20_portal_address: Address,
    /// Configured token.
    pub supported_erc20_token: Address,
    /// Configured sequencer (batch submitter and fee recipient).
    pub sequencer_address: Address,
    /// Every balance entry, zero balances included.
    pub balances: Vec<SnapshotBalance>,
    /// Every nonce entry.
    pub nonces: Vec<SnapshotNonce>,
    /// Number of executed application inputs.
    pub executed_input_count: u64,
    /// Highest safe block (frame clock or direct-input block) of an executed input.
    pub last_executed_safe_block: u64,
}

/// Which byte layout a snapshot was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotLayout {
    /// The current 7-field layout (84-byte fixed part).
    Current,
    /// The legacy 6-field layout (76-byte fixed part, no `last_executed_safe_block`).
    V1,
}

impl WalletSnapshot {
    /// The empty wallet of a configuration: what a fresh deployment serves at block 0.
    pub fn genesis(config: &WalletConfig) -> Self {
        Self {
            erc20_portal_address: config.erc20_portal_address,
            supported_erc20_token: config.supported_erc20_token,
            sequencer_address: config.sequencer_address,
            balances: Vec::new(),
            nonces: Vec::new(),
            executed_input_count: 0,
            last_executed_safe_block: 0,
        }
    }

    /// Encodes the canonical bytes: lists sorted by address, current layout.
    pub fn encode(&self) -> Vec<u8> {
        let mut balances = self.balances.clone();
        balances.sort_by_key(|entry| entry.address);
        let mut nonces = self.nonces.clone();
        nonces.sort_by_key(|entry| entry.address);

        let nonces_offset = FIXED_LEN + BALANCE_LEN * balances.len();
        let mut out = Vec::with_capacity(nonces_offset + NONCE_LEN * nonces.len());
        out.extend_from_slice(self.erc20_portal_address.as_slice());
        out.extend_from_slice(self.supported_erc20_token.as_slice());
        out.extend_from_slice(self.sequencer_address.as_slice());
        ssz::put_offset(&mut out, FIXED_LEN);
        ssz::put_offset(&mut out, nonces_offset);
        out.extend_from_slice(&self.executed_input_count.to_le_bytes());
        out.extend_from_slice(&self.last_executed_safe_block.to_le_bytes());
        for entry in &balances {
            out.extend_from_slice(entry.address.as_slice());
            out.extend_from_slice(&entry.balance.to_be_bytes::<32>());
        }
        for entry in &nonces {
            out.extend_from_slice(entry.address.as_slice());
            out.extend_from_slice(&entry.nonce.to_le_bytes());
        }
        out
    }

    /// SHA-256 of [`encode`](Self::encode): the digest the comparison endpoints publish.
    pub fn digest(&self) -> B256 {
        B256::from_slice(&Sha256::digest(self.encode()))
    }

    /// Decodes either layout (the legacy one yields `last_executed_safe_block == 0`).
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Self::decode_with_layout(bytes).map(|(snapshot, _)| snapshot)
    }

    /// Decodes either layout and says which one it was, told apart by the balances offset.
    pub fn decode_with_layout(bytes: &[u8]) -> DecodeResult<(Self, SnapshotLayout)> {
        const WHAT: &str = "WalletSnapshot";
        if bytes.len() < FIXED_LEN_V1 {
            return Err(DecodeError::TooShort {
                what: WHAT,
                len: bytes.len(),
                min: FIXED_LEN,
            });
        }
        let layout = if ssz::u32_at(bytes, 60) as usize == FIXED_LEN_V1 {
            SnapshotLayout::V1
        } else {
            SnapshotLayout::Current
        };
        let fixed_len = match layout {
            SnapshotLayout::Current => FIXED_LEN,
            SnapshotLayout::V1 => FIXED_LEN_V1,
        };
        let spans = ssz::variable_fields(WHAT, bytes, fixed_len, &[60, 64])?;
        let executed_input_count = ssz::u64_at(bytes, 68);
        let last_executed_safe_block = match layout {
            SnapshotLayout::Current => ssz::u64_at(bytes, 76),
            SnapshotLayout::V1 => 0,
        };
        if executed_input_count == 0 && last_executed_safe_block != 0 {
            return Err(DecodeError::IncoherentProgress {
                clock: last_executed_safe_block,
            });
        }

        let mut seen = BTreeSet::new();
        let mut balances = Vec::new();
        for chunk in ssz::fixed_list("balances", spans[0], BALANCE_LEN)? {
            let address = Address::from_slice(&chunk[..20]);
            if !seen.insert(address) {
                return Err(DecodeError::DuplicateAddress {
                    list: "balances",
                    address,
                });
            }
            balances.push(SnapshotBalance {
                address,
                balance: U256::from_be_slice(&chunk[20..]),
            });
        }
        seen.clear();
        let mut nonces = Vec::new();
        for chunk in ssz::fixed_list("nonces", spans[1], NONCE_LEN)? {
            let address = Address::from_slice(&chunk[..20]);
            if !seen.insert(address) {
                return Err(DecodeError::DuplicateAddress {
                    list: "nonces",
                    address,
                });
            }
            nonces.push(SnapshotNonce {
                address,
                nonce: ssz::u32_at(chunk, 20),
            });
        }

        let snapshot = Self {
            erc20_portal_address: Address::from_slice(&bytes[0..20]),
            supported_erc20_token: Address::from_slice(&bytes[20..40]),
            sequencer_address: Address::from_slice(&bytes[40..60]),
            balances,
            nonces,
            executed_input_count,
            last_executed_safe_block,
        };
        Ok((snapshot, layout))
    }

    /// Whether both lists are sorted ascending by address (what [`encode`](Self::encode) makes).
    pub fn is_canonical(&self) -> bool {
        self.balances
            .windows(2)
            .all(|pair| pair[0].address < pair[1].address)
            && self
                .nonces
                .windows(2)
                .all(|pair| pair[0].address < pair[1].address)
    }

    /// The balance of `address`, if it has an entry.
    pub fn balance_of(&self, address: Address) -> Option<U256> {
        self.balances
            .iter()
            .find(|entry| entry.address == address)
            .map(|entry| entry.balance)
    }

    /// The nonce of `address`, if it has an entry.
    pub fn nonce_of(&self, address: Address) -> Option<u32> {
        self.nonces
            .iter()
            .find(|entry| entry.address == address)
            .map(|entry| entry.nonce)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    fn sample() -> WalletSnapshot {
        let mut snapshot = WalletSnapshot::genesis(&WalletConfig::devnet());
        snapshot.balances = vec![
            SnapshotBalance {
                address: address!("0x2000000000000000000000000000000000000002"),
                balance: U256::from(7),
            },
            SnapshotBalance {
                address: address!("0x1000000000000000000000000000000000000001"),
                balance: U256::ZERO,
            },
        ];
        snapshot.nonces = vec![SnapshotNonce {
            address: address!("0x1000000000000000000000000000000000000001"),
            nonce: 3,
        }];
        snapshot.executed_input_count = 4;
        snapshot.last_executed_safe_block = 99;
        snapshot
    }

    #[test]
    fn genesis_is_84_bytes_with_offsets() {
        let bytes = WalletSnapshot::genesis(&WalletConfig::devnet()).encode();
        assert_eq!(bytes.len(), 84);
        assert_eq!(&bytes[60..68], &[84, 0, 0, 0, 84, 0, 0, 0]);
    }

    #[test]
    fn encode_sorts_and_decodes_back() {
        let snapshot = sample();
        let bytes = snapshot.encode();
        assert_eq!(bytes.len(), 84 + 2 * 52 + 24);
        let decoded = WalletSnapshot::decode(&bytes).unwrap();
        assert!(decoded.is_canonical());
        assert!(!snapshot.is_canonical());
        assert_eq!(decoded.balances[0].address, snapshot.balances[1].address);
        assert_eq!(decoded.encode(), bytes);
        // The balance is big-endian inside the entry.
        assert_eq!(bytes[84 + 52 + 51], 7);
    }

    #[test]
    fn unsorted_lists_decode() {
        let mut bytes = sample().encode();
        // Swap the two balance entries.
        let (first, second) = (bytes[84..136].to_vec(), bytes[136..188].to_vec());
        bytes[84..136].copy_from_slice(&second);
        bytes[136..188].copy_from_slice(&first);
        let decoded = WalletSnapshot::decode(&bytes).unwrap();
        assert!(!decoded.is_canonical());
    }

    #[test]
    fn rejects_malformed() {
        let good = sample().encode();
        // Trailing byte: nonces region no longer a multiple of 24.
        let mut bytes = good.clone();
        bytes.push(0);
        assert!(matches!(
            WalletSnapshot::decode(&bytes),
            Err(DecodeError::PartialElement { .. })
        ));
        // Duplicate balance address.
        let mut bytes = good.clone();
        let first = bytes[84..104].to_vec();
        bytes[136..156].copy_from_slice(&first);
        assert!(matches!(
            WalletSnapshot::decode(&bytes),
            Err(DecodeError::DuplicateAddress { .. })
        ));
        // Incoherent progress pair.
        let mut bytes = good.clone();
        bytes[68..76].copy_from_slice(&0u64.to_le_bytes());
        assert!(matches!(
            WalletSnapshot::decode(&bytes),
            Err(DecodeError::IncoherentProgress { .. })
        ));
        // Bad balances offset.
        let mut bytes = good.clone();
        bytes[60] = 88;
        assert!(matches!(
            WalletSnapshot::decode(&bytes),
            Err(DecodeError::BadOffset { .. })
        ));
        // Nonces offset beyond the end.
        let mut bytes = good;
        bytes[64..68].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(matches!(
            WalletSnapshot::decode(&bytes),
            Err(DecodeError::BadOffset { .. })
        ));
        assert!(WalletSnapshot::decode(&[0; 83]).is_err());
    }

    #[test]
    fn decodes_legacy_layout() {
        let current = sample().encode();
        let mut legacy = current[..68].to_vec();
        legacy[60..64].copy_from_slice(&76u32.to_le_bytes());
        legacy[64..68].copy_from_slice(&(76u32 + 2 * 52).to_le_bytes());
        legacy.extend_from_slice(&current[68..76]);
        legacy.extend_from_slice(&current[84..]);
        let (decoded, layout) = WalletSnapshot::decode_with_layout(&legacy).unwrap();
        assert_eq!(layout, SnapshotLayout::V1);
        assert_eq!(decoded.executed_input_count, 4);
        assert_eq!(decoded.last_executed_safe_block, 0);
        assert_eq!(decoded.balances.len(), 2);
    }
}

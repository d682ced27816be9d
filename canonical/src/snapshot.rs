//! `WalletSnapshot`: the canonical serialisation of wallet state (`protocol.md` §4.2, §4.3).

use std::collections::BTreeSet;

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ssz::{Decode as _, Encode as _};
use ssz_derive::{Decode, Encode};

use crate::config::WalletConfig;
use crate::error::{DecodeError, DecodeResult};

/// Size of the legacy (V1) fixed part, which lacks `last_executed_safe_block`: the first
/// offset of a V1 snapshot, at bytes `[60, 64)`.
const FIXED_LEN_V1: u32 = 76;

/// The current layout as the reference declares it.
#[derive(Encode, Decode)]
struct Wire {
    erc20_portal_address: Address,
    supported_erc20_token: Address,
    sequencer_address: Address,
    balances: Vec<WireBalance>,
    nonces: Vec<WireNonce>,
    executed_input_count: u64,
    last_executed_safe_block: u64,
}

/// The legacy layout: the current one without `last_executed_safe_block`.
#[derive(Encode, Decode)]
struct WireV1 {
    erc20_portal_address: Address,
    supported_erc20_token: Address,
    sequencer_address: Address,
    balances: Vec<WireBalance>,
    nonces: Vec<WireNonce>,
    executed_input_count: u64,
}

/// A balance entry: the balance is a big-endian byte array, not an SSZ integer.
#[derive(Encode, Decode)]
struct WireBalance {
    address: Address,
    balance_be: [u8; 32],
}

/// A nonce entry.
#[derive(Encode, Decode)]
struct WireNonce {
    address: Address,
    nonce: u32,
}

impl From<WireV1> for Wire {
    fn from(v1: WireV1) -> Self {
        Self {
            erc20_portal_address: v1.erc20_portal_address,
            supported_erc20_token: v1.supported_erc20_token,
            sequencer_address: v1.sequencer_address,
            balances: v1.balances,
            nonces: v1.nonces,
            executed_input_count: v1.executed_input_count,
            last_executed_safe_block: 0,
        }
    }
}

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
        let mut balances: Vec<WireBalance> = self
            .balances
            .iter()
            .map(|entry| WireBalance {
                address: entry.address,
                balance_be: entry.balance.to_be_bytes(),
            })
            .collect();
        balances.sort_by_key(|entry| entry.address);
        let mut nonces: Vec<WireNonce> = self
            .nonces
            .iter()
            .map(|entry| WireNonce {
                address: entry.address,
                nonce: entry.nonce,
            })
            .collect();
        nonces.sort_by_key(|entry| entry.address);
        Wire {
            erc20_portal_address: self.erc20_portal_address,
            supported_erc20_token: self.supported_erc20_token,
            sequencer_address: self.sequencer_address,
            balances,
            nonces,
            executed_input_count: self.executed_input_count,
            last_executed_safe_block: self.last_executed_safe_block,
        }
        .as_ssz_bytes()
    }

    /// SHA-256 of [`encode`](Self::encode): the digest the comparison endpoints publish.
    pub fn digest(&self) -> B256 {
        B256::from_slice(&Sha256::digest(self.encode()))
    }

    /// Decodes either layout (the legacy one yields `last_executed_safe_block == 0`).
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Self::decode_with_layout(bytes).map(|(snapshot, _)| snapshot)
    }

    /// Decodes either layout and says which one it was, told apart by the first offset (the
    /// balances offset equals the fixed-part size: 84 current, 76 legacy).
    pub fn decode_with_layout(bytes: &[u8]) -> DecodeResult<(Self, SnapshotLayout)> {
        const WHAT: &str = "WalletSnapshot";
        // Shorter than either fixed part: name the current one.
        if bytes.len() < FIXED_LEN_V1 as usize {
            return Err(DecodeError::TooShort {
                what: WHAT,
                len: bytes.len(),
                min: 84,
            });
        }
        let first_offset = bytes
            .get(60..64)
            .and_then(|word| word.try_into().ok())
            .map(u32::from_le_bytes);
        let (wire, layout) = if first_offset == Some(FIXED_LEN_V1) {
            let wire = WireV1::from_ssz_bytes(bytes).map_err(|e| DecodeError::ssz(WHAT, e))?;
            (Wire::from(wire), SnapshotLayout::V1)
        } else {
            let wire = Wire::from_ssz_bytes(bytes).map_err(|e| DecodeError::ssz(WHAT, e))?;
            (wire, SnapshotLayout::Current)
        };
        if wire.executed_input_count == 0 && wire.last_executed_safe_block != 0 {
            return Err(DecodeError::IncoherentProgress {
                clock: wire.last_executed_safe_block,
            });
        }
        let balances = wire.balances.into_iter().map(|entry| SnapshotBalance {
            address: entry.address,
            balance: U256::from_be_bytes(entry.balance_be),
        });
        let balances = unique("balances", balances, |entry| entry.address)?;
        let nonces = wire.nonces.into_iter().map(|entry| SnapshotNonce {
            address: entry.address,
            nonce: entry.nonce,
        });
        let nonces = unique("nonces", nonces, |entry| entry.address)?;
        let snapshot = Self {
            erc20_portal_address: wire.erc20_portal_address,
            supported_erc20_token: wire.supported_erc20_token,
            sequencer_address: wire.sequencer_address,
            balances,
            nonces,
            executed_input_count: wire.executed_input_count,
            last_executed_safe_block: wire.last_executed_safe_block,
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

/// Collects a decoded list, refusing a repeated address.
fn unique<T>(
    list: &'static str,
    entries: impl Iterator<Item = T>,
    address: impl Fn(&T) -> Address,
) -> DecodeResult<Vec<T>> {
    let mut seen = BTreeSet::new();
    entries
        .map(|entry| {
            let key = address(&entry);
            if seen.insert(key) {
                Ok(entry)
            } else {
                Err(DecodeError::DuplicateAddress { list, address: key })
            }
        })
        .collect()
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
            Err(DecodeError::TooShort { .. })
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

    /// The reference's own snapshot bytes (`../shared/upstream-fixtures`, read in place), from
    /// builds whose portal constant differs from ours.
    mod upstream {
        use std::path::PathBuf;

        use super::*;
        use crate::config::ERC20_PORTAL_ADDRESS;

        fn fixture(name: &str) -> Vec<u8> {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let path = root
                .ancestors()
                .map(|dir| dir.join("shared/upstream-fixtures").join(name))
                .find(|path| path.exists())
                .unwrap_or_else(|| {
                    panic!("{name}: no shared/upstream-fixtures beside the workspace")
                });
            let text = std::fs::read_to_string(path).unwrap();
            alloy_primitives::hex::decode(text.trim()).unwrap()
        }

        /// The legacy encoding of a decoded snapshot (never produced outside this test).
        fn encode_v1(snapshot: &WalletSnapshot) -> Vec<u8> {
            let wire = Wire::from_ssz_bytes(&snapshot.encode()).unwrap();
            WireV1 {
                erc20_portal_address: wire.erc20_portal_address,
                supported_erc20_token: wire.supported_erc20_token,
                sequencer_address: wire.sequencer_address,
                balances: wire.balances,
                nonces: wire.nonces,
                executed_input_count: wire.executed_input_count,
            }
            .as_ssz_bytes()
        }

        /// Decodes `name`, checks its layout, size, empty lists and portal (not ours).
        fn decode(name: &str, layout: SnapshotLayout, len: usize, portal: [u8; 2]) -> Vec<u8> {
            let bytes = fixture(name);
            let (snapshot, found) = WalletSnapshot::decode_with_layout(&bytes).unwrap();
            assert_eq!(found, layout, "{name}");
            assert_eq!(bytes.len(), len, "{name}");
            assert!(snapshot.balances.is_empty() && snapshot.nonces.is_empty());
            assert_eq!(&snapshot.erc20_portal_address[..2], &portal);
            assert_ne!(snapshot.erc20_portal_address, ERC20_PORTAL_ADDRESS);
            bytes
        }

        #[test]
        fn the_current_layout_decodes_and_re_encodes_byte_for_byte() {
            let bytes = decode(
                "wallet_snapshot_empty.hex",
                SnapshotLayout::Current,
                84,
                [0x22, 0xe5],
            );
            assert_eq!(WalletSnapshot::decode(&bytes).unwrap().encode(), bytes);
        }

        #[test]
        fn the_v1_layout_decodes_and_re_encodes_byte_for_byte() {
            let bytes = decode(
                "wallet_snapshot_v1_empty.hex",
                SnapshotLayout::V1,
                76,
                [0xac, 0xa6],
            );
            let snapshot = WalletSnapshot::decode(&bytes).unwrap();
            assert_eq!(snapshot.last_executed_safe_block, 0);
            assert_eq!(encode_v1(&snapshot), bytes);
            // Served again, it takes the current layout.
            assert_eq!(snapshot.encode().len(), 84);
        }
    }
}

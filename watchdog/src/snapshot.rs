//! WalletSnapshot tools (spec `watchdog.md` §6.6): strict decoding to JSON and a
//! per-account diff. Used by `snapshot decode|diff` and for `wallet_diff.json` evidence.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use canonical::{SnapshotLayout, WalletSnapshot};
use serde::Serialize;

/// A snapshot decoded strictly, with the layout it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The snapshot.
    pub snapshot: WalletSnapshot,
    /// The byte layout (current 7-field or legacy 6-field).
    pub layout: SnapshotLayout,
}

/// Decodes either layout and, beyond the reference decoder, refuses unsorted lists: the
/// canonical encoding sorts both by address, and duplicates are already refused.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let (snapshot, layout) = WalletSnapshot::decode_with_layout(bytes).map_err(|e| {
        let text = e.to_string();
        text.strip_prefix("WalletSnapshot: ")
            .map(str::to_owned)
            .unwrap_or(text)
    })?;
    if !strictly_ascending(snapshot.balances.iter().map(|b| b.address)) {
        return Err("balances are not sorted by address".to_owned());
    }
    if !strictly_ascending(snapshot.nonces.iter().map(|n| n.address)) {
        return Err("nonces are not sorted by address".to_owned());
    }
    Ok(Decoded { snapshot, layout })
}

fn strictly_ascending(mut addresses: impl Iterator<Item = Address>) -> bool {
    let Some(mut previous) = addresses.next() else {
        return true;
    };
    addresses.all(|address| {
        let ok = address > previous;
        previous = address;
        ok
    })
}

/// The layout name used in JSON (`current`, `v1`).
pub fn layout_name(layout: SnapshotLayout) -> &'static str {
    match layout {
        SnapshotLayout::Current => "current",
        SnapshotLayout::V1 => "v1",
    }
}

fn hex_address(address: &Address) -> String {
    format!("0x{}", hex::encode(address.as_slice()))
}

/// The JSON view of a snapshot: schema field order, lowercase addresses, balances as decimal
/// strings; `last_executed_safe_block` is `null` for the legacy layout, which lacks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotView {
    /// Configured ERC-20 portal.
    pub erc20_portal_address: String,
    /// Configured token.
    pub supported_erc20_token: String,
    /// Configured sequencer.
    pub sequencer_address: String,
    /// Balances in address order.
    pub balances: Vec<BalanceView>,
    /// Nonces in address order.
    pub nonces: Vec<NonceView>,
    /// Executed application inputs.
    pub executed_input_count: u64,
    /// Highest executed safe block (`null` in the legacy layout).
    pub last_executed_safe_block: Option<u64>,
}

/// One balance entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceView {
    /// Lowercase address.
    pub address: String,
    /// Decimal balance.
    pub balance: String,
}

/// One nonce entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NonceView {
    /// Lowercase address.
    pub address: String,
    /// The next nonce.
    pub nonce: u32,
}

impl SnapshotView {
    /// The view of a decoded snapshot.
    pub fn new(decoded: &Decoded) -> Self {
        let s = &decoded.snapshot;
        Self {
            erc20_portal_address: hex_address(&s.erc20_portal_address),
            supported_erc20_token: hex_address(&s.supported_erc20_token),
            sequencer_address: hex_address(&s.sequencer_address),
            balances: s
                .balances
                .iter()
                .map(|b| BalanceView {
                    address: hex_address(&b.address),
                    balance: b.balance.to_string(),
                })
                .collect(),
            nonces: s
                .nonces
                .iter()
                .map(|n| NonceView {
                    address: hex_address(&n.address),
                    nonce: n.nonce,
                })
                .collect(),
            executed_input_count: s.executed_input_count,
            last_executed_safe_block: clock(decoded),
        }
    }
}

fn clock(decoded: &Decoded) -> Option<u64> {
    match decoded.layout {
        SnapshotLayout::Current => Some(decoded.snapshot.last_executed_safe_block),
        SnapshotLayout::V1 => None,
    }
}

/// `{"a": …, "b": …}`; `null` = absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair<T> {
    /// The value in A.
    pub a: Option<T>,
    /// The value in B.
    pub b: Option<T>,
}

/// One account that differs: both balance and nonce are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountDiff {
    /// Lowercase address.
    pub address: String,
    /// Balances (decimal strings).
    pub balance: Pair<String>,
    /// Nonces.
    pub nonce: Pair<u32>,
}

/// The diff document (also `wallet_diff.json`): only differing fields and accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotDiff {
    /// Whether nothing differs.
    pub identical: bool,
    /// Differing scalar fields, in schema order.
    pub fields: Fields,
    /// Differing accounts, by address.
    pub accounts: Vec<AccountDiff>,
}

/// Differing scalar fields in schema order; equal fields are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fields {
    /// Portal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erc20_portal_address: Option<Pair<String>>,
    /// Token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_erc20_token: Option<Pair<String>>,
    /// Sequencer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequencer_address: Option<Pair<String>>,
    /// Executed input count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_input_count: Option<Pair<u64>>,
    /// Clock (`null` side = legacy layout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_executed_safe_block: Option<Pair<u64>>,
}

impl Fields {
    fn is_empty(&self) -> bool {
        self == &Fields::default()
    }
}

fn differ<T: PartialEq + Clone>(a: Option<T>, b: Option<T>) -> Option<Pair<T>> {
    (a != b).then_some(Pair { a, b })
}

/// Compares two decoded snapshots.
pub fn diff(a: &Decoded, b: &Decoded) -> SnapshotDiff {
    let (sa, sb) = (&a.snapshot, &b.snapshot);
    let addr = |x: &Address| Some(hex_address(x));
    let fields = Fields {
        erc20_portal_address: differ(
            addr(&sa.erc20_portal_address),
            addr(&sb.erc20_portal_address),
        ),
        supported_erc20_token: differ(
            addr(&sa.supported_erc20_token),
            addr(&sb.supported_erc20_token),
        ),
        sequencer_address: differ(addr(&sa.sequencer_address), addr(&sb.sequencer_address)),
        executed_input_count: differ(Some(sa.executed_input_count), Some(sb.executed_input_count)),
        last_executed_safe_block: differ(clock(a), clock(b)),
    };
    let accounts = account_diffs(sa, sb);
    SnapshotDiff {
        identical: fields.is_empty() && accounts.is_empty(),
        fields,
        accounts,
    }
}

type Account = (Option<U256>, Option<u32>);

fn accounts_of(s: &WalletSnapshot) -> BTreeMap<Address, Account> {
    let mut map: BTreeMap<Address, Account> = BTreeMap::new();
    for b in &s.balances {
        map.entry(b.address).or_default().0 = Some(b.balance);
    }
    for n in &s.nonces {
        map.entry(n.address).or_default().1 = Some(n.nonce);
    }
    map
}

fn account_diffs(a: &WalletSnapshot, b: &WalletSnapshot) -> Vec<AccountDiff> {
    let (ma, mb) = (accounts_of(a), accounts_of(b));
    let mut addresses: Vec<&Address> = ma.keys().chain(mb.keys()).collect();
    addresses.sort();
    addresses.dedup();
    addresses
        .into_iter()
        .filter_map(|address| {
            let (ba, na) = ma.get(address).copied().unwrap_or_default();
            let (bb, nb) = mb.get(address).copied().unwrap_or_default();
            ((ba, na) != (bb, nb)).then(|| AccountDiff {
                address: hex_address(address),
                balance: Pair {
                    a: ba.map(|v| v.to_string()),
                    b: bb.map(|v| v.to_string()),
                },
                nonce: Pair { a: na, b: nb },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;
    use canonical::{SnapshotBalance, SnapshotNonce, WalletConfig};

    use super::*;
    use crate::json;

    const ALICE: Address = address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const BOB: Address = address!("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");

    fn sample() -> WalletSnapshot {
        let mut s = WalletSnapshot::genesis(&WalletConfig::devnet());
        s.balances = vec![
            SnapshotBalance {
                address: BOB,
                balance: U256::from(5u8),
            },
            SnapshotBalance {
                address: ALICE,
                balance: U256::from(400_000u32),
            },
        ];
        s.nonces = vec![SnapshotNonce {
            address: ALICE,
            nonce: 1,
        }];
        s.executed_input_count = 19;
        s.last_executed_safe_block = 120;
        s
    }

    #[test]
    fn decode_round_trips_and_renders_in_schema_order() {
        let bytes = sample().encode();
        let d = decode(&bytes).unwrap();
        assert_eq!(d.layout, SnapshotLayout::Current);
        let text = json::to_string(&SnapshotView::new(&d)).unwrap();
        let keys = [
            "erc20_portal_address",
            "supported_erc20_token",
            "sequencer_address",
            "balances",
            "nonces",
            "executed_input_count",
            "last_executed_safe_block",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(
            text.contains(
                r#"{"address":"0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc","balance":"5"}"#
            )
        );
        assert!(text.ends_with(r#""executed_input_count":19,"last_executed_safe_block":120}"#));
        assert_eq!(text, text.to_lowercase());
    }

    #[test]
    fn unsorted_lists_are_refused() {
        // Swap the two balance entries of the canonical encoding.
        let mut bytes = sample().encode();
        let (first, second) = (84..136, 136..188);
        let a = bytes[first.clone()].to_vec();
        let b = bytes[second.clone()].to_vec();
        bytes[first].copy_from_slice(&b);
        bytes[second].copy_from_slice(&a);
        let err = decode(&bytes).unwrap_err();
        assert!(err.contains("not sorted"), "{err}");
    }

    #[test]
    fn diff_lists_only_differences() {
        let a = decode(&sample().encode()).unwrap();
        assert!(diff(&a, &a).identical);
        assert_eq!(
            json::to_string(&diff(&a, &a)).unwrap(),
            r#"{"identical":true,"fields":{},"accounts":[]}"#
        );
        let mut other = sample();
        other.balances.retain(|b| b.address != ALICE);
        other.executed_input_count = 18;
        let b = decode(&other.encode()).unwrap();
        assert_eq!(
            json::to_string(&diff(&a, &b)).unwrap(),
            r#"{"identical":false,"fields":{"executed_input_count":{"a":19,"b":18}},"accounts":[{"address":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","balance":{"a":"400000","b":null},"nonce":{"a":1,"b":1}}]}"#
        );
    }
}

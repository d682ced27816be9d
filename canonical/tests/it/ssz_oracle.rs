//! `ssz_rs` as an independent oracle of the SSZ codec: for every type, the codec accepts a byte
//! string exactly when `ssz_rs` decodes it to a value that encodes back to the same bytes (the
//! canonical-offset rules of `protocol.md` §4.1 make every valid encoding the only encoding of
//! its value), and both decode it to the same value.
//!
//! Shared with the `ssz_differential` fuzz target (`fuzz/fuzz_targets/ssz_differential.rs`),
//! which includes this file; each `check_*` panics on a disagreement and returns whether the
//! codec accepted the bytes.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use canonical::{Batch, Frame, Method, WalletSnapshot, WireUserOp};
use ssz_rs::prelude::*;

/// The protocol's lists have no maximum; `ssz_rs` needs one, far above any real input.
const UNBOUNDED: usize = 1 << 32;

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleOp {
    nonce: u32,
    max_fee: u16,
    data: List<u8, UNBOUNDED>,
    signature: List<u8, UNBOUNDED>,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleFrame {
    user_ops: List<OracleOp, UNBOUNDED>,
    safe_block: u64,
    fee_price: u16,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleBatch {
    nonce: u64,
    frames: List<OracleFrame, UNBOUNDED>,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleBalance {
    address: Vector<u8, 20>,
    balance_be: Vector<u8, 32>,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleNonce {
    address: Vector<u8, 20>,
    nonce: u32,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleSnapshot {
    erc20_portal_address: Vector<u8, 20>,
    supported_erc20_token: Vector<u8, 20>,
    sequencer_address: Vector<u8, 20>,
    balances: List<OracleBalance, UNBOUNDED>,
    nonces: List<OracleNonce, UNBOUNDED>,
    executed_input_count: u64,
    last_executed_safe_block: u64,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleSnapshotV1 {
    erc20_portal_address: Vector<u8, 20>,
    supported_erc20_token: Vector<u8, 20>,
    sequencer_address: Vector<u8, 20>,
    balances: List<OracleBalance, UNBOUNDED>,
    nonces: List<OracleNonce, UNBOUNDED>,
    executed_input_count: u64,
}

impl From<OracleSnapshotV1> for OracleSnapshot {
    fn from(v1: OracleSnapshotV1) -> Self {
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

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleWithdrawal {
    amount_le: Vector<u8, 32>,
}

#[derive(Debug, Default, PartialEq, Eq, SimpleSerialize)]
struct OracleTransfer {
    amount_le: Vector<u8, 32>,
    to: Vector<u8, 20>,
}

#[derive(Debug, PartialEq, Eq, SimpleSerialize)]
enum OracleMethod {
    Withdrawal(OracleWithdrawal),
    Transfer(OracleTransfer),
}

impl Default for OracleMethod {
    fn default() -> Self {
        Self::Withdrawal(OracleWithdrawal::default())
    }
}

thread_local! {
    /// Set while `ssz_rs` runs: its panics are expected and kept quiet.
    static IN_SSZ_RS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `None`. `ssz_rs` 0.9 panics on some malformed inputs (it
/// slices past the end at an out-of-range list offset and subtracts past zero while building
/// an error); the oracle counts that as a refusal. The panic hook in place (the fuzzer's, which
/// aborts) still sees every other panic.
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_SSZ_RS.with(Cell::get) {
                previous(info);
            }
        }));
    });
    IN_SSZ_RS.with(|flag| flag.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(f)).ok();
    IN_SSZ_RS.with(|flag| flag.set(false));
    outcome
}

/// What the oracle accepts: a value whose encoding is exactly `bytes`.
fn oracle<T: SimpleSerialize>(bytes: &[u8]) -> Option<T> {
    let value = quietly(|| T::deserialize(bytes)).and_then(Result::ok)?;
    let mut again = Vec::new();
    value.serialize(&mut again).ok()?;
    (again == bytes).then_some(value)
}

fn same_op(ours: &WireUserOp, oracle: &OracleOp) -> bool {
    ours.nonce == oracle.nonce
        && ours.max_fee == oracle.max_fee
        && ours.data[..] == oracle.data[..]
        && ours.signature[..] == oracle.signature[..]
}

fn same_frame(ours: &Frame, oracle: &OracleFrame) -> bool {
    ours.safe_block == oracle.safe_block
        && ours.fee_price == oracle.fee_price
        && ours.user_ops.len() == oracle.user_ops.len()
        && ours
            .user_ops
            .iter()
            .zip(oracle.user_ops.iter())
            .all(|(a, b)| same_op(a, b))
}

fn same_batch(ours: &Batch, oracle: &OracleBatch) -> bool {
    ours.nonce == oracle.nonce
        && ours.frames.len() == oracle.frames.len()
        && ours
            .frames
            .iter()
            .zip(oracle.frames.iter())
            .all(|(a, b)| same_frame(a, b))
}

/// Panics unless the codec and the oracle agree on accepting `bytes` and on the value.
fn agree<O: SimpleSerialize, T: std::fmt::Debug>(
    what: &str,
    bytes: &[u8],
    ours: Result<T, canonical::DecodeError>,
    same: impl Fn(&T, &O) -> bool,
) -> bool {
    match (ours, oracle::<O>(bytes)) {
        (Ok(ours), Some(oracle)) => {
            assert!(
                same(&ours, &oracle),
                "{what}: values differ for {}",
                hex::encode(bytes)
            );
            true
        }
        (Err(_), None) => false,
        (ours, oracle) => panic!(
            "{what}: the codec says {ours:?}, the oracle {} for {}",
            if oracle.is_some() {
                "accepts"
            } else {
                "refuses"
            },
            hex::encode(bytes)
        ),
    }
}

/// `WireUserOp`.
pub(crate) fn check_op(bytes: &[u8]) -> bool {
    agree("WireUserOp", bytes, WireUserOp::decode(bytes), same_op)
}

/// `Frame`.
pub(crate) fn check_frame(bytes: &[u8]) -> bool {
    agree("Frame", bytes, Frame::decode(bytes), same_frame)
}

/// `Batch`.
pub(crate) fn check_batch(bytes: &[u8]) -> bool {
    agree("Batch", bytes, Batch::decode(bytes), same_batch)
}

/// `Method`: the union of a withdrawal and a transfer.
pub(crate) fn check_method(bytes: &[u8]) -> bool {
    agree(
        "Method",
        bytes,
        Method::decode(bytes),
        |ours, oracle: &OracleMethod| match (ours, oracle) {
            (Method::Withdrawal { amount }, OracleMethod::Withdrawal(w)) => {
                amount.to_le_bytes::<32>()[..] == w.amount_le[..]
            }
            (Method::Transfer { amount, to }, OracleMethod::Transfer(t)) => {
                amount.to_le_bytes::<32>()[..] == t.amount_le[..] && to[..] == t.to[..]
            }
            _ => false,
        },
    )
}

/// The snapshot fields the oracle reads, in either layout.
struct OracleView {
    config: [Vec<u8>; 3],
    balances: Vec<(Vec<u8>, Vec<u8>)>,
    nonces: Vec<(Vec<u8>, u32)>,
    count: u64,
    clock: u64,
}

/// The oracle's snapshot: one of the two layouts, then the domain rules of §4.2 (no repeated
/// address in a list; a zero count has a zero clock).
fn oracle_snapshot(bytes: &[u8]) -> Option<OracleView> {
    let (s, clock) = match oracle::<OracleSnapshot>(bytes) {
        Some(s) => {
            let clock = s.last_executed_safe_block;
            (s, clock)
        }
        None => (OracleSnapshot::from(oracle::<OracleSnapshotV1>(bytes)?), 0),
    };
    let view = OracleView {
        config: [
            s.erc20_portal_address.to_vec(),
            s.supported_erc20_token.to_vec(),
            s.sequencer_address.to_vec(),
        ],
        balances: s
            .balances
            .iter()
            .map(|b| (b.address.to_vec(), b.balance_be.to_vec()))
            .collect(),
        nonces: s
            .nonces
            .iter()
            .map(|n| (n.address.to_vec(), n.nonce))
            .collect(),
        count: s.executed_input_count,
        clock,
    };
    let unique = |keys: Vec<&Vec<u8>>| keys.len() == keys.iter().collect::<BTreeSet<_>>().len();
    let ok = unique(view.balances.iter().map(|b| &b.0).collect())
        && unique(view.nonces.iter().map(|n| &n.0).collect())
        && !(view.count == 0 && view.clock != 0);
    ok.then_some(view)
}

/// `WalletSnapshot` in either layout, with its domain rules.
pub(crate) fn check_snapshot(bytes: &[u8]) -> bool {
    match (WalletSnapshot::decode(bytes), oracle_snapshot(bytes)) {
        (Ok(ours), Some(view)) => {
            let same = [
                ours.erc20_portal_address,
                ours.supported_erc20_token,
                ours.sequencer_address,
            ]
            .iter()
            .zip(&view.config)
            .all(|(a, b)| a[..] == b[..])
                && ours.balances.len() == view.balances.len()
                && ours.balances.iter().zip(&view.balances).all(|(a, b)| {
                    a.address[..] == b.0[..] && a.balance.to_be_bytes::<32>()[..] == b.1[..]
                })
                && ours.nonces.len() == view.nonces.len()
                && ours
                    .nonces
                    .iter()
                    .zip(&view.nonces)
                    .all(|(a, b)| a.address[..] == b.0[..] && a.nonce == b.1)
                && ours.executed_input_count == view.count
                && ours.last_executed_safe_block == view.clock;
            assert!(
                same,
                "WalletSnapshot: values differ for {}",
                hex::encode(bytes)
            );
            true
        }
        (Err(_), None) => false,
        (ours, view) => panic!(
            "WalletSnapshot: the codec says {ours:?}, the oracle {} for {}",
            if view.is_some() { "accepts" } else { "refuses" },
            hex::encode(bytes)
        ),
    }
}

/// Every check on the same bytes (the fuzz target's entry point).
pub(crate) fn check_all(bytes: &[u8]) -> usize {
    [
        check_op,
        check_frame,
        check_batch,
        check_method,
        check_snapshot,
    ]
    .iter()
    .filter(|check| check(bytes))
    .count()
}

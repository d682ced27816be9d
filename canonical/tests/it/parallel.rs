//! Parallel sender recovery changes nothing: every input gives the same result, state bytes and
//! outputs with recovery on the fold's thread only and on the worker pool.
//!
//! The recovery setting is process-wide, so this file's single property test is the only place
//! in the test binary that changes it.

use alloy_primitives::{Address, B256, U256};
use canonical::{Engine, InputOutcome, Method, WireUserOp, set_recovery_threads};
use proptest::prelude::*;

use crate::support::*;

/// Signers: Alice and Bob (funded) and one key nobody funded.
fn key(k: u8) -> B256 {
    match k % 3 {
        0 => ALICE_KEY,
        1 => BOB_KEY,
        _ => B256::repeat_byte(0x77),
    }
}

/// How one op of a generated batch is built.
#[derive(Debug, Clone)]
struct OpPlan {
    signer: u8,
    /// Added to the signer's next nonce (0 is the right one).
    nonce_skew: u8,
    max_fee: u16,
    withdraw: bool,
    amount: u64,
    /// 0: intact; 1: `v` byte broken; 2: truncated; 3: high `s` form; 4: `r` zeroed.
    damage: u8,
}

fn op_plan() -> impl Strategy<Value = OpPlan> {
    (
        any::<u8>(),
        prop_oneof![4 => Just(0u8), 1 => 1u8..3],
        prop_oneof![Just(0u16), Just(1356), Just(2000), any::<u16>()],
        any::<bool>(),
        0u64..2_000_000,
        prop_oneof![6 => Just(0u8), 1 => 1u8..5],
    )
        .prop_map(
            |(signer, nonce_skew, max_fee, withdraw, amount, damage)| OpPlan {
                signer,
                nonce_skew,
                max_fee,
                withdraw,
                amount,
                damage,
            },
        )
}

fn damaged(mut op: WireUserOp, damage: u8) -> WireUserOp {
    let mut signature = op.signature.to_vec();
    match damage {
        1 => signature[64] = 3,
        2 => signature.truncate(64),
        3 => {
            let n = U256::from_be_bytes(alloy_primitives::hex!(
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
            ));
            let s = U256::from_be_slice(&signature[32..64]);
            signature[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
            signature[64] = 55 - signature[64];
        }
        4 => signature[..32].fill(0),
        _ => {}
    }
    op.signature = signature.into();
    op
}

/// Raw inputs: deposits for Alice and Bob, then batches built from `plans` (one batch per
/// inner list, one frame per batch, fee exponents from `fees`).
fn inputs(plans: &[Vec<OpPlan>], fees: &[u16]) -> Vec<Vec<u8>> {
    let mut inputs = vec![
        deposit(alice(), 50_000_000, 10, 0),
        deposit(bob(), 50_000_000, 10, 1),
    ];
    let mut nonces = [0u32; 3];
    for (b, ops) in plans.iter().enumerate() {
        let ops = ops
            .iter()
            .map(|plan| {
                let k = usize::from(plan.signer % 3);
                let nonce = nonces[k] + u32::from(plan.nonce_skew);
                if plan.nonce_skew == 0 && plan.damage == 0 {
                    nonces[k] += 1;
                }
                let amount = U256::from(plan.amount);
                let method = if plan.withdraw {
                    Method::Withdrawal { amount }
                } else {
                    Method::Transfer {
                        amount,
                        to: Address::with_last_byte(plan.signer),
                    }
                };
                damaged(
                    signed(&key(plan.signer), nonce, plan.max_fee, method),
                    plan.damage,
                )
            })
            .collect();
        let fee = fees[b % fees.len()];
        let block = 20 + b as u64;
        inputs.push(batch(
            b as u64,
            block,
            2 + b as u64,
            vec![frame(block, fee, ops)],
        ));
    }
    inputs
}

/// Runs `inputs` with `threads` recovery threads; returns every result and the state bytes
/// after each input.
fn run(inputs: &[Vec<u8>], threads: usize) -> Vec<(String, Vec<u8>)> {
    set_recovery_threads(threads);
    let mut engine = Engine::new(config());
    let mut trace = Vec::new();
    for input in inputs {
        let result = engine.advance(input);
        let fatal = result.is_err();
        trace.push((format!("{result:?}"), engine.state().encode()));
        if fatal {
            break;
        }
    }
    trace
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn pooled_recovery_folds_like_sequential_recovery(
        plans in prop::collection::vec(prop::collection::vec(op_plan(), 0..40), 1..4),
        fees in prop::collection::vec(prop_oneof![Just(0u16), Just(1356), Just(100)], 1..3),
    ) {
        let inputs = inputs(&plans, &fees);
        let sequential = run(&inputs, 1);
        let pooled = run(&inputs, 0);
        set_recovery_threads(0);
        prop_assert_eq!(&sequential, &pooled);
        // The batches did execute: some ops were included.
        let executed = sequential.iter().any(|(result, _)| result.contains("BatchExecuted"));
        prop_assert!(executed);
    }
}

#[test]
fn a_batch_of_skipped_and_included_ops_matches_the_expected_counts() {
    // 24 ops from Alice: every other one has a broken `v`.
    let plans: Vec<OpPlan> = (0..24)
        .map(|i| OpPlan {
            signer: 0,
            nonce_skew: 0,
            max_fee: 2000,
            withdraw: false,
            amount: 1,
            damage: if i % 2 == 1 { 1 } else { 0 },
        })
        .collect();
    let inputs = inputs(&[plans], &[1356]);
    let mut engine = Engine::new(config());
    let mut last = None;
    for input in &inputs {
        last = engine.advance(input).unwrap().outcome;
    }
    assert_eq!(
        last,
        Some(InputOutcome::BatchExecuted {
            included: 12,
            skipped: 12
        })
    );
}

//! Scheduler fold scenarios (`protocol.md` §5).

use alloy_primitives::{Address, U256};
use canonical::{
    BatchRejection, Engine, InputOutcome, MAX_WAIT_BLOCKS, Method, Output, REJECTED_BATCH_REPORT,
    WalletSnapshot, fee_to_linear,
};

use crate::support::*;

fn engine() -> Engine {
    Engine::new(config())
}

#[test]
fn deposits_wait_in_the_fridge_until_a_frame_drains_them() {
    let mut engine = engine();
    let result = engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
    assert_eq!(result.outcome, Some(InputOutcome::DirectEnqueued));
    assert_eq!(engine.snapshot().executed_input_count, 0);
    assert_eq!(engine.state().fridge.len(), 1);

    let ops = vec![transfer(&ALICE_KEY, 0, 500, bob())];
    let result = engine
        .advance(&batch(0, 12, 1, vec![frame(10, 1356, ops)]))
        .unwrap();
    assert_eq!(
        result.outcome,
        Some(InputOutcome::BatchExecuted {
            included: 1,
            skipped: 0
        })
    );
    assert_eq!(result.directs_executed, 1);
    assert_eq!(
        result.outputs.len(),
        2,
        "deposit notice, then transfer notice"
    );
    assert_eq!(
        result.outputs[1],
        Output::transfer_notice(alice(), bob(), U256::from(500))
    );

    let snapshot = engine.snapshot();
    assert_eq!(snapshot.executed_input_count, 2);
    assert_eq!(snapshot.last_executed_safe_block, 10);
    let fee = fee_to_linear(1356);
    assert_eq!(
        snapshot.balance_of(alice()),
        Some(U256::from(1_000_000) - fee - U256::from(500))
    );
    assert_eq!(snapshot.balance_of(bob()), Some(U256::from(500)));
    assert_eq!(snapshot.balance_of(config().sequencer_address), Some(fee));
    assert_eq!(snapshot.nonce_of(alice()), Some(1));
    assert_eq!(engine.state().next_batch_nonce, 1);
}

#[test]
fn a_frame_drains_only_directs_up_to_its_safe_block() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 100, 10, 0)).unwrap();
    engine.advance(&deposit(bob(), 100, 20, 1)).unwrap();
    let result = engine
        .advance(&batch(
            0,
            25,
            2,
            vec![frame(15, 0, vec![]), frame(20, 0, vec![])],
        ))
        .unwrap();
    assert_eq!(result.directs_executed, 2);
    assert_eq!(engine.snapshot().last_executed_safe_block, 20);

    let mut engine = self::engine();
    engine.advance(&deposit(alice(), 100, 10, 0)).unwrap();
    engine.advance(&deposit(bob(), 100, 20, 1)).unwrap();
    let result = engine
        .advance(&batch(0, 25, 2, vec![frame(15, 0, vec![])]))
        .unwrap();
    assert_eq!(result.directs_executed, 1);
    assert_eq!(engine.state().fridge.len(), 1);
}

#[test]
fn the_backstop_executes_aged_directs_on_any_input() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 100, 10, 0)).unwrap();
    engine.advance(&deposit(bob(), 100, 11, 1)).unwrap();
    // An unrelated direct input MAX_WAIT_BLOCKS after the first deposit ages only the first.
    let result = engine
        .advance(&input(
            Address::repeat_byte(5),
            10 + MAX_WAIT_BLOCKS,
            2,
            vec![],
        ))
        .unwrap();
    assert_eq!(result.directs_executed, 1);
    assert_eq!(
        result.outputs,
        vec![Output::deposit_notice(
            config().supported_erc20_token,
            alice(),
            U256::from(100)
        )]
    );
    assert_eq!(engine.state().fridge.len(), 2);
    assert_eq!(engine.snapshot().last_executed_safe_block, 10);
    // A rejected batch still triggers the backstop first.
    let result = engine
        .advance(&batch(9, 11 + MAX_WAIT_BLOCKS, 3, vec![]))
        .unwrap();
    assert_eq!(result.directs_executed, 1);
    assert_eq!(result.reports, vec![REJECTED_BATCH_REPORT.to_vec()]);
}

#[test]
fn rejected_batches_change_nothing_but_report() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
    let before = engine.state().clone();
    let op = vec![transfer(&ALICE_KEY, 0, 5, bob())];
    let cases = [
        (
            input(config().sequencer_address, 20, 1, vec![1, 2, 3]),
            BatchRejection::DecodeFailed,
        ),
        (
            batch(1, 20, 1, vec![frame(10, 0, op.clone())]),
            BatchRejection::WrongNonce {
                expected: 0,
                got: 1,
            },
        ),
        (
            batch(0, 20, 1, vec![frame(21, 0, op.clone())]),
            BatchRejection::SafeBlockAboveInclusionBlock,
        ),
        (
            batch(0, 20, 1, vec![frame(15, 0, vec![]), frame(14, 0, op)]),
            BatchRejection::NonMonotonicSafeBlocks,
        ),
    ];
    for (payload, reason) in cases {
        let mut engine = engine.clone();
        let result = engine.advance(&payload).unwrap();
        assert_eq!(result.outcome, Some(InputOutcome::BatchRejected { reason }));
        assert_eq!(result.reports, vec![REJECTED_BATCH_REPORT.to_vec()]);
        assert!(result.outputs.is_empty());
        assert_eq!(engine.state(), &before);
    }
}

#[test]
fn stale_batches_keep_the_nonce_and_empty_batches_consume_it() {
    let mut engine = engine();
    let stale = batch(0, 10 + MAX_WAIT_BLOCKS, 0, vec![frame(10, 0, vec![])]);
    let result = engine.advance(&stale).unwrap();
    assert_eq!(result.outcome, Some(InputOutcome::BatchStale));
    assert!(result.reports.is_empty());
    assert_eq!(engine.state().next_batch_nonce, 0);

    // One block fresher is not stale.
    let fresh = batch(0, 10 + MAX_WAIT_BLOCKS, 1, vec![frame(11, 0, vec![])]);
    assert!(matches!(
        engine.advance(&fresh).unwrap().outcome,
        Some(InputOutcome::BatchExecuted { .. })
    ));
    assert_eq!(engine.state().next_batch_nonce, 1);

    let empty = batch(1, 5000, 2, vec![]);
    assert_eq!(
        engine.advance(&empty).unwrap().outcome,
        Some(InputOutcome::BatchEmpty)
    );
    assert_eq!(engine.state().next_batch_nonce, 2);
    assert_eq!(
        engine.snapshot().executed_input_count,
        0,
        "batch envelopes do not count"
    );
}

#[test]
fn bad_ops_are_skipped_without_effect() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
    let good = transfer(&ALICE_KEY, 0, 5, bob());
    let mut short_sig = good.clone();
    short_sig.signature = short_sig.signature.slice(..64);
    let mut bad_v = good.clone();
    let mut sig = bad_v.signature.to_vec();
    sig[64] = 5;
    bad_v.signature = sig.into();
    let wrong_nonce = transfer(&ALICE_KEY, 7, 5, bob());
    let low_max_fee = canonical_signed_with_max_fee(10);
    let broke = transfer(&BOB_KEY, 0, 5, alice());
    let ops = vec![short_sig, bad_v, wrong_nonce, low_max_fee, broke, good];
    let result = engine
        .advance(&batch(0, 20, 1, vec![frame(10, 1356, ops)]))
        .unwrap();
    assert_eq!(
        result.outcome,
        Some(InputOutcome::BatchExecuted {
            included: 1,
            skipped: 5
        })
    );
    let snapshot = engine.snapshot();
    assert_eq!(snapshot.nonce_of(alice()), Some(1));
    assert_eq!(snapshot.nonce_of(bob()), None);
    assert_eq!(snapshot.executed_input_count, 2);
}

fn canonical_signed_with_max_fee(max_fee: u16) -> canonical::WireUserOp {
    signed(
        &ALICE_KEY,
        0,
        max_fee,
        Method::Withdrawal {
            amount: U256::from(1),
        },
    )
}

#[test]
fn fees_are_charged_at_the_frame_fee_not_max_fee() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
    let op = signed(
        &ALICE_KEY,
        0,
        5000,
        Method::Withdrawal {
            amount: U256::from(100),
        },
    );
    let result = engine
        .advance(&batch(0, 20, 1, vec![frame(10, 100, vec![op])]))
        .unwrap();
    let fee = fee_to_linear(100);
    assert_eq!(
        engine.snapshot().balance_of(alice()),
        Some(U256::from(1_000_000 - 100) - fee)
    );
    assert_eq!(
        result.outputs.last(),
        Some(&Output::withdrawal_voucher(
            config().supported_erc20_token,
            alice(),
            U256::from(100)
        ))
    );
}

#[test]
fn a_frame_fee_above_the_maximum_is_fatal() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
    let op = signed(
        &ALICE_KEY,
        0,
        u16::MAX,
        Method::Withdrawal {
            amount: U256::from(1),
        },
    );
    let result = engine.advance(&batch(0, 20, 1, vec![frame(10, u16::MAX, vec![op])]));
    assert!(result.is_err());
}

#[test]
fn a_frame_fee_above_the_maximum_is_fatal_only_for_an_op_that_reaches_the_fee() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
    let withdraw = Method::Withdrawal {
        amount: U256::from(1),
    };
    // Rejected before the fee is looked at: a fee ceiling below the frame fee, a wrong nonce.
    let low_ceiling = signed(&ALICE_KEY, 0, 17_000, withdraw);
    let wrong_nonce = signed(&ALICE_KEY, 5, u16::MAX, withdraw);
    let result = engine
        .advance(&batch(
            0,
            20,
            1,
            vec![frame(10, u16::MAX, vec![low_ceiling, wrong_nonce])],
        ))
        .unwrap();
    assert_eq!(
        result.outcome,
        Some(InputOutcome::BatchExecuted {
            included: 0,
            skipped: 2
        })
    );
    let reaches_fee = signed(&ALICE_KEY, 0, u16::MAX, withdraw);
    let result = engine.advance(&batch(
        1,
        20,
        2,
        vec![frame(10, u16::MAX, vec![reaches_fee])],
    ));
    assert_eq!(result, Err(canonical::Fatal::FeeExponent(u16::MAX)));
}

#[test]
fn undecodable_advances_are_fatal() {
    let mut engine = engine();
    assert!(engine.advance(b"not an advance").is_err());
}

#[test]
fn inspect_answers_state_or_unsupported() {
    let mut engine = engine();
    engine.advance(&deposit(alice(), 1, 10, 0)).unwrap();
    let empty = engine.inspect(b"");
    let state = engine.inspect(b"state");
    assert_eq!(empty, state);
    assert_eq!(state.len(), 1);
    assert_eq!(
        WalletSnapshot::decode(&state[0]).unwrap(),
        engine.snapshot()
    );
    assert_eq!(
        engine.inspect(b"balances"),
        vec![b"unsupported inspect query".to_vec()]
    );
}

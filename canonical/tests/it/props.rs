//! Property tests: round trips, decoders that never panic, fold invariants.

use alloy_primitives::{Address, Bytes, U256};
use canonical::{
    Batch, EngineState, EvmAdvance, Frame, Method, SnapshotBalance, SnapshotNonce, WalletSnapshot,
    WireUserOp,
};
use proptest::prelude::*;

use crate::support::*;

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

fn u256() -> impl Strategy<Value = U256> {
    any::<[u8; 32]>().prop_map(U256::from_be_bytes)
}

pub(crate) fn snapshot() -> impl Strategy<Value = WalletSnapshot> {
    (
        prop::collection::btree_map(address(), u256(), 0..8),
        prop::collection::btree_map(address(), any::<u32>(), 0..8),
        1u64..,
        any::<u64>(),
    )
        .prop_map(|(balances, nonces, count, clock)| WalletSnapshot {
            erc20_portal_address: config().erc20_portal_address,
            supported_erc20_token: config().supported_erc20_token,
            sequencer_address: config().sequencer_address,
            balances: balances
                .into_iter()
                .map(|(address, balance)| SnapshotBalance { address, balance })
                .collect(),
            nonces: nonces
                .into_iter()
                .map(|(address, nonce)| SnapshotNonce { address, nonce })
                .collect(),
            executed_input_count: count,
            last_executed_safe_block: clock,
        })
}

fn wire_op() -> impl Strategy<Value = WireUserOp> {
    (
        any::<u32>(),
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..60),
        prop::collection::vec(any::<u8>(), 0..70),
    )
        .prop_map(|(nonce, max_fee, data, signature)| WireUserOp {
            nonce,
            max_fee,
            data: data.into(),
            signature: signature.into(),
        })
}

pub(crate) fn batch_strategy() -> impl Strategy<Value = Batch> {
    let frame = (
        prop::collection::vec(wire_op(), 0..4),
        any::<u64>(),
        any::<u16>(),
    )
        .prop_map(|(user_ops, safe_block, fee_price)| Frame {
            user_ops,
            safe_block,
            fee_price,
        });
    (any::<u64>(), prop::collection::vec(frame, 0..4))
        .prop_map(|(nonce, frames)| Batch { nonce, frames })
}

pub(crate) fn method_strategy() -> impl Strategy<Value = Method> {
    (u256(), address(), any::<bool>()).prop_map(|(amount, to, transfer)| {
        if transfer {
            Method::Transfer { amount, to }
        } else {
            Method::Withdrawal { amount }
        }
    })
}

proptest! {
    #[test]
    fn snapshot_round_trips(snapshot in snapshot()) {
        let bytes = snapshot.encode();
        prop_assert_eq!(WalletSnapshot::decode(&bytes).unwrap(), snapshot);
    }

    #[test]
    fn batch_round_trips(batch in batch_strategy()) {
        let bytes = batch.encode();
        prop_assert_eq!(Batch::decode(&bytes).unwrap(), batch);
    }

    #[test]
    fn method_round_trips(amount in u256(), to in address(), transfer in any::<bool>()) {
        let method = if transfer { Method::Transfer { amount, to } } else { Method::Withdrawal { amount } };
        prop_assert_eq!(Method::decode(&method.encode()).unwrap(), method);
    }

    #[test]
    fn advance_round_trips(sender in address(), block in any::<u64>(), payload in prop::collection::vec(any::<u8>(), 0..100)) {
        let advance = EvmAdvance {
            chain_id: CHAIN,
            app_contract: APP,
            msg_sender: sender,
            block_number: block,
            block_timestamp: U256::from(1),
            prev_randao: U256::from(2),
            index: U256::from(3),
            payload: Bytes::from(payload),
        };
        prop_assert_eq!(EvmAdvance::decode(&advance.encode()).unwrap(), advance);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = WalletSnapshot::decode(&bytes);
        let _ = Batch::decode(&bytes);
        let _ = Method::decode(&bytes);
        let _ = EvmAdvance::decode(&bytes);
        let _ = EngineState::decode(&bytes);
    }

    #[test]
    fn decoded_batches_re_encode_identically(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        // Whatever the codec accepts has exactly one encoding.
        if let Ok(batch) = Batch::decode(&bytes) {
            prop_assert_eq!(batch.encode(), bytes);
        }
    }

    #[test]
    fn rejected_batches_leave_the_state_untouched(nonce in 1u64..5, garbage in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut engine = canonical::Engine::new(config());
        engine.advance(&deposit(alice(), 1_000_000, 10, 0)).unwrap();
        let before = engine.state().clone();
        let wrong_nonce = batch(nonce, 20, 1, vec![frame(10, 0, vec![transfer(&ALICE_KEY, 0, 1, bob())])]);
        engine.advance(&wrong_nonce).unwrap();
        prop_assert_eq!(engine.state(), &before);
        let undecodable = input(config().sequencer_address, 20, 1, garbage.clone());
        if Batch::decode(&garbage).is_err() {
            engine.advance(&undecodable).unwrap();
            prop_assert_eq!(engine.state(), &before);
        }
    }

    #[test]
    fn engine_state_round_trips_after_random_directs(blocks in prop::collection::vec(0u64..5000, 0..10)) {
        let mut engine = canonical::Engine::new(config());
        let mut sorted = blocks;
        sorted.sort_unstable();
        for (index, block) in sorted.into_iter().enumerate() {
            engine.advance(&deposit(alice(), 7, block, index as u64)).unwrap();
        }
        let bytes = engine.state().encode();
        let decoded = EngineState::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, engine.state());
        prop_assert_eq!(decoded.encode(), bytes);
    }
}

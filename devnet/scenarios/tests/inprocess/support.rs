//! Workload helpers shared by the tests: signed ops, settling, replay.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use canonical::{Engine, InputBuilder, Method, WalletConfig, WalletSnapshot};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS};
use devnet_scenarios::deploy::Deployment;
use devnet_scenarios::topology::Edge;
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};
use synthetic_l1::SyntheticL1;

/// The client→seq client of a deployment.
pub(crate) fn client(net: &Deployment) -> SequencerClient {
    SequencerClient::new(RedactedUrl::parse(net.url(Edge::ClientToSeq)).unwrap()).unwrap()
}

/// Account `who`.
pub(crate) fn account(who: usize) -> Address {
    ANVIL_ADDRESSES[who]
}

/// A transfer signed by `from` with the sequencer's nonce and suggested fee.
pub(crate) async fn transfer(
    client: &SequencerClient,
    from: usize,
    to: usize,
    amount: u64,
) -> TxRequest {
    let sender = account(from);
    let nonce = client.next_nonce(sender).await.unwrap().next_nonce;
    let max_fee = client.fee().await.unwrap().suggested_max_fee;
    let method = Method::Transfer {
        amount: U256::from(amount),
        to: account(to),
    };
    let op = InputBuilder::new(WalletConfig::devnet(), devnet_pins::addresses::APPLICATION)
        .sign(&ANVIL_KEYS[from], nonce, max_fee, &method)
        .unwrap();
    TxRequest {
        nonce,
        max_fee,
        data: op.data,
        signature: op.signature,
        sender,
    }
}

/// Submits `txs` (retrying while a deposit waits to be drained into a frame) and mines until
/// the served finalized state satisfies `done`; returns its inclusion block and bytes.
pub(crate) async fn settle(
    net: &Deployment,
    client: &SequencerClient,
    txs: &[TxRequest],
    done: impl Fn(&WalletSnapshot) -> bool,
) -> (u64, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut accepted = vec![false; txs.len()];
    loop {
        assert!(Instant::now() < deadline, "not settled within 60 s");
        for (tx, ok) in txs.iter().zip(accepted.iter_mut()) {
            if !*ok {
                *ok = client.submit_tx(tx).await.is_ok();
            }
        }
        let state = client
            .download_state(1 << 24, None)
            .await
            .unwrap()
            .modified()
            .unwrap();
        let snapshot = WalletSnapshot::decode(&state.bytes).unwrap();
        if accepted.iter().all(|a| *a) && done(&snapshot) {
            return (state.meta.inclusion_block, state.bytes);
        }
        net.l1().mine(1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Every `(account, amount)` is a served balance.
pub(crate) fn balances(expected: &[(usize, u64)]) -> impl Fn(&WalletSnapshot) -> bool + '_ {
    move |snapshot| {
        expected.iter().all(|(who, amount)| {
            snapshot.balance_of(account(*who)).unwrap_or_default() == U256::from(*amount)
        })
    }
}

/// The canonical machine's state after every synthetic-L1 input of blocks `..= block`.
pub(crate) fn replay(l1: &SyntheticL1, block: u64) -> Vec<u8> {
    let mut engine = Engine::new(WalletConfig::devnet());
    for input in l1.inputs_up_to(block) {
        engine.advance(&input.raw).unwrap();
    }
    engine.snapshot().encode()
}

/// The sequencer's served `/finalized_state` bytes.
pub(crate) async fn served(client: &SequencerClient) -> Vec<u8> {
    client
        .download_state(1 << 24, None)
        .await
        .unwrap()
        .modified()
        .unwrap()
        .bytes
}

//! A workload on the real contracts: a portal deposit, a signed transfer and a withdrawal
//! through `POST /tx` closing a batch by op count, the finalized checkpoint advanced by mining,
//! and `/finalized_state` equal to a `canonical` replay of the InputBox inputs read with `l1`.

use std::time::Duration;

use alloy::primitives::{B256, Bytes, U256};
use canonical::{Batch, InputBuilder, Method, Output, WalletConfig, WalletSnapshot};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS, roles};
use devnet_stack::{LocalStack, SequencerMode};
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};

use crate::http::{get, poll};
use crate::support::{inputs_up_to, replay, sequencer_bin};

/// The frame fee at the devnet's fee exponent 1356.
const FEE: u64 = 38_276;

fn signed(account: usize, nonce: u32, method: &Method) -> TxRequest {
    let builder = InputBuilder::new(WalletConfig::devnet(), devnet_pins::addresses::APPLICATION);
    let key: B256 = ANVIL_KEYS[account];
    let op = builder.sign(&key, nonce, 1400, method).unwrap();
    TxRequest {
        nonce,
        max_fee: 1400,
        data: op.data,
        signature: op.signature,
        sender: ANVIL_ADDRESSES[account],
    }
}

#[tokio::test]
async fn deposit_transfer_and_withdrawal_finalize_to_the_canonical_replay() {
    let stack = LocalStack::builder()
        .sequencer(SequencerMode::child_at(sequencer_bin()))
        .configure_sequencer(|c| {
            // Only the op count closes the batch.
            c.batch_max_ops = 2;
            c.batch_interval = Duration::from_secs(3600);
            c.poll_interval = Duration::from_millis(20);
        })
        .start()
        .await
        .unwrap();
    let d = *stack.devnet().deployment();
    let client = SequencerClient::new(RedactedUrl::parse(stack.sequencer_url()).unwrap()).unwrap();
    let alice = ANVIL_ADDRESSES[roles::ALICE];
    let bob = ANVIL_ADDRESSES[roles::BOB];

    let deposit = stack
        .devnet()
        .l1()
        .deposit_erc20(alice, U256::from(600_000u64), Bytes::new())
        .await
        .unwrap();
    // The transfer is accepted once the sequencer has drained the deposit into its frame
    // (the deposit must be safe): mine until then.
    let transfer = signed(
        roles::ALICE,
        0,
        &Method::Transfer {
            amount: U256::from(400_000u64),
            to: bob,
        },
    );
    poll(
        "the transfer to be accepted",
        Duration::from_secs(30),
        || async { client.submit_tx(&transfer).await.ok() },
        || async { stack.mine(1).await.unwrap() },
    )
    .await;
    let withdrawal = signed(
        roles::BOB,
        0,
        &Method::Withdrawal {
            amount: U256::from(150_000u64),
        },
    );
    let accepted = client.submit_tx(&withdrawal).await.unwrap();
    assert_eq!((accepted.sender, accepted.nonce), (bob, 0));
    assert_eq!(client.next_nonce(alice).await.unwrap().next_nonce, 1);

    // Two ops seal the batch; mine until the checkpoint includes it.
    let block = stack
        .settle_finalized_past(deposit.block_number, Duration::from_secs(60))
        .await
        .unwrap();
    let status = stack.control_status().await.unwrap().unwrap();
    assert_eq!(status["batches"]["sealed"], 1, "{status}");
    assert_eq!(status["batches"]["accepted"], 1, "{status}");

    let inputs = inputs_up_to(stack.rpc_url(), d.application, d.input_box, block).await;
    assert_eq!(inputs.len(), 2, "the deposit and one batch");
    assert_eq!(inputs[0].advance.msg_sender, d.erc20_portal);
    let submitter = WalletConfig::devnet().sequencer_address;
    assert_eq!(
        inputs[1].advance.msg_sender, submitter,
        "posted from account 9"
    );
    let batch = Batch::decode(&inputs[1].advance.payload).unwrap();
    let ops: usize = batch.frames.iter().map(|f| f.user_ops.len()).sum();
    assert_eq!(ops, 2);

    let (expected, results) = replay(&inputs);
    let (status_code, served) = get(stack.sequencer_url(), "/finalized_state")
        .await
        .unwrap();
    assert_eq!(status_code, 200);
    assert_eq!(served, expected.encode(), "byte-identical to the replay");
    let snapshot = WalletSnapshot::decode(&served).unwrap();
    assert_eq!(
        snapshot.balance_of(alice),
        Some(U256::from(600_000 - 400_000 - FEE))
    );
    assert_eq!(
        snapshot.balance_of(bob),
        Some(U256::from(400_000 - 150_000 - FEE))
    );
    assert_eq!(snapshot.balance_of(submitter), Some(U256::from(2 * FEE)));
    assert_eq!(snapshot.nonce_of(alice), Some(1));
    assert_eq!(snapshot.nonce_of(bob), Some(1));
    // The wallet counts what it executed: the deposit and the two ops.
    assert_eq!(snapshot.executed_input_count, 3);
    let vouchers: Vec<&Output> = results[1]
        .outputs
        .iter()
        .filter(|o| matches!(o, Output::Voucher { .. }))
        .collect();
    assert_eq!(vouchers.len(), 1, "the withdrawal emits one voucher");
    assert!(matches!(vouchers[0], Output::Voucher { destination, .. } if *destination == d.token));
    let point = client.inclusion_block().await.unwrap();
    assert_eq!(point.inclusion_block, block);
    stack.shutdown().await.unwrap();
}

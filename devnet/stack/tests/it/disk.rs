//! Bounded disk: an hour of a busy devnet, compressed (3 600 blocks, two inputs each, as many
//! blocks as an hour of one-second interval mining), leaves anvil's state in memory, nothing
//! under `~/.foundry`, and the whole state directory under [`BOUND`].

use alloy::network::TransactionBuilder as _;
use alloy::primitives::Bytes;
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall as _;
use cartesi_rollups_contracts::input_box::InputBox;
use devnet_pins::{ANVIL_ADDRESSES, CHAIN_ID, addresses};
use devnet_stack::disk::DiskUsage;
use devnet_stack::{Devnet, StackDirs};

/// Blocks mined: an hour at one block per second.
const BLOCKS: u64 = 3_600;
/// The load accounts, one input each per block.
const SENDERS: std::ops::RangeInclusive<usize> = 3..=4;
/// What the state directory may hold after the workload (about 3 MiB of it is anvil's log).
const BOUND: u64 = 16 << 20;

#[tokio::test]
async fn an_hour_of_blocks_with_inputs_stays_under_the_disk_bound() {
    let root = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dirs = StackDirs::under(root.path());
    let devnet = Devnet::builder()
        .anvil_log(dirs.logs.join("anvil.log"))
        .anvil_cache_dir(&dirs.anvil_cache)
        .anvil_env("HOME", home.path().to_str().unwrap())
        .start()
        .await
        .unwrap();
    devnet.set_automine(false).await.unwrap();
    // anvil signs for its unlocked accounts (signing here, unoptimized, would dominate).
    let provider = devnet.anvil().provider();
    let mut nonces = Vec::new();
    for i in SENDERS {
        nonces.push(
            provider
                .get_transaction_count(ANVIL_ADDRESSES[i])
                .await
                .unwrap(),
        );
    }
    let start_inputs = devnet.l1().input_count().await.unwrap();
    let payload = Bytes::from(vec![0xab; 128]);
    for block in 0..BLOCKS {
        for (i, nonce) in SENDERS.zip(nonces.iter_mut()) {
            let call = InputBox::addInputCall {
                appContract: addresses::APPLICATION,
                payload: payload.clone(),
            };
            let tx = TransactionRequest::default()
                .with_from(ANVIL_ADDRESSES[i])
                .with_to(addresses::INPUT_BOX)
                .with_input(call.abi_encode())
                .with_nonce(*nonce)
                .with_chain_id(CHAIN_ID)
                .with_gas_limit(200_000)
                .with_max_fee_per_gas(20_000_000_000)
                .with_max_priority_fee_per_gas(1_000_000_000);
            *nonce += 1;
            let _pending = provider.send_transaction(tx).await.unwrap();
        }
        devnet.mine(1).await.unwrap();
        if block % 600 == 0 {
            // The pool is empty after every block: the inputs landed.
            let pending = provider
                .raw_request::<_, serde_json::Value>("txpool_status".into(), ())
                .await
                .unwrap();
            assert_eq!(pending["pending"], "0x0", "block {block}: {pending}");
        }
    }
    let senders = u64::try_from(SENDERS.count()).unwrap();
    assert_eq!(
        devnet.l1().input_count().await.unwrap(),
        start_inputs + BLOCKS * senders
    );
    // Recent history is served, old states are gone (pruned, not spilled to disk).
    let head = devnet.block_number().await.unwrap();
    let at = |b: u64| provider.get_balance(ANVIL_ADDRESSES[3]).number(b);
    at(head - 10).await.unwrap();
    assert!(at(head - 1_000).await.is_err());

    let usage = DiskUsage::of(root.path());
    eprintln!("after {BLOCKS} blocks of {senders} inputs: {usage:?} (bound {BOUND})");
    assert!(usage.total_bytes < BOUND, "{usage:?}");
    let cache_entries = std::fs::read_dir(&dirs.anvil_cache).unwrap().count();
    assert_eq!(cache_entries, 0, "anvil persisted states");
    assert!(
        !home.path().join(".foundry").exists(),
        "anvil wrote below HOME"
    );
    devnet.shutdown().await.unwrap();
}

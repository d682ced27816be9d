//! Keeping the chain: a supervisor asked to keep it (as `devnet down --keep` asks) dumps anvil
//! and keeps the sequencer data; the next supervisor on that state directory resumes the same
//! chain (same contracts, block numbers continuing, inputs and the finalized state intact);
//! a snapshot restored into a stopped devnet rewinds L1 and the sequencer together.

use std::time::Duration;

use alloy::primitives::{Bytes, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use canonical::WalletSnapshot;
use devnet_pins::{ANVIL_ADDRESSES, roles};
use devnet_stack::persist::{self, Kept};
use devnet_stack::state_file::StateFile;
use devnet_stack::{Deployment, L1Client, Mining, Outcome, Supervisor, UpOptions, snapshot};

use crate::http::{get, poll};
use crate::support::{alive, sequencer_bin};

fn options(dir: &std::path::Path) -> UpOptions {
    let mut options = UpOptions::new(dir);
    options.mining = Mining::Auto;
    options.sequencer_bin = Some(sequencer_bin().into());
    options.poll_interval = Duration::from_millis(20);
    options.batch_interval = Duration::from_millis(100);
    options
}

/// The L1 behind the front, and the devnet's client of it.
fn l1(state: &StateFile) -> (DynProvider, L1Client) {
    let url: reqwest::Url = state.endpoints.l1_rpc.parse().unwrap();
    let provider = ProviderBuilder::new().connect_http(url.clone()).erased();
    let block = state.addresses.unwrap().application_block;
    (
        provider,
        L1Client::connect(url, Deployment::pinned(block)).unwrap(),
    )
}

/// Mines until the finalized state has executed the direct inputs of blocks up to `block`;
/// returns it.
async fn settle(state: &StateFile, l1: &DynProvider, block: u64) -> Vec<u8> {
    let seq = state.endpoints.sequencer.clone();
    poll(
        "the finalized state to execute the inputs",
        Duration::from_secs(60),
        || async {
            let (status, body) = get(&seq, "/finalized_state").await?;
            let snapshot = WalletSnapshot::decode(&body).ok()?;
            (status == 200 && snapshot.last_executed_safe_block >= block).then_some(body)
        },
        || async { l1.anvil_mine(Some(1), None).await.unwrap() },
    )
    .await
}

#[tokio::test]
async fn a_kept_chain_is_resumed_and_a_snapshot_rewinds_it() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::start(options(dir.path())).await.unwrap();
    assert!(supervisor.resumed().is_none());
    let first = supervisor.state();
    let (provider, client) = l1(&first);
    let alice = ANVIL_ADDRESSES[roles::ALICE];
    let deposit = client
        .deposit_erc20(alice, U256::from(600_000u64), Bytes::new())
        .await
        .unwrap();
    let state_one = settle(&first, &provider, deposit.block_number).await;
    // Snapshot "one": one deposit.
    let one = snapshot::save_running(dir.path(), &first, "one", false)
        .await
        .unwrap();
    assert!(one.block_number >= deposit.block_number);
    assert!(
        snapshot::save_running(dir.path(), &first, "one", false)
            .await
            .is_err(),
        "an existing snapshot is not replaced without asking"
    );
    let second_deposit = client
        .deposit_erc20(alice, U256::from(5u64), Bytes::new())
        .await
        .unwrap();
    let state_two = settle(&first, &provider, second_deposit.block_number).await;
    assert_ne!(state_two, state_one);
    let inputs = client.input_count().await.unwrap();

    persist::request_keep(dir.path()).unwrap();
    let anvil_pid = first.components.anvil.process.unwrap().pid;
    assert_eq!(supervisor.shutdown().await.unwrap(), Outcome::Stopped);
    assert!(!alive(anvil_pid));
    let kept = Kept::read(dir.path()).unwrap().expect("kept.json");
    assert!(kept.block_number > second_deposit.block_number);
    assert!(persist::chain_state_path(dir.path()).is_file());
    assert!(dir.path().join("sequencer-data").is_dir());
    assert!(!dir.path().join(persist::KEEP_REQUEST).exists());

    // Resume: the same chain, continuing.
    let supervisor = Supervisor::start(options(dir.path())).await.unwrap();
    assert_eq!(supervisor.resumed(), Some(&kept));
    assert!(Kept::read(dir.path()).unwrap().is_none(), "consumed");
    let resumed = supervisor.state();
    assert_eq!(resumed.addresses, first.addresses);
    let (provider, client) = l1(&resumed);
    let head = provider.get_block_number().await.unwrap();
    assert!(head > kept.block_number, "{head} > {}", kept.block_number);
    let hash = provider
        .get_block(kept.block_number.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .hash;
    assert_eq!(hash, kept.block_hash);
    assert_eq!(client.input_count().await.unwrap(), inputs);
    assert_eq!(
        settle(&resumed, &provider, second_deposit.block_number).await,
        state_two
    );
    let third = client.add_input(alice, vec![1, 2, 3]).await.unwrap();
    assert_eq!(third.index, inputs, "input indices continue");
    assert!(third.block_number > kept.block_number);
    assert_eq!(supervisor.shutdown().await.unwrap(), Outcome::Stopped);
    assert!(
        Kept::read(dir.path()).unwrap().is_none(),
        "not asked to keep"
    );

    // Restore "one" into the stopped devnet: L1 and the sequencer go back together.
    snapshot::restore(dir.path(), "one").unwrap();
    let supervisor = Supervisor::start(options(dir.path())).await.unwrap();
    assert_eq!(
        supervisor.resumed().map(|k| k.block_number),
        Some(one.block_number)
    );
    let rewound = supervisor.state();
    let (provider, client) = l1(&rewound);
    let rewound_inputs = client.input_count().await.unwrap();
    assert!(
        rewound_inputs > deposit.index && rewound_inputs < inputs,
        "{rewound_inputs} inputs after the restore, {inputs} before"
    );
    assert_eq!(
        settle(&rewound, &provider, deposit.block_number).await,
        state_one
    );
    assert_eq!(
        snapshot::list(dir.path())
            .unwrap()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["one"]
    );
    assert_eq!(supervisor.shutdown().await.unwrap(), Outcome::Stopped);
    assert!(!persist::anvil_cache_dir(dir.path()).exists());
}

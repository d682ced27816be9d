//! anvil bring-up: readiness, identity, kill on drop.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider as _;
use devnet_pins::{ANVIL_ADDRESSES, CHAIN_ID};
use devnet_stack::{Anvil, AnvilOptions};
use tokio::time::Instant;

async fn wait_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn anvil_is_ready_on_loopback_and_killed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/anvil.log");
    let anvil = Anvil::spawn(AnvilOptions {
        log_path: Some(log.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let provider = anvil.provider();
    assert_eq!(provider.get_chain_id().await.unwrap(), CHAIN_ID);
    assert!(anvil.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(
        anvil.endpoint(),
        format!("http://127.0.0.1:{}", anvil.port())
    );
    // Readiness mined one block.
    let latest = provider.get_block_number().await.unwrap();
    assert!(latest >= 1);
    assert_eq!(
        provider.get_accounts().await.unwrap(),
        ANVIL_ADDRESSES.to_vec()
    );
    // One slot per epoch: safe = latest - 1, finalized = latest - 2.
    anvil.mine(3).await.unwrap();
    let latest = provider.get_block_number().await.unwrap();
    let by_tag = |tag| async move {
        provider
            .get_block_by_number(tag)
            .await
            .unwrap()
            .unwrap()
            .header
            .number
    };
    assert_eq!(by_tag(BlockNumberOrTag::Safe).await, latest - 1);
    assert_eq!(by_tag(BlockNumberOrTag::Finalized).await, latest - 2);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(&format!("Listening on 127.0.0.1:{}", anvil.port())));

    let pid = anvil.pid();
    let port = anvil.port();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(anvil);
    assert!(wait_gone(pid).await, "anvil {pid} survived drop");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[tokio::test]
async fn shutdown_terminates_anvil() {
    let anvil = Anvil::start().await.unwrap();
    let pid = anvil.pid();
    let status = anvil.shutdown().await.unwrap();
    // anvil exits on SIGTERM (cleanly or by the signal), well before the SIGKILL fallback.
    assert!(
        status.code().is_some() || std::os::unix::process::ExitStatusExt::signal(&status).is_some()
    );
    assert!(wait_gone(pid).await);
}

#[tokio::test]
async fn two_anvils_get_distinct_ports() {
    let (a, b) = tokio::join!(Anvil::start(), Anvil::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.port(), b.port());
    assert_eq!(b.provider().get_chain_id().await.unwrap(), CHAIN_ID);
}

#[tokio::test]
async fn a_binary_that_exits_fails_fast_with_its_log() {
    let options = AnvilOptions {
        bin: Some("/bin/false".into()),
        ..Default::default()
    };
    let started = Instant::now();
    let err = Anvil::spawn(options).await.unwrap_err();
    assert!(format!("{err:#}").contains("exited"), "{err:#}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let options = AnvilOptions {
        bin: Some("/nonexistent/anvil".into()),
        ..Default::default()
    };
    assert!(Anvil::spawn(options).await.is_err());
}

#[tokio::test]
async fn snapshots_revert_and_reorgs_rewrite_the_tip() {
    let devnet = devnet_stack::Devnet::start().await.unwrap();
    let start = devnet.block_number().await.unwrap();
    let snapshot = devnet.snapshot().await.unwrap();
    devnet.mine(3).await.unwrap();
    assert_eq!(devnet.block_number().await.unwrap(), start + 3);
    devnet.revert(snapshot).await.unwrap();
    assert_eq!(devnet.block_number().await.unwrap(), start);

    devnet.mine(2).await.unwrap();
    let before = l1_hash(&devnet, start + 2).await;
    devnet.reorg(1).await.unwrap();
    let after = l1_hash(&devnet, start + 2).await;
    assert_ne!(before, after, "the tip was replaced");
    assert_eq!(devnet.block_number().await.unwrap(), start + 2);
    devnet.rollback(1).await.unwrap();
    assert_eq!(devnet.block_number().await.unwrap(), start + 1);
    devnet.shutdown().await.unwrap();
}

async fn l1_hash(devnet: &devnet_stack::Devnet, number: u64) -> alloy::primitives::B256 {
    use alloy::providers::Provider as _;
    devnet
        .provider()
        .get_block_by_number(number.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .hash
}

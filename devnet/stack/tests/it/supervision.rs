//! The supervisor in-process: a killed sequencer child is restarted and serves the same
//! finalized state through the same front; a child that keeps failing exhausts its restarts
//! and the supervisor ends degraded; nothing is left behind either way.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::Bytes;
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{Provider as _, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall as _;
use canonical::WalletSnapshot;
use cartesi_rollups_contracts::input_box::InputBox;
use devnet_pins::{ANVIL_ADDRESSES, addresses, roles};
use devnet_stack::events::EventKind;
use devnet_stack::state_file::{ComponentState, RunState, StateFile, supervisor_alive};
use devnet_stack::{Mining, Outcome, RestartPolicy, Supervisor, UpOptions};
use rustix::process::Signal;

use crate::http::{get, poll};
use crate::support::{alive, sequencer_bin};

fn options(dir: &std::path::Path, sequencer_bin: &std::path::Path) -> UpOptions {
    let mut options = UpOptions::new(dir);
    options.mining = Mining::Auto;
    options.sequencer_bin = Some(sequencer_bin.into());
    options.poll_interval = Duration::from_millis(20);
    options.batch_interval = Duration::from_millis(100);
    options.health_interval = Duration::from_millis(200);
    options.restart = RestartPolicy {
        initial_backoff: Duration::from_millis(20),
        max_restarts: 2,
        ..RestartPolicy::default()
    };
    options
}

#[tokio::test]
async fn a_killed_sequencer_is_restarted_and_serves_the_same_finalized_state() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::start(options(dir.path(), sequencer_bin()))
        .await
        .unwrap();
    let state = supervisor.state();
    assert_eq!(state.state, RunState::Ready);
    assert!(supervisor_alive(dir.path()).unwrap());
    assert_eq!(StateFile::read(dir.path()).unwrap().unwrap(), state);
    let l1_front = state.endpoints.l1_rpc.clone();
    let seq_front = state.endpoints.sequencer.clone();
    let anvil_pid = state.components.anvil.process.unwrap().pid;
    let first = state.components.sequencer.process.unwrap().pid;

    // Ready means a watchdog can init: the application is at or below the L1 safe head.
    let l1 = ProviderBuilder::new().connect_http(l1_front.parse().unwrap());
    let safe = l1
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Safe)
        .await
        .unwrap()
        .unwrap()
        .header
        .number;
    let deployed = state.addresses.as_ref().unwrap().application_block;
    assert!(
        safe >= deployed,
        "ready with the safe block {safe} below the deployment block {deployed}"
    );

    // A direct input (anvil signs for its unlocked account 8) through the L1 front; the
    // sequencer drains it into a batch, which finalizes once mined past.
    let call = InputBox::addInputCall {
        appContract: addresses::APPLICATION,
        payload: Bytes::from_static(b"hello"),
    };
    let tx = TransactionRequest::default()
        .with_from(ANVIL_ADDRESSES[roles::DIRECT_INPUTS])
        .with_to(addresses::INPUT_BOX)
        .with_input(call.abi_encode());
    let receipt = l1
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let input_block = receipt.block_number.unwrap();
    let finalized = || async {
        let (status, body) = get(&seq_front, "/finalized_state/inclusion_block").await?;
        let point: serde_json::Value = serde_json::from_slice(&body).ok()?;
        (status == 200)
            .then(|| point["inclusion_block"].as_u64())
            .flatten()
    };
    let block = poll(
        "the checkpoint to pass the direct input",
        Duration::from_secs(60),
        || async { finalized().await.filter(|&b| b > input_block) },
        || async { l1.anvil_mine(Some(1), None).await.unwrap() },
    )
    .await;
    let (_, before) = get(&seq_front, "/finalized_state").await.unwrap();
    let snapshot = WalletSnapshot::decode(&before).unwrap();
    assert_eq!(snapshot.executed_input_count, 1, "the drained direct input");
    assert!(block > input_block);

    devnet_stack::process::signal_group(first, Signal::KILL);
    let restarted = supervisor
        .wait_for(Duration::from_secs(30), |s| {
            let seq = &s.components.sequencer;
            seq.restarts == 1 && seq.state == ComponentState::Running
        })
        .await
        .unwrap();
    let second = restarted.components.sequencer.process.unwrap().pid;
    assert_ne!(first, second);
    assert!(!alive(first));
    assert!(restarted.components.sequencer.last_exit.is_some());
    assert_eq!(
        StateFile::read(dir.path())
            .unwrap()
            .unwrap()
            .components
            .sequencer
            .restarts,
        1,
        "devnet.json records the restart"
    );
    // The same front, the same finalized state, recovered from L1 and the data dir.
    let after = poll(
        "the restarted sequencer to serve",
        Duration::from_secs(30),
        || async {
            let (status, body) = get(&seq_front, "/finalized_state").await?;
            (status == 200).then_some(body)
        },
        || async {},
    )
    .await;
    assert_eq!(after, before);
    assert_eq!(finalized().await, Some(block));

    let outcome = supervisor.shutdown().await.unwrap();
    assert_eq!(outcome, Outcome::Stopped);
    assert!(!alive(anvil_pid) && !alive(second));
    assert!(!supervisor_alive(dir.path()).unwrap());
    let last = StateFile::read(dir.path()).unwrap().unwrap();
    assert_eq!(last.state, RunState::Stopped);
    assert!(devnet_stack::process::pids_with_run_id(&last.run_id).is_empty());
    assert!(!dir.path().join("sequencer-data").exists());
}

#[tokio::test]
async fn a_sequencer_that_keeps_failing_leaves_the_supervisor_degraded() {
    let dir = tempfile::tempdir().unwrap();
    // Runs the real sequencer once; every later start fails before announcing itself.
    let marker = dir.path().join("started-once");
    let script = dir.path().join("flaky-sequencer");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ -e '{m}' ]; then echo 'refusing to start' >&2; exit 7; fi\n\
             touch '{m}'\nexec '{bin}' \"$@\"\n",
            m = marker.display(),
            bin = sequencer_bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let state_dir = dir.path().join("state");
    let mut supervisor = Supervisor::start(options(&state_dir, &script))
        .await
        .unwrap();
    let state = supervisor.state();
    let anvil_pid = state.components.anvil.process.unwrap().pid;
    let first = state.components.sequencer.process.unwrap().pid;
    devnet_stack::process::signal_group(first, Signal::KILL);

    let outcome = tokio::time::timeout(Duration::from_secs(30), supervisor.wait())
        .await
        .expect("the supervisor gives up in time")
        .unwrap();
    let Outcome::Degraded { component, reason } = outcome else {
        panic!("expected a degraded outcome, got {outcome:?}");
    };
    assert_eq!(component, "sequencer");
    assert!(reason.contains("exited"), "{reason}");
    let last = StateFile::read(&state_dir).unwrap().unwrap();
    assert_eq!(last.state, RunState::Stopped);
    assert_eq!(last.components.sequencer.state, ComponentState::Failed);
    assert_eq!(
        last.components.sequencer.restarts, 0,
        "no restart succeeded"
    );
    assert!(last.reason.unwrap().starts_with("sequencer failed"));
    assert!(!alive(anvil_pid));
    assert!(!supervisor_alive(&state_dir).unwrap());
    assert!(devnet_stack::process::pids_with_run_id(&last.run_id).is_empty());
}

#[tokio::test]
async fn a_killed_anvil_is_reprovisioned_behind_the_same_front() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::start(options(dir.path(), sequencer_bin()))
        .await
        .unwrap();
    let state = supervisor.state();
    let first = state.components.anvil.process.unwrap().pid;
    let first_sequencer = state.components.sequencer.process.unwrap().pid;
    devnet_stack::process::signal_group(first, Signal::KILL);
    let renewed = supervisor
        .wait_for(Duration::from_secs(30), |s| {
            s.generation == 1 && s.components.anvil.state == ComponentState::Running
        })
        .await
        .unwrap();
    assert_eq!(renewed.components.anvil.restarts, 1);
    let second = renewed.components.anvil.process.unwrap().pid;
    assert_ne!(first, second);
    assert_ne!(
        renewed.components.sequencer.process.unwrap().pid,
        first_sequencer,
        "the sequencer follows the new L1"
    );
    assert!(!alive(first_sequencer));
    assert_eq!(renewed.endpoints, state.endpoints, "the fronts stay");
    // The new L1 behind the same front has the application at its pinned address again, and
    // the sequencer serves genesis.
    let l1 = ProviderBuilder::new().connect_http(state.endpoints.l1_rpc.parse().unwrap());
    assert_eq!(l1.get_chain_id().await.unwrap(), 31337);
    assert!(
        !l1.get_code_at(addresses::APPLICATION)
            .await
            .unwrap()
            .is_empty()
    );
    let point = crate::http::get_json(
        &state.endpoints.sequencer,
        "/finalized_state/inclusion_block",
    )
    .await;
    assert_eq!(point["inclusion_block"], 0);
    // The replaced L1's log is kept as the newest rotated file.
    assert!(dir.path().join("logs/anvil.log.1").is_file());
    let events = devnet_stack::events::read_events(dir.path()).unwrap();
    let exited = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ChildExited {
                component, signal, ..
            } if component == "anvil" => Some(*signal),
            _ => None,
        })
        .expect("a child_exited event for anvil");
    assert_eq!(exited, Some(9), "SIGKILL, read from the zombie");
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::Restarted { component, .. } if component == "anvil"
    )));
    assert_eq!(supervisor.shutdown().await.unwrap(), Outcome::Stopped);
    assert!(!alive(second));
}

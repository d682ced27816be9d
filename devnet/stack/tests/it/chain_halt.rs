//! Chain-halt health and the control API with a real anvil under interval mining: the stack is
//! `degraded` (an event) when the L1 head stops advancing (`evm_setIntervalMining 0`) and when
//! the sequencer stops finalizing while the L1 holds an input for it (its submitter has no
//! ether left), and `ready` again (`recovered`) once they move; a rolling sequencer restart
//! through the control API keeps the L1 and emits its event; the socket is private and gone
//! after teardown.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Bytes, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{Provider as _, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall as _;
use cartesi_rollups_contracts::input_box::InputBox;
use devnet_pins::{ANVIL_ADDRESSES, addresses, roles};
use devnet_stack::control::SOCKET_FILE;
use devnet_stack::events::read_events;
use devnet_stack::{ControlClient, Mining, Outcome, Supervisor, UpOptions};
use serde_json::{Value, json};

use crate::http::poll;
use crate::support::{alive, sequencer_bin};

const API: Duration = Duration::from_secs(10);

async fn status(client: &ControlClient) -> Value {
    client.get_json("/v1/status", API).await.unwrap()
}

async fn events(client: &ControlClient) -> Vec<Value> {
    let text = client.get_text("/v1/events", API).await.unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls the status until its state is `want` (and, when given, its reason holds `reason`).
async fn wait_state(client: &ControlClient, want: &str, reason: Option<&str>) -> Value {
    poll(
        &format!("the devnet to be {want}"),
        Duration::from_secs(60),
        || async {
            let value = status(client).await;
            let held = value["state"] == want
                && reason.is_none_or(|r| value["reason"].as_str().is_some_and(|t| t.contains(r)));
            held.then_some(value)
        },
        || async {},
    )
    .await
}

#[tokio::test]
async fn a_halted_chain_degrades_the_devnet_until_it_moves_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = UpOptions::new(dir.path());
    options.mining = Mining::Interval(1);
    options.sequencer_bin = Some(sequencer_bin().into());
    options.poll_interval = Duration::from_millis(50);
    options.batch_interval = Duration::from_millis(200);
    options.health_interval = Duration::from_millis(200);
    options.stall_after = Duration::from_secs(10);
    let supervisor = Supervisor::start(options).await.unwrap();
    let state = supervisor.state();
    let anvil_pid = state.components.anvil.process.unwrap().pid;
    let socket = dir.path().join(SOCKET_FILE);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the control socket is private");
    let client = ControlClient::connect(dir.path()).unwrap().unwrap();
    assert_eq!(status(&client).await["state"], "ready");
    assert_eq!(
        kinds(&events(&client).await)[..2],
        ["started".to_owned(), "ready".to_owned()]
    );
    let l1 = ProviderBuilder::new().connect_http(state.endpoints.l1_rpc.parse().unwrap());

    // A direct input is finalized; then the idle stack stays ready beyond the stall limit.
    let call = InputBox::addInputCall {
        appContract: addresses::APPLICATION,
        payload: Bytes::from_static(b"before"),
    };
    let direct = TransactionRequest::default()
        .with_from(ANVIL_ADDRESSES[roles::DIRECT_INPUTS])
        .with_to(addresses::INPUT_BOX)
        .with_input(call.abi_encode());
    let landed = l1
        .send_transaction(direct.clone())
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .block_number
        .unwrap();
    poll(
        "the direct input to be finalized",
        Duration::from_secs(60),
        || async {
            let url = &state.endpoints.sequencer;
            let (code, body) = crate::http::get(url, "/finalized_state/inclusion_block").await?;
            let point: Value = serde_json::from_slice(&body).ok()?;
            (code == 200 && point["inclusion_block"].as_u64()? > landed).then_some(())
        },
        || async {},
    )
    .await;
    let idle_until = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < idle_until {
        let now = status(&client).await;
        if now["state"] != "ready" {
            let control = state.components.sequencer.control_url.clone().unwrap();
            let (_, body) = crate::http::get(&control, "/status").await.unwrap();
            panic!(
                "idle is not a halt: {} {}",
                now["reason"],
                String::from_utf8_lossy(&body)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert!(
        !kinds(&events(&client).await).contains(&"degraded".to_owned()),
        "a finalizing stack is never degraded"
    );

    // The L1 head stops: degraded; it moves again: recovered.
    l1.anvil_set_interval_mining(0).await.unwrap();
    let degraded = wait_state(&client, "degraded", Some("L1 head")).await;
    assert!(degraded["reason"].as_str().unwrap().contains("stuck"));
    l1.anvil_set_interval_mining(1).await.unwrap();
    wait_state(&client, "ready", None).await;

    // The submitter runs dry while an input waits: the checkpoint stands still → degraded.
    let submitter = ANVIL_ADDRESSES[roles::SUBMITTER];
    let funds = l1.get_balance(submitter).await.unwrap();
    l1.anvil_set_balance(submitter, U256::ZERO).await.unwrap();
    let call = InputBox::addInputCall {
        appContract: addresses::APPLICATION,
        payload: Bytes::from_static(b"stuck"),
    };
    l1.send_transaction(direct.clone().with_input(call.abi_encode()))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    wait_state(&client, "degraded", Some("not finalizing")).await;
    l1.anvil_set_balance(submitter, funds).await.unwrap();
    wait_state(&client, "ready", None).await;
    let seen = kinds(&events(&client).await);
    let count = |kind: &str| seen.iter().filter(|k| *k == kind).count();
    assert!(count("degraded") >= 2, "{seen:?}");
    assert!(count("recovered") >= 2, "{seen:?}");

    // A rolling restart through the API: a new sequencer process, the same anvil.
    let before = status(&client).await["components"]["sequencer"]["process"]["pid"].clone();
    let answer = client
        .post_json("/v1/sequencer/restart", &json!({}), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(answer["replaced"], true);
    assert_ne!(answer["pid"], before);
    let after = status(&client).await;
    assert_eq!(after["components"]["anvil"]["process"]["pid"], anvil_pid);
    assert_eq!(
        after["components"]["sequencer"]["process"]["pid"],
        answer["pid"]
    );
    assert!(alive(anvil_pid));
    let refused = client
        .post_json(
            "/v1/sequencer/restart",
            &json!({"binary": "/nonexistent/sequencer"}),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(
        format!("{refused:#}").contains("no sequencer binary"),
        "{refused:#}"
    );
    assert_eq!(
        status(&client).await["components"]["sequencer"]["process"]["pid"],
        answer["pid"],
        "a refused binary leaves the running sequencer alone"
    );
    let unknown = client.get_text("/v1/logs/nobody", API).await.unwrap_err();
    assert!(format!("{unknown:#}").contains("404"), "{unknown:#}");
    let log = client.get_text("/v1/logs/anvil?tail=3", API).await.unwrap();
    assert!(log.lines().count() <= 3 && !log.is_empty());

    assert_eq!(supervisor.shutdown().await.unwrap(), Outcome::Stopped);
    assert!(!socket.exists(), "the socket is removed at teardown");
    let recorded = read_events(dir.path()).unwrap();
    let last: Vec<_> = recorded.iter().rev().take(2).map(|e| e.seq).collect();
    assert!(last[0] > last[1]);
    let tail = kinds(
        &recorded
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect::<Vec<_>>(),
    );
    assert!(tail.contains(&"sequencer_replaced".to_owned()), "{tail:?}");
    assert_eq!(
        tail[tail.len() - 2..],
        ["stopping".to_owned(), "stopped".to_owned()]
    );
    assert!(ControlClient::connect(dir.path()).unwrap().is_none());
}

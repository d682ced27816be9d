//! A detached devnet end to end with a real anvil: transactions and snapshots through the
//! control API, a snapshot restored into the running devnet (L1 and sequencer rewound
//! together, a watchdog initialized at the snapshot agreeing afterwards), logs rotated at a
//! small cap and read across rotation, and `down --keep` then `up --detach` resuming the kept
//! chain with a `resumed` event; `status` says where it read from.

use std::path::Path;
use std::time::Duration;

use devnet_scenarios::driver::WatchdogDriver;
use serde_json::Value;

use crate::cli::json_line;
use crate::devstate::{
    Devnet, agree_at, finalized, finalized_deposit, finalized_transfer, served_state, watchdog_of,
};
use crate::http::poll;

/// The events of the devnet, recorded or live.
fn events(devnet: &Devnet) -> Vec<Value> {
    let output = devnet.run(&["events"]);
    assert_eq!(output.status.code(), Some(0));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A transfer from Alice to Bob, waited for until finalized.
fn transfer(devnet: &Devnet, amount: &str) -> Value {
    finalized_transfer(devnet, "alice", "bob", amount)
}

async fn watchdog(devnet: &Devnet) -> WatchdogDriver {
    watchdog_of(&devnet.ok(&["env", "--format", "json"])).await
}

fn lines(text: &[u8]) -> usize {
    String::from_utf8_lossy(text).lines().count()
}

fn log_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("anvil.log"))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_detached_devnet_rewinds_in_place_rotates_logs_and_resumes_after_down_keep() {
    let devnet = Devnet::new();
    let ready = devnet.ok(&[
        "up",
        "--detach",
        "--log-max-bytes",
        "8192",
        "--log-files",
        "2",
    ]);
    assert_eq!(ready["state"], "ready");
    assert_eq!(ready["source"], "control_api");
    let endpoints = ready["endpoints"].clone();
    let sequencer = endpoints["sequencer"].as_str().unwrap().to_owned();

    // Transactions through the control API; a refusal is still exit 1 with nothing sent.
    let deposit = finalized_deposit(&devnet, "alice", "600000");
    assert_eq!(deposit["source"], "control_api");
    assert!(deposit["finalized_block"].as_u64().is_some());
    let refused = devnet.run(&["tx", "withdraw", "--from", "bob", "--amount", "1"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("insufficient balance"), "{stderr}");
    assert!(refused.stdout.is_empty());

    // A snapshot of the running devnet, and a watchdog initialized at it.
    let saved = devnet.ok(&["snapshot", "save", "drill"]);
    assert_eq!(saved["source"], "control_api");
    assert_eq!(saved["saved"]["name"], "drill");
    let at_snapshot = finalized(&sequencer).await;
    let driver = watchdog(&devnet).await;
    let init = driver.run(&["init"]).await.unwrap();
    assert_eq!(init.exit_code, Some(0), "{}", init.stderr);
    let refused = devnet.run(&["snapshot", "save", "drill"]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "an existing name needs --force"
    );

    // More activity, which the restore takes back.
    let moved = transfer(&devnet, "400000");
    assert_eq!(moved["source"], "control_api");
    assert_ne!(finalized(&sequencer).await, at_snapshot);

    // Restore into the running devnet: same endpoints, L1 and sequencer rewound together.
    let missing = devnet.run(&["snapshot", "restore", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no snapshot"));
    let restored = devnet.ok(&["snapshot", "restore", "drill"]);
    assert_eq!(restored["source"], "control_api");
    assert_eq!(restored["restored"]["name"], "drill");
    assert_eq!(
        restored["endpoints"], endpoints,
        "the fronts keep their ports"
    );
    let kinds: Vec<Value> = events(&devnet).iter().map(|e| e["kind"].clone()).collect();
    for kind in ["snapshot_saved", "restoring", "restored"] {
        assert!(kinds.contains(&Value::from(kind)), "{kind}: {kinds:?}");
    }
    let rewound = served_state(&sequencer).await;
    assert_eq!(rewound, at_snapshot);
    let status = devnet.ok(&["status"]);
    assert_eq!(status["state"], "ready");
    // The watchdog initialized at the snapshot agrees with the rewound stack, and with what
    // comes after it.
    let again = transfer(&devnet, "1000");
    agree_at(&driver, again["finalized_block"].as_u64().unwrap()).await;

    // Snapshots listed and removed through the API.
    devnet.ok(&["snapshot", "save", "spare"]);
    let listed = devnet.ok(&["snapshot", "list"]);
    assert_eq!(listed["source"], "control_api");
    assert_eq!(listed["snapshots"].as_array().unwrap().len(), 2);
    let removed = devnet.ok(&["snapshot", "remove", "spare"]);
    assert_eq!(removed["removed"], "spare");

    // Logs: rotated at the cap, two rotated files kept, read across rotation.
    poll(
        "anvil's log to rotate",
        Duration::from_secs(60),
        || async { devnet.dir.join("logs/anvil.log.2").exists().then_some(()) },
        || async {},
    )
    .await;
    assert!(!devnet.dir.join("logs/anvil.log.3").exists());
    let names = log_files(&devnet.dir);
    assert_eq!(names, ["anvil.log", "anvil.log.1", "anvil.log.2"]);
    let tail = devnet.run(&["logs", "anvil", "--tail", "300"]);
    assert_eq!(tail.status.code(), Some(0));
    assert_eq!(lines(&tail.stdout), 300, "the tail spans rotated files");

    // down --keep of the detached devnet: status from the files, with the kept chain.
    let down = devnet.ok(&["down", "--keep"]);
    let kept_block = down["kept"]["block_number"].as_u64().unwrap();
    let status = json_line(&devnet.run(&["status"]));
    assert_eq!(status["source"], "devnet.json");
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["running"], false);
    assert_eq!(status["kept"]["block_number"], kept_block);
    assert!(status["disk"]["anvil_bytes"].as_u64().unwrap() > 0);
    // From the files now, still across rotation.
    let tail = devnet.run(&["logs", "anvil", "--tail", "300"]);
    assert_eq!(tail.status.code(), Some(0));
    assert_eq!(lines(&tail.stdout), 300);
    let listed = devnet.ok(&["snapshot", "list"]);
    assert_eq!(listed["source"], "files");

    // up --detach resumes the kept chain: a `resumed` event with the kept head.
    let ready = devnet.ok(&["up", "--detach"]);
    assert_eq!(ready["state"], "ready");
    assert_eq!(ready["source"], "control_api");
    assert_eq!(ready["endpoints"], endpoints);
    assert_eq!(ready["kept"], Value::Null, "the kept chain runs again");
    let resumed = events(&devnet)
        .into_iter()
        .find(|e| e["kind"] == "resumed")
        .expect("a resumed event");
    assert_eq!(resumed["block_number"], kept_block);
    assert_eq!(resumed["block_hash"], down["kept"]["block_hash"]);
    let run = driver.run(&["tick"]).await.unwrap();
    assert_eq!(run.exit_code, Some(0), "{}", run.summary_line);
    let down = devnet.ok(&["down"]);
    assert_eq!(down["orphans"], Value::Array(Vec::new()));
}

#[tokio::test]
async fn mine_reorg_and_faults_act_on_a_running_devnet_through_its_control_api() {
    let devnet = Devnet::new();
    // Nothing runs yet: exit 3, and bad usage is exit 2 before anything is asked.
    assert_eq!(devnet.run(&["mine", "1"]).status.code(), Some(3));
    assert_eq!(devnet.run(&["fault", "list"]).status.code(), Some(3));
    assert_eq!(devnet.run(&["mine", "0"]).status.code(), Some(2));
    assert_eq!(devnet.run(&["reorg", "0"]).status.code(), Some(2));
    assert_eq!(
        devnet.run(&["fault", "set", "nonsense"]).status.code(),
        Some(2)
    );

    devnet.ok(&["up", "--detach", "--mining", "manual"]);
    let first = devnet.ok(&["mine", "3"]);
    assert_eq!(first["source"], "control_api");
    let second = devnet.ok(&["mine", "2"]);
    assert_eq!(
        second["head"].as_u64().unwrap(),
        first["head"].as_u64().unwrap() + 2
    );
    let reorged = devnet.ok(&["reorg", "2"]);
    assert_eq!(reorged["head"], second["head"], "same height, new blocks");
    assert_ne!(reorged["old_head_hash"], reorged["new_head_hash"]);
    let event = events(&devnet)
        .into_iter()
        .find(|e| e["kind"] == "reorged")
        .expect("a reorged event");
    assert_eq!(event["depth"], 2);
    assert_eq!(event["new_head_hash"], reorged["new_head_hash"]);
    let too_deep = devnet.run(&["reorg", "100000"]);
    assert_eq!(too_deep.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&too_deep.stderr).contains("past genesis"));

    assert_eq!(
        devnet.ok(&["fault", "list"])["faults"],
        serde_json::json!([])
    );
    let armed = devnet.ok(&["fault", "set", "tamper-state", "drop-deposit:1"]);
    let faults = armed["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{armed}");
    assert_eq!(devnet.ok(&["fault", "list"])["faults"], armed["faults"]);
    assert_eq!(
        devnet.ok(&["fault", "clear"])["faults"],
        serde_json::json!([])
    );
    let down = devnet.ok(&["down"]);
    assert_eq!(down["orphans"], Value::Array(Vec::new()));
}

#[tokio::test]
async fn a_devnet_on_another_chain_id_takes_ops_agrees_and_resumes_only_on_that_chain() {
    let devnet = Devnet::new();
    let ready = devnet.ok(&["up", "--detach", "--chain-id", "1337"]);
    assert_eq!(ready["chain_id"], 1337);
    let exports = devnet.ok(&["env", "--format", "json"]);
    assert_eq!(exports["CARTESI_WATCHDOG_BLOCKCHAIN_ID"], "1337");
    let sequencer = ready["endpoints"]["sequencer"].as_str().unwrap().to_owned();
    let domain = crate::http::get_json(&sequencer, "/domain").await;
    assert_eq!(domain["chainId"], 1337, "{domain}");
    finalized_deposit(&devnet, "alice", "600000");
    let driver = watchdog_of(&exports).await;
    let init = driver.run(&["init"]).await.unwrap();
    assert_eq!(init.exit_code, Some(0), "{}", init.stderr);
    // An op signed for chain 1337 is accepted and finalized; the watchdog agrees.
    let moved = transfer(&devnet, "400000");
    agree_at(&driver, moved["finalized_block"].as_u64().unwrap()).await;

    // A chain kept on 1337 resumes only on 1337.
    let down = devnet.ok(&["down", "--keep"]);
    let refused = devnet.run(&["up", "--detach"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("chain 1337") && stderr.contains("chain 31337"),
        "{stderr}"
    );
    let ready = devnet.ok(&["up", "--detach", "--chain-id", "1337"]);
    assert_eq!(ready["chain_id"], 1337);
    let resumed = events(&devnet)
        .into_iter()
        .find(|e| e["kind"] == "resumed")
        .expect("a resumed event");
    assert_eq!(resumed["block_number"], down["kept"]["block_number"]);
    let run = driver.run(&["tick"]).await.unwrap();
    assert_eq!(run.exit_code, Some(0), "{}", run.summary_line);
}

#[tokio::test]
async fn a_restore_that_cannot_load_leaves_the_running_devnet_as_it_was() {
    let devnet = Devnet::new();
    let ready = devnet.ok(&["up", "--detach"]);
    let sequencer = ready["endpoints"]["sequencer"].as_str().unwrap().to_owned();
    devnet.ok(&["snapshot", "save", "good"]);
    // A snapshot whose manifest is fine but whose chain anvil cannot load.
    let snapshots = devnet.dir.join("snapshots");
    std::fs::create_dir_all(snapshots.join("bad")).unwrap();
    std::fs::copy(
        snapshots.join("good/snapshot.json"),
        snapshots.join("bad/snapshot.json"),
    )
    .unwrap();
    std::fs::write(snapshots.join("bad/chain.json"), b"{not a dump").unwrap();
    let before = finalized(&sequencer).await;

    let refused = devnet.run(&["snapshot", "restore", "bad"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("restoring the chain"), "{stderr}");
    let failed = events(&devnet)
        .into_iter()
        .find(|e| e["kind"] == "restore_failed")
        .expect("a restore_failed event");
    assert_eq!(failed["name"], "bad");
    // The running L1 and sequencer go on: ready, serving, taking transactions.
    let status = devnet.ok(&["status"]);
    assert_eq!(status["state"], "ready");
    assert_eq!(status["components"]["anvil"]["alive"], true);
    assert_eq!(served_state(&sequencer).await, before);
    let deposit = finalized_deposit(&devnet, "alice", "5");
    assert_eq!(deposit["source"], "control_api");
    assert!(!devnet.dir.join("logs/anvil.log.next").exists());
    // A name that is no snapshot is refused before anything stops.
    let missing = devnet.run(&["snapshot", "restore", "../good"]);
    assert_eq!(missing.status.code(), Some(1));
    // The good one still restores.
    let restored = devnet.ok(&["snapshot", "restore", "good"]);
    assert_eq!(restored["restored"]["name"], "good");
    assert_eq!(served_state(&sequencer).await, before);
}

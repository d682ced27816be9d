//! The real `devnet` binary end to end with a real anvil: `tx` (deposit, transfer, withdraw,
//! input; refusals that change nothing; a nonce race), a watchdog initialized before
//! `down --keep` agreeing after `up` resumed the chain without re-init, a snapshot restored
//! rewinding L1 and the sequencer, disk use in `status`, and a `down` while a
//! `tx --wait finalized` waits.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use canonical::WalletSnapshot;
use devnet_pins::{ANVIL_ADDRESSES, roles};
use devnet_scenarios::driver::{WatchdogDriver, ensure_watchdog_binary};
use serde_json::Value;

use crate::http::{get, get_json, poll};

/// The `devnet` binary of this build.
const DEVNET_BIN: &str = env!("CARGO_BIN_EXE_devnet");

/// A devnet in its own state directory, run by a private copy of the binary; `down` on drop.
pub(crate) struct Devnet {
    bin: PathBuf,
    pub(crate) dir: PathBuf,
    tmp: tempfile::TempDir,
    up: Option<Child>,
    ups: usize,
}

impl Devnet {
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let bin = tmp.path().join("devnet");
        if std::fs::hard_link(DEVNET_BIN, &bin).is_err() {
            std::fs::copy(DEVNET_BIN, &bin).unwrap();
        }
        let dir = tmp.path().join("state");
        Self {
            bin,
            dir,
            tmp,
            up: None,
            ups: 0,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .arg("--state-dir")
            .arg(&self.dir)
            .env("DEVNET_LOG", "warn")
            .stdin(Stdio::null());
        command
    }

    /// Starts a command with its output captured.
    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its JSON line.
    pub(crate) fn ok(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "devnet {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        json_line(&output)
    }

    /// Runs a command that must fail with exit 1; returns its stderr.
    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "devnet {args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "nothing on stdout: {args:?}");
        stderr
    }

    /// `devnet up ARGS` in the background until `status` says ready; returns the ready line.
    async fn up(&mut self, args: &[&str]) -> Value {
        self.ups += 1;
        let out = self.tmp.path().join(format!("up-{}.out", self.ups));
        let err = self.tmp.path().join(format!("up-{}.err", self.ups));
        let mut command = self.command(&[&["up"], args].concat());
        command
            .env("DEVNET_LOG", "info")
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        let up = std::cell::RefCell::new(command.spawn().unwrap());
        let line = poll(
            "`devnet up` to print its ready line",
            Duration::from_secs(120),
            || async {
                assert!(
                    up.borrow_mut().try_wait().unwrap().is_none(),
                    "`devnet up` exited: {}",
                    std::fs::read_to_string(&err).unwrap()
                );
                let text = std::fs::read_to_string(&out).ok()?;
                serde_json::from_str(text.lines().next()?).ok()
            },
            || async {},
        )
        .await;
        self.up = Some(up.into_inner());
        line
    }

    /// `devnet down ARGS`; waits for `up` to exit 0.
    async fn down(&mut self, args: &[&str]) -> Value {
        let line = self.ok(&[&["down"], args].concat());
        if let Some(up) = self.up.take() {
            let up = std::cell::RefCell::new(up);
            let status = poll(
                "`devnet up` to exit",
                Duration::from_secs(30),
                || async { up.borrow_mut().try_wait().unwrap() },
                || async {},
            )
            .await;
            assert!(status.success(), "{status}");
        }
        line
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        // Also stops a detached supervisor.
        let _ = self.run(&["down"]);
        if let Some(mut up) = self.up.take() {
            let _ = up.kill();
            let _ = up.wait();
        }
    }
}

fn json_line(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.lines().count(), 1, "one JSON line: {text:?}");
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

/// The served finalized state.
pub(crate) async fn finalized(sequencer: &str) -> WalletSnapshot {
    let (status, body) = get(sequencer, "/finalized_state").await.unwrap();
    assert_eq!(status, 200);
    WalletSnapshot::decode(&body).unwrap()
}

fn balance(snapshot: &WalletSnapshot, role: usize) -> u64 {
    snapshot
        .balance_of(ANVIL_ADDRESSES[role])
        .unwrap_or_default()
        .to::<u64>()
}

async fn nonce(sequencer: &str, role: usize) -> u64 {
    let path = format!("/nonce?sender={}", ANVIL_ADDRESSES[role]);
    get_json(sequencer, &path).await["next_nonce"]
        .as_u64()
        .unwrap()
}

/// The finalized state the sequencer serves, once it serves one (after a restart or a
/// restore it recovers first).
pub(crate) async fn served_state(sequencer: &str) -> WalletSnapshot {
    poll(
        "the sequencer to serve a finalized state",
        Duration::from_secs(60),
        || async {
            let (status, body) = get(sequencer, "/finalized_state").await?;
            (status == 200)
                .then(|| WalletSnapshot::decode(&body).ok())
                .flatten()
        },
        || async {},
    )
    .await
}

/// `tx deposit --from FROM --amount AMOUNT --wait finalized`, which must succeed.
pub(crate) fn finalized_deposit(devnet: &Devnet, from: &str, amount: &str) -> Value {
    devnet.ok(&[
        "tx",
        "deposit",
        "--from",
        from,
        "--amount",
        amount,
        "--wait",
        "finalized",
    ])
}

/// `tx transfer --from FROM --to TO --amount AMOUNT --wait finalized`, which must succeed.
pub(crate) fn finalized_transfer(devnet: &Devnet, from: &str, to: &str, amount: &str) -> Value {
    devnet.ok(&[
        "tx",
        "transfer",
        "--from",
        from,
        "--to",
        to,
        "--amount",
        amount,
        "--wait",
        "finalized",
    ])
}

/// A watchdog with the exports `devnet env --format json` printed.
pub(crate) async fn watchdog_of(exports: &Value) -> WatchdogDriver {
    let exports = exports
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    WatchdogDriver::new(ensure_watchdog_binary(false).await.unwrap(), exports)
}

/// A watchdog with the devnet's exports.
async fn watchdog(devnet: &Devnet) -> WatchdogDriver {
    watchdog_of(&devnet.ok(&["env", "--format", "json"])).await
}

/// One tick, which must exit 0.
async fn tick(driver: &WatchdogDriver) -> devnet_scenarios::driver::Run {
    let run = driver.run(&["tick"]).await.unwrap();
    let detail = format!("{}\n{}", run.summary_line, run.stderr);
    assert_eq!(run.exit_code, Some(0), "{detail}");
    run
}

/// Ticks until the watchdog agrees at `block` or later (exit 0 every time).
pub(crate) async fn agree_at(driver: &WatchdogDriver, block: u64) -> Value {
    let mut last = Value::Null;
    for _ in 0..30 {
        let run = tick(driver).await;
        if run.outcome() == "agreed" && run.summary["target_block"].as_u64().unwrap_or(0) >= block {
            return run.summary;
        }
        last = run.summary;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no agreement at {block}: {last}");
}

#[tokio::test]
async fn transactions_keep_resume_and_snapshots_end_to_end() {
    let mut devnet = Devnet::new();
    let ready = devnet.up(&[]).await;
    assert_eq!(ready["resumed"], Value::Null);
    let sequencer = ready["endpoints"]["sequencer"].as_str().unwrap().to_owned();
    let status = devnet.ok(&["status"]);
    assert!(status["disk"]["total_bytes"].as_u64().unwrap() > 0);
    assert_eq!(status["kept"], Value::Null);

    // Refusals: exit 1, a clear reason, nothing sent.
    let err = devnet.refused(&["tx", "deposit", "--from", "carol", "--amount", "5"]);
    assert!(err.contains("unknown account \"carol\""), "{err}");
    let stranger = "0x4242424242424242424242424242424242424242";
    let err = devnet.refused(&[
        "tx", "transfer", "--from", "alice", "--to", stranger, "--amount", "5",
    ]);
    assert!(err.contains("unknown account"), "{err}");
    for amount in ["0", "-3", "1.5", "lots"] {
        let err = devnet.refused(&["tx", "withdraw", "--from", "bob", "--amount", amount]);
        assert!(err.contains("bad amount"), "{err}");
    }
    let err = devnet.refused(&["tx", "input", "--from", "submitter", "--payload", "0x01"]);
    assert!(err.contains("batch submitter"), "{err}");
    let err = devnet.refused(&["tx", "input", "--from", "alice", "--payload", "0xzz"]);
    assert!(err.contains("bad payload"), "{err}");
    let err = devnet.refused(&["tx", "withdraw", "--from", "bob", "--amount", "1"]);
    assert!(err.contains("insufficient balance"), "{err}");
    assert_eq!(nonce(&sequencer, roles::BOB).await, 0, "nothing was sent");

    // The spec's workload through the CLI.
    let deposit = finalized_deposit(&devnet, "alice", "600000");
    assert_eq!(deposit["op"], "deposit");
    assert!(deposit["l1_tx"].as_str().unwrap().starts_with("0x"));
    let included = deposit["inclusion_block"].as_u64().unwrap();
    assert!(deposit["finalized_block"].as_u64().unwrap() >= included);
    let transfer = finalized_transfer(&devnet, "alice", "bob", "400000");
    assert_eq!(transfer["ack"]["nonce"], 0);
    assert!(transfer["finalized_block"].as_u64().unwrap() > included);
    let withdraw = devnet.ok(&[
        "tx",
        "withdraw",
        "--from",
        ANVIL_ADDRESSES[roles::BOB].to_string().as_str(),
        "--amount",
        "150000",
        "--wait",
        "finalized",
    ]);
    let mut agreed_block = withdraw["finalized_block"].as_u64().unwrap();
    let state = finalized(&sequencer).await;
    assert_eq!(
        (balance(&state, roles::ALICE), balance(&state, roles::BOB)),
        (161_724, 211_724)
    );
    let input = devnet.ok(&[
        "tx",
        "input",
        "--from",
        "direct-inputs",
        "--payload",
        "0xdead",
    ]);
    assert_eq!(input["wait"], "soft");
    assert!(input["inclusion_block"].as_u64().is_some());
    assert_eq!(input["finalized_block"], Value::Null);
    let none = devnet.ok(&[
        "tx", "deposit", "--from", "load3", "--amount", "7", "--wait", "none",
    ]);
    assert_eq!(none["inclusion_block"], Value::Null);

    // A nonce race: concurrent transfers from one account. Every one is applied or refused
    // as a race, and exactly the applied ones took a nonce.
    let before = nonce(&sequencer, roles::ALICE).await;
    let racers: Vec<Child> = (0..3)
        .map(|_| {
            devnet.spawn(&[
                "tx",
                "transfer",
                "--from",
                "alice",
                "--to",
                "bob",
                "--amount",
                "1",
                "--skip-balance-check",
            ])
        })
        .collect();
    let mut applied = 0;
    for racer in racers {
        let output = racer.wait_with_output().unwrap();
        match output.status.code() {
            Some(0) => applied += 1,
            Some(1) => {
                let err = String::from_utf8_lossy(&output.stderr);
                assert!(err.contains("nonce race"), "{err}");
            }
            other => panic!("{other:?}: {}", String::from_utf8_lossy(&output.stderr)),
        }
    }
    assert!(applied >= 1);
    assert_eq!(nonce(&sequencer, roles::ALICE).await, before + applied);

    // A watchdog initialized now.
    let driver = watchdog(&devnet).await;
    let init = driver.run(&["init"]).await.unwrap();
    assert_eq!(init.exit_code, Some(0), "{}", init.stderr);
    let settled = finalized_transfer(&devnet, "bob", "alice", "1000");
    agreed_block = agreed_block.max(settled["finalized_block"].as_u64().unwrap());
    agree_at(&driver, agreed_block).await;

    // Snapshot "drill", then more activity.
    let saved = devnet.ok(&["snapshot", "save", "drill"]);
    assert_eq!(saved["saved"]["name"], "drill");
    let at_snapshot = finalized(&sequencer).await;
    let later = finalized_transfer(&devnet, "bob", "alice", "5000");
    let later_block = later["finalized_block"].as_u64().unwrap();
    agree_at(&driver, later_block).await;
    let before_down = finalized(&sequencer).await;

    // down --keep, then up resumes the same chain; the watchdog agrees without init.
    let down = devnet.down(&["--keep"]).await;
    let kept_block = down["kept"]["block_number"].as_u64().unwrap();
    let status = devnet.run(&["status"]);
    let status = json_line(&status);
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["kept"]["block_number"], kept_block);
    assert!(status["disk"]["anvil_bytes"].as_u64().unwrap() > 0);
    let ready = devnet.up(&[]).await;
    assert_eq!(ready["resumed"]["block_number"], kept_block);
    assert_eq!(ready["addresses"], status["addresses"]);
    assert_eq!(
        ready["endpoints"], status["endpoints"],
        "the same endpoints"
    );
    let sequencer = ready["endpoints"]["sequencer"].as_str().unwrap().to_owned();
    let run = tick(&driver).await;
    assert!(
        ["agreed", "idle"].contains(&run.outcome()),
        "{}",
        run.summary_line
    );
    assert_eq!(finalized(&sequencer).await, before_down);
    let after = finalized_deposit(&devnet, "alice", "3");
    assert!(after["inclusion_block"].as_u64().unwrap() > kept_block);
    agree_at(&driver, after["finalized_block"].as_u64().unwrap()).await;

    // Restore the snapshot: L1 and the sequencer rewind together.
    devnet.down(&["--keep"]).await;
    let err = devnet.refused(&["snapshot", "restore", "nope"]);
    assert!(err.contains("no snapshot"), "{err}");
    let restored = devnet.ok(&["snapshot", "restore", "drill"]);
    assert_eq!(restored["restored"]["name"], "drill");
    let ready = devnet.up(&[]).await;
    let sequencer = ready["endpoints"]["sequencer"].as_str().unwrap().to_owned();
    let rewound = served_state(&sequencer).await;
    assert_eq!(rewound, at_snapshot);
    let listed = devnet.ok(&["snapshot", "list"]);
    assert_eq!(listed["snapshots"][0]["name"], "drill");

    // A plain down removes the chain and anvil's files, and keeps the snapshots.
    let down = devnet.down(&[]).await;
    assert_eq!(down["kept"], Value::Null);
    assert!(!devnet.dir.join("anvil").exists());
    assert!(!devnet.dir.join("kept.json").exists());
    assert!(devnet.dir.join("snapshots/drill/chain.json").is_file());
    assert!(devnet_stack::process::pids_with_run_id(down["run_id"].as_str().unwrap()).is_empty());
}

#[tokio::test]
async fn down_while_a_tx_waits_for_finality_ends_it_cleanly() {
    let mut devnet = Devnet::new();
    // Nothing is mined unless asked, so the input waits for its block.
    let ready = devnet.up(&["--mining", "manual"]).await;
    let run_id = ready["run_id"].as_str().unwrap().to_owned();
    let l1 = ready["endpoints"]["l1_rpc"].as_str().unwrap().to_owned();
    let waiting = devnet.spawn(&[
        "tx",
        "input",
        "--from",
        "direct-inputs",
        "--payload",
        "0x01",
        "--wait",
        "finalized",
    ]);
    let pid = waiting.id();
    // The input is in anvil's pool: the tx is waiting for its block.
    poll(
        "the input to reach the pool",
        Duration::from_secs(30),
        || async {
            let request = serde_json::json!(
                {"jsonrpc": "2.0", "id": 1, "method": "txpool_status", "params": []}
            );
            let pool = crate::client::rpc(&l1, request).await;
            (pool["result"]["pending"].as_str() != Some("0x0")).then_some(())
        },
        || async {},
    )
    .await;
    devnet.down(&[]).await;
    let output = waiting.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stopped while this transaction was waiting"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert!(!devnet_stack::process::is_running(pid));
    assert!(devnet_stack::process::pids_with_run_id(&run_id).is_empty());
}

#[test]
fn a_chain_kept_by_other_pins_is_refused_naming_both() {
    let devnet = Devnet::new();
    std::fs::create_dir_all(devnet.dir.join("anvil")).unwrap();
    std::fs::write(devnet.dir.join("anvil/state.json"), b"{}").unwrap();
    let kept = serde_json::json!({
        "format": 1,
        "versions": {"devnet": "0.0.1", "anvil": "1.4.4", "rollups": "2.0.0"},
        "chain_id": 31337,
        "addresses": serde_json::to_value(devnet_stack::state_file::Addresses::from(
            &devnet_stack::Deployment::pinned(1),
        )).unwrap(),
        "block_number": 10,
        "block_hash": format!("0x{}", "11".repeat(32)),
        "run_id": "old",
        "chain_bytes": 2,
        "kept_at_ms": 1,
    });
    std::fs::write(devnet.dir.join("kept.json"), kept.to_string()).unwrap();
    let output = devnet.run(&["up"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("anvil 1.4.4, Rollups 2.0.0"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "anvil {}, Rollups {}",
            devnet_pins::ANVIL.version,
            devnet_pins::ROLLUPS_VERSION
        )),
        "{stderr}"
    );
    assert!(
        devnet.dir.join("kept.json").is_file(),
        "the kept chain stays"
    );
}

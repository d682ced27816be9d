//! Bring-up time of the devnet and sustained `POST /tx` throughput of the devnet sequencer.
//! Run with `cargo bench -p devnet --bench stack`; method and figures are recorded in
//! `BENCHMARKS.md`. anvil must already be installed (any earlier devnet run installs it); the
//! `devnet-sequencer` binary is built in the release profile when it is missing.
//!
//! * Bring-up, library: `LocalStack::builder()…start()` with a `devnet-sequencer` child, from
//!   the call to the return (anvil ready, contracts deployed, sequencer announced and answering
//!   `/readyz`); then `shutdown()` (reverse order, orphan audit).
//! * Bring-up, CLI: spawning `devnet up --state-dir D` until `D/devnet.json` says `ready` (what
//!   `devnet status` reads), then `devnet down` until both processes are gone.
//! * Throughput: pre-signed one-unit transfers posted with `sequencer-client` to a
//!   `devnet-sequencer` child on anvil (automine, default batching: 100 ops or 2 s), one
//!   sender sequentially, then seven senders concurrently (each in nonce order), directly and
//!   through a `Front` (what `devnet up` exposes).

#![allow(clippy::print_stdout)] // A bench binary reports its figures on stdout.
#![allow(missing_docs, unreachable_pub)] // Not a library.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, U256};
use canonical::{InputBuilder, Method, WalletConfig};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS, addresses};
use devnet_stack::state_file::{RunState, StateFile};
use devnet_stack::{Front, LocalStack, Mining, SequencerMode};
use futures_util::future::join_all;
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};

const DEVNET_BIN: &str = env!("CARGO_BIN_EXE_devnet");
const RUNS: usize = 7;
const OPS_PER_SENDER: u32 = 400;
const SENDERS: [usize; 7] = [1, 2, 3, 4, 5, 6, 7];

/// The `devnet-sequencer` binary of this build (another package's: built on first use).
fn sequencer_bin() -> PathBuf {
    devnet_stack::ensure_sequencer_binary().expect("the devnet-sequencer binary")
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {label} | {} | {:.0} | {:.0} | {:.0} |",
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1])
    );
}

async fn bring_up_library() -> (Vec<Duration>, Vec<Duration>) {
    let mut up = Vec::new();
    let mut down = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let stack = LocalStack::builder()
            .sequencer(SequencerMode::child_at(sequencer_bin()))
            .start()
            .await
            .expect("stack");
        up.push(started.elapsed());
        let stopping = Instant::now();
        stack.shutdown().await.expect("shutdown");
        down.push(stopping.elapsed());
    }
    (up, down)
}

fn wait_ready(dir: &Path, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if let Ok(Some(state)) = StateFile::read(dir)
            && state.state == RunState::Ready
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn bring_up_cli() -> (Vec<Duration>, Vec<Duration>, Vec<Duration>) {
    let (mut up, mut reported, mut down) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("devnet");
        let started = Instant::now();
        let mut child = Command::new(DEVNET_BIN)
            .arg("up")
            .arg("--state-dir")
            .arg(&dir)
            .env("DEVNET_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("devnet up");
        assert!(
            wait_ready(&dir, started + Duration::from_secs(30)),
            "not ready"
        );
        up.push(started.elapsed());
        let state = StateFile::read(&dir).expect("read").expect("state");
        reported.push(Duration::from_millis(state.ready_after_ms.unwrap_or(0)));
        let stopping = Instant::now();
        let status = Command::new(DEVNET_BIN)
            .arg("down")
            .arg("--state-dir")
            .arg(&dir)
            .env("DEVNET_LOG", "warn")
            .stdout(Stdio::null())
            .status()
            .expect("devnet down");
        assert!(status.success());
        child.wait().expect("reap");
        down.push(stopping.elapsed());
    }
    (up, reported, down)
}

fn presign(sender: usize, ops: u32) -> Vec<TxRequest> {
    let builder = InputBuilder::new(WalletConfig::devnet(), addresses::APPLICATION);
    let method = Method::Transfer {
        amount: U256::from(1u64),
        to: ANVIL_ADDRESSES[8],
    };
    (0..ops)
        .map(|nonce| {
            let op = builder
                .sign(&ANVIL_KEYS[sender], nonce, 1400, &method)
                .expect("sign");
            TxRequest {
                nonce,
                max_fee: 1400,
                data: op.data,
                signature: op.signature,
                sender: ANVIL_ADDRESSES[sender],
            }
        })
        .collect()
}

/// Posts every list in order, the lists concurrently; returns the wall time and each latency.
async fn post_all(client: &SequencerClient, lists: &[Vec<TxRequest>]) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let per_sender = join_all(lists.iter().map(|ops| async move {
        let mut latencies = Vec::with_capacity(ops.len());
        for tx in ops {
            let sent = Instant::now();
            client.submit_tx(tx).await.expect("accepted");
            latencies.push(sent.elapsed());
        }
        latencies
    }))
    .await;
    (
        started.elapsed(),
        per_sender.into_iter().flatten().collect(),
    )
}

fn report(label: &str, wall: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let n = latencies.len();
    let pct = |p: usize| latencies[(n * p / 100).min(n - 1)].as_secs_f64() * 1e3;
    println!(
        "| {label} | {n} | {:.0} | {:.2} | {:.2} |",
        n as f64 / wall.as_secs_f64(),
        pct(50),
        pct(99)
    );
}

async fn throughput() {
    let stack = LocalStack::builder()
        .mining(Mining::Auto)
        .sequencer(SequencerMode::child_at(sequencer_bin()))
        .configure_sequencer(|c| c.poll_interval = Duration::from_millis(50))
        .start()
        .await
        .expect("stack");
    let front = Front::start().await.expect("front");
    front.set_target(stack.sequencer_addr());
    let direct = SequencerClient::new(RedactedUrl::parse(stack.sequencer_url()).expect("url"))
        .expect("client");
    let fronted =
        SequencerClient::new(RedactedUrl::parse(&front.url()).expect("url")).expect("client");
    // Fund every sender, then mine until the sequencer has drained the deposits (a probe op
    // from the last sender is accepted).
    for &sender in &SENDERS {
        stack
            .devnet()
            .l1()
            .deposit_erc20(
                ANVIL_ADDRESSES[sender],
                U256::from(1_000_000_000_000u64),
                Bytes::new(),
            )
            .await
            .expect("deposit");
    }
    let total = 3 * OPS_PER_SENDER + 1;
    // The probe spends the last sender's nonce 0; its list then starts at nonce 1.
    let mut signed: Vec<Vec<TxRequest>> = SENDERS.iter().map(|&s| presign(s, total)).collect();
    let probe = signed[SENDERS.len() - 1].remove(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while direct.submit_tx(&probe).await.is_err() {
        assert!(Instant::now() < deadline, "deposits not drained");
        stack.mine(1).await.expect("mine");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut take = |n: u32| -> Vec<Vec<TxRequest>> {
        signed
            .iter_mut()
            .map(|list| list.drain(..n as usize).collect())
            .collect()
    };
    println!("| run | ops | ops/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    let round = take(OPS_PER_SENDER);
    let (wall, lat) = post_all(&direct, &round[..1]).await;
    report("1 sender, direct", wall, lat);
    let (wall, lat) = post_all(&direct, &round[1..]).await;
    report("6 senders concurrently, direct", wall, lat);
    let round = take(OPS_PER_SENDER);
    let (wall, lat) = post_all(&direct, &round).await;
    report("7 senders concurrently, direct", wall, lat);
    let round = take(OPS_PER_SENDER);
    let (wall, lat) = post_all(&fronted, &round).await;
    report("7 senders concurrently, through a front", wall, lat);
    drop(front);
    stack.shutdown().await.expect("shutdown");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and expects speed.
    if !std::env::args().any(|a| a == "--bench") {
        println!("stack bench: run with `cargo bench -p devnet --bench stack`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("## Bring-up ({RUNS} runs each, ms)\n");
    println!("| measure | runs | min | median | max |");
    println!("|---|---:|---:|---:|---:|");
    let (up, down) = runtime.block_on(bring_up_library());
    summary("LocalStack::start (child sequencer) to ready", up);
    summary("LocalStack::shutdown incl. orphan audit", down);
    let (up, reported, down) = bring_up_cli();
    summary("`devnet up` spawn to devnet.json ready", up);
    summary("`devnet up` self-reported ready_after_ms", reported);
    summary("`devnet down` to both processes gone", down);
    println!("\n## POST /tx throughput\n");
    runtime.block_on(throughput());
}

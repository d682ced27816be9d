//! Benchmark 3: one tick over N inputs (10 per block) in a child process; peak RSS (`VmHWM`)
//! and inputs/s. The doubles, the canonical state the sequencer serves and `init` live in the
//! parent, so the child's peak is the tick's alone.
//!
//! Two workloads: `steady` (deposits and transfers cycling over four fixed accounts, each
//! block closed by a batch that executes its deposits: the application state has the same
//! size after 1k and 100k inputs, so the RSS ratio measures the tick's streaming) and
//! `growing` (deposits only: they wait in the scheduler's queue, so the application state
//! itself grows with N).

use std::{path::Path, process::Command, time::Instant};

use alloy_primitives::{Address, B256, U256};
use canonical::{Batch, Engine, Frame, InputBuilder, InputOutcome, Method, WalletConfig};
use watchdog::{
    Watchdog,
    testing::{
        genesis_state,
        l1::{APP, Chain, Placed, serve},
        sequencer::{FakeSequencer, Served},
    },
};

use crate::{B0, PER_BLOCK, block_of};

/// The first argument that makes this binary a tick child.
pub(crate) const CHILD_ARG: &str = "__tick-child";
/// Names a program the tick children run under (a heap profiler), for memory investigations.
const CHILD_WRAPPER_ENV: &str = "WATCHDOG_BENCH_CHILD_WRAPPER";

/// `VmHWM` of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The child: one tick on `<state> <l1> <sequencer> [recovery threads]`, then one line of
/// figures on stdout.
pub(crate) fn child(args: &[String]) {
    let (state, l1, seq) = match args {
        [state, l1, seq] => (state, l1, seq),
        [state, l1, seq, threads] => {
            canonical::set_recovery_threads(threads.parse().unwrap());
            (state, l1, seq)
        }
        _ => panic!("usage: {CHILD_ARG} STATE L1 SEQUENCER [RECOVERY_THREADS]"),
    };
    let state = Path::new(state);
    // As the `sequencer-watchdog` binary does at start-up.
    watchdog::allocator::pin_mmap_threshold();
    let before = peak_rss_kib();
    let start = Instant::now();
    let mut events = Vec::new();
    let summary = Watchdog::open(state, crate::settings(state, l1, seq)).tick(&mut events);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "outcome={} secs={secs} hwm_kib={} hwm_before_kib={before}",
        summary.outcome().as_str(),
        peak_rss_kib()
    );
}

/// What a child tick reports.
pub(crate) struct ChildTick {
    /// Wall time of the tick.
    pub(crate) secs: f64,
    /// Peak RSS of the child, KiB.
    pub(crate) hwm: u64,
    /// Peak RSS before the tick, KiB.
    pub(crate) before: u64,
}

/// Runs one tick in a child process (recovery on `threads` threads if given) and checks that
/// it agreed.
pub(crate) fn tick_child(state: &Path, l1: &str, seq: &str, threads: Option<usize>) -> ChildTick {
    let mut args = vec![
        CHILD_ARG.to_owned(),
        state.to_str().unwrap().to_owned(),
        l1.to_owned(),
        seq.to_owned(),
    ];
    args.extend(threads.map(|t| t.to_string()));
    // A profiler to run the child under, e.g. `heaptrack` (its peak RSS then includes it).
    let mut command = match std::env::var_os(CHILD_WRAPPER_ENV) {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.arg(std::env::current_exe().unwrap());
            command
        }
        None => Command::new(std::env::current_exe().unwrap()),
    };
    let out = command.args(&args).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "child failed: {line} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(field(&line, "outcome"), "agreed", "{line}");
    ChildTick {
        secs: field(&line, "secs").parse().unwrap(),
        hwm: field(&line, "hwm_kib").parse().unwrap(),
        before: field(&line, "hwm_before_kib").parse().unwrap(),
    }
}

/// The input mix of a scale run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Per block: nine deposits and one batch with a transfer, over four fixed accounts.
    Steady,
    /// Deposits of 1 unit each from four depositors, never executed by a batch.
    Growing,
}

impl Workload {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Steady => "steady",
            Workload::Growing => "growing",
        }
    }
}

/// The secret of fixed account `k` (a valid secp256k1 scalar).
fn key(k: u64) -> B256 {
    B256::repeat_byte(0x11 + k as u8)
}

fn inputs(workload: Workload, n: u64) -> Vec<Placed> {
    let builder = InputBuilder::new(WalletConfig::devnet(), APP);
    let accounts: Vec<Address> = (0..4)
        .map(|k| canonical::address_of(&key(k)).unwrap())
        .collect();
    let mut nonces = [0u32; 4];
    let mut batches = 0u64;
    (0..n)
        .map(|i| {
            let block = block_of(i);
            let closes_block = i % PER_BLOCK == PER_BLOCK - 1;
            let raw = match workload {
                Workload::Steady if closes_block => {
                    // Executes this block's deposits, then account k pays account k+1.
                    let k = (batches % 4) as usize;
                    let method = Method::Transfer {
                        amount: U256::from(1u64),
                        to: accounts[(k + 1) % 4],
                    };
                    let op = builder.sign(&key(k as u64), nonces[k], 1, &method).unwrap();
                    nonces[k] += 1;
                    let batch = Batch {
                        nonce: batches,
                        frames: vec![Frame {
                            user_ops: vec![op],
                            safe_block: block,
                            fee_price: 1,
                        }],
                    };
                    batches += 1;
                    builder.batch(&batch, block, i)
                }
                Workload::Steady => builder.deposit(
                    accounts[(i % 4) as usize],
                    U256::from(1_000_000u64),
                    block,
                    i,
                ),
                Workload::Growing => {
                    let depositor = Address::repeat_byte(0xa0 + (i % 4) as u8);
                    builder.deposit(depositor, U256::from(1u64), block, i)
                }
            };
            crate::placed(i, raw)
        })
        .collect()
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} missing in {line:?}"))
}

/// Runs one child per workload and size and prints peak RSS, inputs/s and, per workload, the
/// RSS ratio of the last size over the first.
pub(crate) fn run(sizes: &[u64]) {
    for workload in [Workload::Steady, Workload::Growing] {
        let peaks: Vec<u64> = sizes.iter().map(|&n| one(workload, n)).collect();
        if let (Some(first), Some(last)) = (peaks.first(), peaks.last()) {
            println!(
                "scale {}: peak RSS ratio {} ÷ {} inputs = {:.2}",
                workload.name(),
                sizes[sizes.len() - 1],
                sizes[0],
                *last as f64 / *first as f64
            );
        }
    }
}

/// One tick over `n` inputs of `workload` in a child; returns its peak RSS in KiB.
fn one(workload: Workload, n: u64) -> u64 {
    let placed = inputs(workload, n);
    let last = placed.last().map_or(B0, |p| p.block);
    let mut engine = Engine::new(WalletConfig::devnet());
    let (mut transfers, mut included) = (0, 0);
    for p in &placed {
        let result = engine.advance(&p.raw).unwrap();
        if let Some(InputOutcome::BatchExecuted { included: ops, .. }) = result.outcome {
            transfers += 1;
            included += ops;
        }
    }
    assert_eq!(
        included, transfers,
        "every transfer of the workload executes"
    );
    let state_bytes = engine.snapshot().encode();
    let machine_bytes = engine.state().encode().len();
    let l1 = serve(Chain {
        head: last + 1,
        safe: last + 1,
        max_range: 100,
        ..Chain::with_inputs(placed)
    });
    let seq = FakeSequencer::start(Served::at(B0, 0, genesis_state()));
    let tmp = crate::tempdir("watchdog-bench-scale-");
    let state = tmp.path().join("state");
    let (l1_url, seq_url) = (format!("http://{l1}"), seq.url());
    crate::init(&state, &l1_url, &seq_url);
    seq.set(|s| (s.block, s.count, s.state) = (last, n, state_bytes));
    let ChildTick { secs, hwm, before } = tick_child(&state, &l1_url, &seq_url, None);
    let checkpoint = checkpoint_bytes(&state);
    println!(
        "scale {}: {n:>7} inputs ({transfers} transfers)  tick {secs:>8.2} s  {:>9.0} inputs/s  peak RSS {hwm:>7} KiB (at start {before} KiB)  engine state {machine_bytes} B  checkpoint {checkpoint} B",
        workload.name(),
        n as f64 / secs
    );
    hwm
}

/// The canonical engine after `n` inputs of `workload`.
pub(crate) fn engine(workload: Workload, n: u64) -> Engine {
    let mut engine = Engine::new(WalletConfig::devnet());
    for p in inputs(workload, n) {
        engine.advance(&p.raw).unwrap();
    }
    engine
}

/// The bytes of the head checkpoint's files (what a publish writes).
fn checkpoint_bytes(state: &Path) -> u64 {
    fn size(path: &Path) -> u64 {
        let meta = std::fs::symlink_metadata(path).unwrap();
        if meta.is_dir() {
            std::fs::read_dir(path)
                .unwrap()
                .map(|e| size(&e.unwrap().path()))
                .sum()
        } else {
            meta.len()
        }
    }
    let head: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("head.json")).unwrap()).unwrap();
    size(&state.join(head["checkpoint"].as_str().unwrap()))
}

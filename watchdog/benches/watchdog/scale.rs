//! Benchmark 3: one tick over N inputs (deposits, 10 per block) in a child process; peak RSS
//! (`VmHWM`) and inputs/s. The doubles, the canonical state the sequencer serves and `init`
//! live in the parent, so the child's peak is the tick's alone.

use std::{path::Path, process::Command, time::Instant};

use alloy_primitives::{Address, U256};
use canonical::{Engine, InputBuilder, WalletConfig};
use watchdog::Watchdog;

use crate::{B0, fakes};

/// The first argument that makes this binary a tick child.
pub(crate) const CHILD_ARG: &str = "__tick-child";
/// Inputs per L1 block.
const PER_BLOCK: u64 = 10;

/// `VmHWM` of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The child: one tick on `<state> <l1> <sequencer>`, then one line of figures on stdout.
pub(crate) fn child(args: &[String]) {
    let [state, l1, seq] = args else {
        panic!("usage: {CHILD_ARG} STATE L1 SEQUENCER");
    };
    let state = Path::new(state);
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

/// Deposits of 1 unit each from a few depositors, `PER_BLOCK` per block after [`B0`].
fn inputs(n: u64) -> Vec<fakes::Placed> {
    let builder = InputBuilder::new(WalletConfig::devnet(), fakes::APP);
    (0..n)
        .map(|i| {
            let block = B0 + 1 + i / PER_BLOCK;
            let depositor = Address::repeat_byte(0xa0 + (i % 4) as u8);
            fakes::Placed {
                block,
                raw: builder.deposit(depositor, U256::from(1u64), block, i),
            }
        })
        .collect()
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} missing in {line:?}"))
}

/// Runs one child per size and prints peak RSS, inputs/s and the RSS ratio of the last size
/// over the first.
pub(crate) fn run(sizes: &[u64]) {
    let mut peaks = Vec::new();
    for &n in sizes {
        let placed = inputs(n);
        let last = placed.last().map_or(B0, |p| p.block);
        let mut engine = Engine::new(WalletConfig::devnet());
        for p in &placed {
            engine.advance(&p.raw).unwrap();
        }
        let state_bytes = engine.snapshot().encode();
        let machine_bytes = engine.state().encode().len();
        let l1 = fakes::l1(fakes::Chain {
            inputs: placed,
            head: last + 1,
            max_range: 100,
        });
        let (seq, served) = fakes::sequencer(fakes::Served {
            block: B0,
            count: 0,
            state: crate::genesis_state(),
        });
        let tmp = crate::tempdir("watchdog-bench-scale-");
        let state = tmp.path().join("state");
        let (l1_url, seq_url) = (format!("http://{l1}"), format!("http://{seq}"));
        crate::init(&state, &l1_url, &seq_url);
        *served.lock().unwrap() = fakes::Served {
            block: last,
            count: n,
            state: state_bytes,
        };
        let out = Command::new(std::env::current_exe().unwrap())
            .args([CHILD_ARG, state.to_str().unwrap(), &l1_url, &seq_url])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success(),
            "child failed: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(field(&line, "outcome"), "agreed", "{line}");
        let secs: f64 = field(&line, "secs").parse().unwrap();
        let hwm: u64 = field(&line, "hwm_kib").parse().unwrap();
        let before: u64 = field(&line, "hwm_before_kib").parse().unwrap();
        println!(
            "scale: {n:>7} inputs  tick {secs:>8.2} s  {:>9.0} inputs/s  peak RSS {hwm:>7} KiB (at start {before} KiB)  engine state {machine_bytes} B",
            n as f64 / secs
        );
        peaks.push(hwm);
    }
    if let (Some(first), Some(last)) = (peaks.first(), peaks.last()) {
        println!(
            "scale: peak RSS ratio {} ÷ {} inputs = {:.2}",
            sizes[sizes.len() - 1],
            sizes[0],
            *last as f64 / *first as f64
        );
    }
}

//! The watchdog's benchmarks as one bench binary (`cargo bench -p watchdog --bench watchdog`):
//!
//! 1. an idle tick against a loopback sequencer, side by side with one plain GET of
//!    `/finalized_state/inclusion_block` on the same server;
//! 2. a durable checkpoint publish against a raw write + fsync of the same bytes, at the sizes
//!    a native checkpoint has after the scale workloads and at 1 MiB and 16 MiB;
//! 3. a tick over 1k and 100k inputs of two workloads (steady and growing application state),
//!    each in a child process (this binary re-executed), for peak RSS and inputs/s;
//! 4. a tick catching up 100k inputs of signed transfers in full batches (1M user ops) from an
//!    L1 capping `eth_getLogs` at 10 000 results, with and without parallel sender recovery.
//!
//! Arguments: any of `idle`, `publish`, `scale`, `catchup` (default: all); `--quick` for fewer
//! rounds and smaller sizes.
//! Figures go to stdout; `BENCHMARKS.md` records a run.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod catchup;
mod idle;
mod publish;
mod scale;

use std::{path::Path, time::Duration};

use sequencer_client::RedactedUrl;
use watchdog::{
    InitOptions, Settings, Watchdog,
    options::Backend,
    settings::Deadline,
    testing::l1::{APP, CHAIN_ID, Placed},
};

/// The bootstrap block of every bench state directory.
pub(crate) const B0: u64 = 2;
/// Inputs per L1 block of the workloads.
pub(crate) const PER_BLOCK: u64 = 10;

/// The block of input `i`: [`PER_BLOCK`] inputs per block from `B0 + 1` on.
pub(crate) fn block_of(i: u64) -> u64 {
    B0 + 1 + i / PER_BLOCK
}

/// Input `i` of a workload, its raw calldata `raw`, in transaction `i % PER_BLOCK` of
/// [`block_of`]`(i)`.
pub(crate) fn placed(i: u64, raw: Vec<u8>) -> Placed {
    let tx_index = i % PER_BLOCK;
    Placed {
        index: i,
        block: block_of(i),
        tx_index,
        log_index: tx_index * 2 + 1,
        raw,
    }
}

/// The settings an operator would give for a state dir, an L1 and a sequencer.
pub(crate) fn settings(state: &Path, l1: &str, seq: &str) -> Settings {
    Settings {
        state_dir: Some(state.to_path_buf()),
        rpc_url: Some(RedactedUrl::parse(l1).unwrap()),
        sequencer_url: Some(RedactedUrl::parse(seq).unwrap()),
        chain_id: Some(CHAIN_ID),
        app_address: Some(APP),
        machine_backend: Some(Backend::Native),
        deadline: Deadline(Some(Duration::from_secs(1800))),
        ..Settings::default()
    }
}

/// `init` from `genesis:devnet` at [`B0`]; panics unless it initialized.
pub(crate) fn init(state: &Path, l1: &str, seq: &str) {
    let summary = Watchdog::open(state, settings(state, l1, seq))
        .init(&InitOptions {
            snapshot: Some("genesis:devnet".into()),
            snapshot_block: Some(B0),
            ..InitOptions::default()
        })
        .unwrap_or_else(|e| panic!("init: {e}"));
    assert_eq!(
        summary.outcome().as_str(),
        "initialized",
        "{}",
        summary.line()
    );
}

/// A fresh temp dir under the target dir.
pub(crate) fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// Median of `samples` (sorted in place).
pub(crate) fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(scale::CHILD_ARG) {
        scale::child(&args[1..]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let chosen: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["idle", "publish", "scale", "catchup"].contains(a))
        .collect();
    let wants = |name: &str| chosen.is_empty() || chosen.contains(&name);
    if wants("idle") {
        idle::run(if quick { 10 } else { 100 });
    }
    if wants("publish") {
        if quick {
            publish::run(5, 10_000);
        } else {
            publish::run(30, 100_000);
        }
    }
    if wants("scale") {
        scale::run(if quick {
            &[1_000, 10_000]
        } else {
            &[1_000, 100_000]
        });
    }
    if wants("catchup") {
        catchup::run(if quick { 10_000 } else { 100_000 });
    }
}

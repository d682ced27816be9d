//! Benchmark 4: a tick catching up N inputs of signed transfers in full batches from a loopback
//! L1 that caps `eth_getLogs` at 10 000 results, once with parallel sender recovery (every core)
//! and once without (the fold's thread only), each in a child process: wall time, user-ops/s,
//! peak RSS (`VmHWM`) and `eth_getLogs` requests.
//!
//! Inputs, ten per block: the first 100 fund the signers (ERC-20 deposits); then per block nine
//! deposits and one batch of [`OPS_PER_BATCH`] signed transfers, one from each signer (a full
//! batch: ~13.6 KB, the sequencer's size target being ~12.6 KB).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy_primitives::{Address, B256, U256};
use canonical::{Batch, Engine, Frame, InputBuilder, Method, WalletConfig, WireUserOp};

use watchdog::testing::{
    genesis_state,
    l1::{APP, Chain, Placed, serve_shared},
    sequencer::{FakeSequencer, Served},
};

use crate::scale::{ChildTick, tick_child};
use crate::{B0, PER_BLOCK, block_of};

/// Signers, and signed transfers in each batch (one per signer).
const OPS_PER_BATCH: usize = 100;
/// The L1 double's cap on logs per `eth_getLogs`.
const MAX_RESULTS: usize = 10_000;

fn key(k: usize) -> B256 {
    B256::from(U256::from(k as u64 + 1))
}

/// The inputs, and the number of signed transfers among them.
fn inputs(n: u64) -> (Vec<Placed>, u64) {
    let builder = InputBuilder::new(WalletConfig::devnet(), APP);
    let signers: Vec<Address> = (0..OPS_PER_BATCH)
        .map(|k| canonical::address_of(&key(k)).unwrap())
        .collect();
    // Which inputs are batches, and their batch numbers.
    let batch_of = |i: u64| {
        (i >= OPS_PER_BATCH as u64 && i % PER_BLOCK == PER_BLOCK - 1)
            .then(|| (i - OPS_PER_BATCH as u64) / PER_BLOCK)
    };
    // Signing is the slow part: split it over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let placed: Vec<Placed> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (builder, signers) = (&builder, &signers);
                scope.spawn(move || {
                    let lo = n * t / threads;
                    let hi = n * (t + 1) / threads;
                    (lo..hi)
                        .map(|i| {
                            let block = block_of(i);
                            let raw = match batch_of(i) {
                                Some(b) => {
                                    let ops: Vec<WireUserOp> = (0..OPS_PER_BATCH)
                                        .map(|k| {
                                            let method = Method::Transfer {
                                                amount: U256::from(1u64),
                                                to: signers[(k + 1) % OPS_PER_BATCH],
                                            };
                                            builder.sign(&key(k), b as u32, 1, &method).unwrap()
                                        })
                                        .collect();
                                    let batch = Batch {
                                        nonce: b,
                                        frames: vec![Frame {
                                            user_ops: ops,
                                            safe_block: block,
                                            fee_price: 0,
                                        }],
                                    };
                                    builder.batch(&batch, block, i)
                                }
                                None => builder.deposit(
                                    signers[(i % OPS_PER_BATCH as u64) as usize],
                                    U256::from(1_000_000_000u64),
                                    block,
                                    i,
                                ),
                            };
                            crate::placed(i, raw)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let transfers = (0..n).filter(|&i| batch_of(i).is_some()).count() as u64 * OPS_PER_BATCH as u64;
    (placed, transfers)
}

/// One child tick with `threads` recovery threads (0: every core); prints its line.
fn tick(
    mode: &str,
    threads: usize,
    chain: &Mutex<Chain>,
    l1_url: &str,
    served: (u64, u64, Vec<u8>),
    transfers: u64,
) -> f64 {
    let seq = FakeSequencer::start(Served::at(B0, 0, genesis_state()));
    let seq_url = seq.url();
    let tmp = crate::tempdir("watchdog-bench-catchup-");
    let state = tmp.path().join("state");
    crate::init(&state, l1_url, &seq_url);
    seq.set(|s| (s.block, s.count, s.state) = served);
    let before = chain.lock().unwrap().get_logs;
    let ChildTick { secs, hwm, .. } = tick_child(&state, l1_url, &seq_url, Some(threads));
    let requests = chain.lock().unwrap().get_logs - before;
    println!(
        "catchup {mode:<20} {} inputs ({transfers} transfers)  tick {secs:>7.2} s  {:>8.0} user-ops/s  peak RSS {hwm:>8} KiB  eth_getLogs {requests}",
        served.1,
        transfers as f64 / secs,
    );
    secs
}

/// Runs the catch-up of `n` inputs with and without parallel recovery.
pub(crate) fn run(n: u64) {
    let started = Instant::now();
    let (placed, transfers) = inputs(n);
    let last = placed.last().map_or(B0, |p| p.block);
    let mut engine = Engine::new(WalletConfig::devnet());
    for p in &placed {
        engine.advance(&p.raw).unwrap();
    }
    let snapshot = engine.snapshot();
    let batches = transfers / OPS_PER_BATCH as u64;
    assert_eq!(
        snapshot.executed_input_count,
        n - batches + transfers,
        "every deposit and transfer executes"
    );
    let state = snapshot.encode();
    println!(
        "catchup: {n} inputs built and folded once in the parent in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let chain = Arc::new(Mutex::new(Chain {
        head: last + 1,
        safe: last + 1,
        max_range: u64::MAX,
        max_results: Some(MAX_RESULTS),
        ..Chain::with_inputs(placed)
    }));
    let l1_url = format!("http://{}", serve_shared(Arc::clone(&chain)));
    let served = (last, n, state);
    let cores = canonical::recovery_threads();
    let parallel = tick(
        &format!("parallel ({cores} thr)"),
        0,
        &chain,
        &l1_url,
        served.clone(),
        transfers,
    );
    let sequential = tick("sequential (1 thr)", 1, &chain, &l1_url, served, transfers);
    println!(
        "catchup: parallel ÷ sequential wall time = {:.2} (speed-up {:.2}×)",
        parallel / sequential,
        sequential / parallel
    );
}

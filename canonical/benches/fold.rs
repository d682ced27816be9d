//! The fold over a batch of signed transfers, against the machine's physical limit.
//!
//! `cargo bench -p canonical` measures in one process: signature recovery alone on one thread
//! (libsecp256k1), the fold of one batch with recovery on every core, and the same fold with
//! recovery on the fold's thread only. Recovery is the irreducible cost of an op and runs on
//! every core, so the limit is `cores × recoveries/s`; the bench prints
//! `fold/limit ratio: X.XX`, the fold's user-ops/s divided by that limit. It also times the
//! same recoveries split over every core, which is what a loaded machine actually delivers,
//! and prints the fold against that too. Criterion reports each measurement; the printed
//! ratios come from interleaved rounds (one of each measurement per round, in an order that
//! turns each round; medians), so that load changes on a shared machine hit every measurement
//! alike. The rounds also print how many cores each measurement actually got (process CPU time
//! over wall time) and the CPU time per op of the fold and of recovery alone, which show what
//! the load took and what the fold costs beyond recovery.
//!
//! `CANONICAL_BENCH_ONLY=<measurement>` runs one measurement alone, untimed, for an instruction
//! counter (see `only` and `BENCHMARKS.md`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256, address, b256};
use canonical::{
    Batch, Engine, Frame, InputBuilder, Method, WalletConfig, address_of, recover_sender,
    recovery_threads, set_recovery_threads, signing_hash,
};
use criterion::{BatchSize, Criterion, Throughput};

const OPS: usize = 256;
/// Interleaved rounds behind the printed ratios.
const ROUNDS: usize = 61;
const APP: Address = address!("0xab7528bb862fB57E8A2BCd567a2e929a0Be56a5e");
const KEY: B256 = b256!("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");

struct Workload {
    engine: Engine,
    batch_input: Vec<u8>,
    signed: Vec<(B256, Vec<u8>)>,
}

fn workload() -> Workload {
    let config = WalletConfig::devnet();
    let builder = InputBuilder::new(config, APP);
    let alice = address_of(&KEY).expect("valid key");
    let mut engine = Engine::new(config);
    engine
        .advance(&builder.deposit(alice, U256::from(u64::MAX), 10, 0))
        .expect("deposit");
    let ops: Vec<_> = (0..OPS as u32)
        .map(|nonce| {
            let to = Address::with_last_byte(nonce as u8);
            let method = Method::Transfer {
                amount: U256::from(1),
                to,
            };
            builder.sign(&KEY, nonce, 1400, &method).expect("sign")
        })
        .collect();
    let signed = ops
        .iter()
        .map(|op| {
            (
                signing_hash(config.chain_id, APP, &op.user_op()),
                op.signature.to_vec(),
            )
        })
        .collect();
    let batch = Batch {
        nonce: 0,
        frames: vec![Frame {
            user_ops: ops,
            safe_block: 10,
            fee_price: 1356,
        }],
    };
    Workload {
        engine,
        batch_input: builder.batch(&batch, 11, 1),
        signed,
    }
}

#[allow(clippy::print_stdout)] // reason: a bench binary reports its figures on stdout.
fn main() {
    let work = workload();
    if let Ok(what) = std::env::var("CANONICAL_BENCH_ONLY") {
        only(&work, &what);
        return;
    }
    let threads = recovery_threads();
    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("canonical");
        group.throughput(Throughput::Elements(OPS as u64));
        for (id, threads) in [("fold", 0), ("fold-one-thread", 1)] {
            set_recovery_threads(threads);
            group.bench_function(id, |b| {
                b.iter_batched(
                    || work.engine.clone(),
                    |mut engine| {
                        let result = engine.advance(black_box(&work.batch_input)).expect("fold");
                        black_box(result);
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        set_recovery_threads(0);
        group.bench_function("recover", |b| {
            b.iter(|| {
                for (hash, signature) in &work.signed {
                    black_box(recover_sender(black_box(hash), black_box(signature)));
                }
            })
        });
        // The same recoveries split over every core: what the machine delivers right now.
        group.bench_function("recover-all-cores", |b| {
            b.iter(|| recover_on(&work.signed, threads))
        });
        group.finish();
    }
    criterion.final_summary();

    // The ratios come from interleaved rounds: each round times one of every measurement, so
    // a load spike on a shared machine hits all of them alike; medians of the rounds. The
    // order of the four turns by one each round, so none always follows the same other one.
    let threads = recovery_threads();
    let load_before = load_average();
    let mut samples: [Vec<Duration>; 4] = Default::default();
    let mut cores: [Vec<f64>; 4] = Default::default();
    let mut cpu_per_op: [Vec<f64>; 4] = Default::default();
    for round in 0..ROUNDS {
        for turn in 0..4 {
            let i = (round + turn) % 4;
            let mut engine = work.engine.clone();
            set_recovery_threads(if i == 1 { 1 } else { 0 });
            let cpu = process_cpu_time();
            let started = Instant::now();
            match i {
                0 | 1 => {
                    black_box(engine.advance(&work.batch_input).expect("fold"));
                }
                2 => recover_on(&work.signed, 1),
                _ => recover_on(&work.signed, threads),
            }
            let wall = started.elapsed();
            samples[i].push(wall);
            if let (Some(before), Some(after)) = (cpu, process_cpu_time()) {
                let cpu = after.saturating_sub(before).as_secs_f64();
                cores[i].push(cpu / wall.as_secs_f64());
                cpu_per_op[i].push(cpu / OPS as f64);
            }
        }
    }
    set_recovery_threads(0);
    let [fold, one_thread, recover, all_cores] = samples.map(|mut s| {
        s.sort();
        OPS as f64 / s[s.len() / 2].as_secs_f64()
    });
    let limit = threads as f64 * recover;
    println!(
        "medians of {ROUNDS} interleaved rounds: fold {fold:.0} user-ops/s on {threads} recovery threads; fold on one thread {one_thread:.0} user-ops/s; recovery alone {recover:.0}/s on one thread, {all_cores:.0}/s on {threads}"
    );
    if let [Some(fold), Some(one_thread), Some(recover), Some(all_cores)] =
        cores.each_ref().map(|c| median(c))
    {
        // CPU time of the process over wall time: how many cores a measurement actually got.
        // Below its thread count, the machine's other work (or a wait) took the difference.
        println!(
            "cores in use (process CPU time / wall time, medians): fold {fold:.2}, fold on one thread {one_thread:.2}, recovery on one thread {recover:.2}, on {threads} threads {all_cores:.2}"
        );
    }
    if let [Some(fold), Some(one_thread), Some(recover), Some(all_cores)] =
        cpu_per_op.each_ref().map(|c| median(c))
    {
        // What an op costs in CPU time, wherever it ran: the fold's work beyond recovery,
        // whatever share of the cores the load left to the bench. Two threads running at once
        // can each run slower than one alone (shared caches, a core shared with other work),
        // so the fold with the pool is also set against the recovery on as many threads.
        let us = 1e6;
        println!(
            "CPU time per op (medians): fold {:.1} us, fold on one thread {:.1} us, recovery on one thread {:.1} us, on {threads} threads {:.1} us",
            fold * us,
            one_thread * us,
            recover * us,
            all_cores * us,
        );
        println!(
            "fold/recovery CPU ratio: {:.3} (one thread each: {:.3}; fold with the pool ÷ recovery on {threads} threads: {:.3})",
            fold / recover,
            one_thread / recover,
            fold / all_cores,
        );
    }
    if let (Some(before), Some(after)) = (load_before, load_average()) {
        println!("load average (1 min) before and after the rounds: {before} {after}");
    }
    println!("one-thread fold/recover ratio: {:.2}", one_thread / recover);
    println!("fold/all-cores-recovery ratio: {:.2}", fold / all_cores);
    println!("fold/limit ratio: {:.2}", fold / limit);
}

/// The median of `values`, `None` if there are none.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

/// The 1-minute load average (Linux), as the bench's context.
fn load_average() -> Option<String> {
    let line = std::fs::read_to_string("/proc/loadavg").ok()?;
    line.split_whitespace().next().map(str::to_owned)
}

/// CPU time used so far by every thread of the process, finished ones included.
#[cfg(unix)]
fn process_cpu_time() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    (status == 0).then(|| Duration::new(secs, nanos))
}

#[cfg(not(unix))]
fn process_cpu_time() -> Option<Duration> {
    None
}

/// Runs one measurement a fixed number of times, without criterion and without timing: for an
/// instruction counter (`valgrind --tool=callgrind`), whose totals do not depend on the load of
/// the machine. `CANONICAL_BENCH_ONLY` names the measurement (`fold`, `fold-one-thread`,
/// `recover`, `recover-all-cores`, or `none` for the workload and the warm-up fold alone),
/// `CANONICAL_BENCH_ITERATIONS` the count (default 10). The difference between a count and
/// `none` is the measurement's own cost.
fn only(work: &Workload, what: &str) {
    let iterations: usize = std::env::var("CANONICAL_BENCH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    // A first fold outside the count spawns the pool's workers, as the timed runs find them.
    set_recovery_threads(0);
    black_box(
        work.engine
            .clone()
            .advance(&work.batch_input)
            .expect("fold"),
    );
    for _ in 0..iterations {
        match what {
            "fold" | "fold-one-thread" => {
                set_recovery_threads(if what == "fold" { 0 } else { 1 });
                let mut engine = work.engine.clone();
                black_box(engine.advance(black_box(&work.batch_input)).expect("fold"));
            }
            "recover" => recover_on(&work.signed, 1),
            "recover-all-cores" => recover_on(&work.signed, recovery_threads()),
            _ => {}
        }
    }
}

/// Recovers every signature, split over `threads` threads.
fn recover_on(signed: &[(B256, Vec<u8>)], threads: usize) {
    std::thread::scope(|scope| {
        for share in signed.chunks(signed.len().div_ceil(threads)) {
            scope.spawn(move || {
                for (hash, signature) in share {
                    black_box(recover_sender(black_box(hash), black_box(signature)));
                }
            });
        }
    });
}

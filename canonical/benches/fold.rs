//! The fold over a batch of signed transfers, against the machine's physical limit.
//!
//! `cargo bench -p canonical` measures in one process: signature recovery alone on one thread
//! (libsecp256k1), the fold of one batch with recovery on every core, and the same fold with
//! recovery on the fold's thread only. Recovery is the irreducible cost of an op and runs on
//! every core, so the limit is `cores × recoveries/s`; the bench prints
//! `fold/limit ratio: X.XX`, the fold's user-ops/s divided by that limit. It also times the
//! same recoveries split over every core, which is what a loaded machine actually delivers,
//! and prints the fold against that too.

use std::hint::black_box;
use std::path::Path;

use alloy_primitives::{Address, B256, U256, address, b256};
use canonical::{
    Batch, Engine, Frame, InputBuilder, Method, WalletConfig, address_of, recover_sender,
    recovery_threads, set_recovery_threads, signing_hash,
};
use criterion::{BatchSize, Criterion, Throughput};

const OPS: usize = 256;
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

fn mean_ns(criterion_dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(criterion_dir.join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

#[allow(clippy::print_stdout)] // reason: a bench binary reports its figures on stdout.
fn main() {
    let work = workload();
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
        let threads = recovery_threads();
        group.bench_function("recover-all-cores", |b| {
            b.iter(|| {
                std::thread::scope(|scope| {
                    for share in work.signed.chunks(OPS.div_ceil(threads)) {
                        scope.spawn(move || {
                            for (hash, signature) in share {
                                black_box(recover_sender(black_box(hash), black_box(signature)));
                            }
                        });
                    }
                });
            })
        });
        group.finish();
    }
    criterion.final_summary();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion/canonical");
    let means =
        ["fold", "fold-one-thread", "recover", "recover-all-cores"].map(|id| mean_ns(&dir, id));
    if let [Some(fold), Some(one_thread), Some(recover), Some(all_cores)] = means {
        let per_s = |ns: f64| OPS as f64 / (ns / 1e9);
        let cores = recovery_threads();
        let limit = cores as f64 * per_s(recover);
        println!(
            "fold: {:.0} user-ops/s on {cores} recovery threads; fold on one thread: {:.0} user-ops/s; recovery alone: {:.0} recoveries/s on one thread, {:.0} on {cores}",
            per_s(fold),
            per_s(one_thread),
            per_s(recover),
            per_s(all_cores),
        );
        println!(
            "one-thread fold/recover ratio: {:.2}",
            per_s(one_thread) / per_s(recover)
        );
        println!(
            "fold/all-cores-recovery ratio: {:.2}",
            per_s(fold) / per_s(all_cores)
        );
        println!("fold/limit ratio: {:.2}", per_s(fold) / limit);
    }
}

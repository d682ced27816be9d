//! Benchmarks of the machine layer (`cargo bench -p machine`):
//!
//! - native advance throughput over a realistic input mix (deposits and batches of signed
//!   transfers) on a wallet with 10,000 accounts;
//! - native store (durable publish, fsync included) and load of that 10,000-account state;
//! - the FFI path over the C stub: one raw `cm_read_reg` call through the function table, and a
//!   full accepted advance and a state inspect through the safe host loop.

use std::ffi::CString;
use std::hint::black_box;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, Bytes, U256};
use canonical::{
    Batch, Engine, Erc20Deposit, EvmAdvance, Frame, Method, UserOp, WalletConfig, WireUserOp,
    address_of, sign_user_op,
};
use cartesi_machine_stub::StubApi;
use cartesi_machine_sys::{Api, SHARING_NONE};
use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use machine::{
    CartesiBackend, LoadOptions, Machine, NativeBackend, NativeMachine, Outcome, RunControl,
    query_state,
};

const ACCOUNTS: usize = 10_000;
const SIGNERS: usize = 50;
const MIX_INPUTS: usize = 100;
const OPS_PER_BATCH: usize = 10;
const APP: Address = Address::repeat_byte(0xa9);

/// Builds EvmAdvance inputs with increasing blocks and indices.
struct Chain {
    config: WalletConfig,
    block: u64,
    index: u64,
    batch_nonce: u64,
}

impl Chain {
    fn input(&mut self, sender: Address, payload: Vec<u8>) -> Vec<u8> {
        self.block += 1;
        self.index += 1;
        EvmAdvance {
            chain_id: 31337,
            app_contract: APP,
            msg_sender: sender,
            block_number: self.block,
            block_timestamp: U256::from(self.block * 12),
            prev_randao: U256::ZERO,
            index: U256::from(self.index),
            payload: payload.into(),
        }
        .encode()
    }

    fn deposit(&mut self, to: Address, value: u64) -> Vec<u8> {
        let deposit = Erc20Deposit {
            token: self.config.supported_erc20_token,
            depositor: to,
            value: U256::from(value),
            exec_layer_data: Bytes::new(),
        };
        self.input(self.config.erc20_portal_address, deposit.encode())
    }

    fn batch(&mut self, user_ops: Vec<WireUserOp>) -> Vec<u8> {
        let batch = Batch {
            nonce: self.batch_nonce,
            frames: vec![Frame {
                user_ops,
                safe_block: self.block,
                fee_price: 0,
            }],
        };
        self.batch_nonce += 1;
        self.input(self.config.sequencer_address, batch.encode())
    }
}

fn account(i: usize) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    Address::from(bytes)
}

fn signer_key(i: usize) -> B256 {
    B256::from(U256::from(i as u64 + 1_000))
}

fn feed(engine: &mut Engine, input: &[u8]) {
    engine.advance(input).expect("setup input accepted");
}

/// A devnet wallet with [`ACCOUNTS`] funded accounts (the signers among them), plus the chain
/// position after it, and a mix of [`MIX_INPUTS`] inputs to run from there.
fn workload() -> (Engine, Vec<Vec<u8>>) {
    let config = WalletConfig::devnet();
    let mut chain = Chain {
        config,
        block: 10,
        index: 0,
        batch_nonce: 0,
    };
    let mut engine = Engine::new(config);
    let signers: Vec<(B256, Address)> = (0..SIGNERS)
        .map(|i| {
            (
                signer_key(i),
                address_of(&signer_key(i)).expect("valid key"),
            )
        })
        .collect();
    for (_, address) in &signers {
        let input = chain.deposit(*address, 1_000_000_000);
        feed(&mut engine, &input);
    }
    for i in 0..ACCOUNTS - SIGNERS {
        let input = chain.deposit(account(i), 1_000);
        feed(&mut engine, &input);
    }
    // A batch whose frame drains every queued deposit.
    let drain = chain.batch(Vec::new());
    feed(&mut engine, &drain);
    assert_eq!(engine.snapshot().balances.len(), ACCOUNTS);

    let mut nonces = [0u32; SIGNERS];
    let mut inputs = Vec::with_capacity(MIX_INPUTS);
    for n in 0..MIX_INPUTS {
        if n % 5 == 0 {
            inputs.push(chain.deposit(signers[n % SIGNERS].1, 10_000));
            continue;
        }
        let ops = (0..OPS_PER_BATCH)
            .map(|k| {
                let s = (n * OPS_PER_BATCH + k) % SIGNERS;
                let op = UserOp {
                    nonce: nonces[s],
                    max_fee: 0,
                    data: Method::Transfer {
                        amount: U256::from(7u64),
                        to: account((n * 31 + k * 97) % (ACCOUNTS - SIGNERS)),
                    }
                    .encode()
                    .into(),
                };
                nonces[s] += 1;
                let signature = sign_user_op(&signers[s].0, 31337, APP, &op).expect("signs");
                WireUserOp {
                    nonce: op.nonce,
                    max_fee: op.max_fee,
                    data: op.data,
                    signature: signature.to_vec().into(),
                }
            })
            .collect();
        inputs.push(chain.batch(ops));
    }
    // The mix is realistic only if every op executes.
    let mut check = NativeMachine::from_engine(engine.clone());
    let transfers: usize = inputs
        .iter()
        .map(|input| {
            let report = check
                .advance(input, &RunControl::default())
                .expect("advance");
            assert!(matches!(report.outcome, Outcome::Accepted { .. }));
            report.outputs.len()
        })
        .sum();
    assert!(transfers >= (MIX_INPUTS - MIX_INPUTS / 5) * OPS_PER_BATCH);
    (engine, inputs)
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("machine-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn native(c: &mut Criterion) {
    let (engine, inputs) = workload();
    let ctl = RunControl::default();
    let mut group = c.benchmark_group("native");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("advance_mix_10k_accounts", |b| {
        b.iter_batched(
            || NativeMachine::from_engine(engine.clone()),
            |mut m| {
                for input in &inputs {
                    black_box(m.advance(input, &ctl).expect("advance"));
                }
                m
            },
            BatchSize::LargeInput,
        );
    });
    group.throughput(Throughput::Elements(1));

    let dir = scratch();
    let mut m = NativeMachine::from_engine(engine);
    let mut n = 0u64;
    group.bench_function("store_10k_accounts", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let dest = dir.path().join(format!("store-{n}"));
                let start = Instant::now();
                black_box(m.store(&dest).expect("store"));
                total += start.elapsed();
                std::fs::remove_dir_all(&dest).expect("cleanup");
            }
            total
        });
    });
    let stored = dir.path().join("stored");
    m.store(&stored).expect("store");
    group.bench_function("load_10k_accounts", |b| {
        b.iter(|| black_box(NativeBackend.load_machine(&stored).expect("load")));
    });
    group.finish();
}

fn ffi(c: &mut Criterion) {
    let lib = cartesi_machine_sys::open(Some(cartesi_machine_stub::path(StubApi::V21))).unwrap();
    let dir = scratch();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let backend = CartesiBackend::new(lib, LoadOptions::new(&work));
    let template = dir.path().join("template");
    backend
        .create_template("{}", &template, &RunControl::default())
        .unwrap();

    let mut group = c.benchmark_group("ffi_stub_v21");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));

    let Api::V21(api) = *lib.api() else {
        unreachable!("the v21 stub")
    };
    let path = CString::new(template.as_os_str().as_bytes()).unwrap();
    let mut raw = std::ptr::null_mut();
    // SAFETY: valid strings and out-pointer; the handle is deleted below.
    let code = unsafe { (api.cm_load_new)(path.as_ptr(), c"{}".as_ptr(), SHARING_NONE, &mut raw) };
    assert_eq!(code, 0);
    let mcycle = lib.api().regs().mcycle;
    group.bench_function("cm_read_reg_raw_call", |b| {
        b.iter(|| {
            let mut value = 0u64;
            // SAFETY: live handle, valid out-parameter.
            let code = unsafe { (api.cm_read_reg)(raw, black_box(mcycle), &mut value) };
            black_box((code, value))
        });
    });
    // SAFETY: the handle came from cm_load_new and is deleted once.
    unsafe { (api.cm_delete)(raw) };

    let ctl = RunControl::default();
    let mut m = backend.load_machine(&template).unwrap();
    let input = EvmAdvance {
        chain_id: 31337,
        app_contract: APP,
        msg_sender: Address::ZERO,
        block_number: 1,
        block_timestamp: U256::ZERO,
        prev_randao: U256::ZERO,
        index: U256::ZERO,
        payload: Bytes::from_static(b"payload"),
    }
    .encode();
    group.bench_function("advance_accept_host_loop", |b| {
        b.iter(|| black_box(m.advance(&input, &ctl).expect("advance")));
    });
    group.bench_function("query_state_host_loop", |b| {
        b.iter(|| black_box(query_state(&mut m, b"state", &ctl).expect("inspect")));
    });
    group.finish();
}

mod group {
    #![allow(missing_docs)] // `criterion_group!` generates an undocumented public function
    use super::{ffi, native};
    criterion::criterion_group!(benches, native, ffi);
}
criterion_main!(group::benches);

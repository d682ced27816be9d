//! `cargo bench -p machine --bench replay`: the `machine` backend's replay throughput against
//! the floor, a raw loop over the same libcartesi through `cartesi-machine-sys`.
//!
//! Both sides start from the same template, one run each. The figure is accepted inputs per
//! second. The backend runs the whole stream with the reference host semantics
//! ([`Machine::advance`]: rejects are reverted). The raw loop cannot revert, so it is fed the
//! accepted inputs of the same stream only: it sends each and runs to the next manual yield,
//! nothing else (on 0.21 it also reads the root hash the library requires as the revert root
//! hash of every advance). The streams are accept-only, then 1 %, 10 % and 50 % rejects (evenly
//! spread). The two loops take turns on chunks of the stream, so both see the same background
//! load, until the stream ends or the backend has run for the time budget; each configuration
//! runs a few rounds, each from a fresh load, and reports the round with the median ratio. One
//! line per configuration, then `accept-only ratio: X.XX`, the lowest accept-only ratio of the
//! run.
//!
//! Libraries: both stub flavours by default; a real libcartesi when `LIBCARTESI_PATH` and
//! `LIBCARTESI_TEST_TEMPLATE` (a stored machine whose guest speaks the test language) are set.
//! `REPLAY_BENCH_INPUTS` sets the stream length (default 300,000 on the stub, 200 on a real
//! library), `REPLAY_BENCH_SECONDS` the time budget per round (default 2; 0 = the whole stream)
//! and `REPLAY_BENCH_ROUNDS` the rounds per configuration (default 3).

// A bench binary reports on stdout.
#![allow(clippy::print_stdout)]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use canonical::EvmAdvance;
use cartesi_machine_stub::StubApi;
use cartesi_machine_sys::{
    Api, BREAK_YIELDED_AUTOMATICALLY, BREAK_YIELDED_MANUALLY, CMIO_YIELD_REASON_ADVANCE_STATE,
    Library, SHARING_NONE, cm_machine,
};
use machine::{CartesiBackend, CartesiMachine, LoadOptions, Machine, Outcome, RunControl};

/// Reject rates, in percent.
const REJECT_RATES: [u32; 4] = [0, 1, 10, 50];

/// One library under test and its template.
struct Target {
    name: String,
    lib: &'static Library,
    template: PathBuf,
    inputs: usize,
    chunk: usize,
}

fn main() {
    let scratch = tempfile::Builder::new()
        .prefix("machine-replay-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("scratch directory");
    let budget = Duration::from_secs_f64(env_number("REPLAY_BENCH_SECONDS", 2.0));
    let rounds = env_number("REPLAY_BENCH_ROUNDS", 3usize).max(1);
    let mut accept_only = f64::INFINITY;
    for target in &targets(scratch.path()) {
        for rate in REJECT_RATES {
            let stream = stream(target.inputs, rate);
            let mut runs: Vec<Race> = (0..rounds)
                .map(|round| {
                    let work = scratch
                        .path()
                        .join(format!("work-{}-{rate}-{round}", target.name));
                    std::fs::create_dir_all(&work).expect("work dir");
                    let run = race(target, &stream, &work, budget);
                    let _ = std::fs::remove_dir_all(&work);
                    run
                })
                .collect();
            runs.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
            let run = &runs[runs.len() / 2];
            let ratio = run.ratio();
            if rate == 0 {
                accept_only = accept_only.min(ratio);
            }
            let stats = run.stats;
            println!(
                "{} rejects {rate:>2} %: raw {:.0} accepted/s, machine {:.0} accepted/s, \
                 ratio {ratio:.2} (median of {rounds}; {} inputs: {} accepted, {} rejected; \
                 {} stores, {} loads, {} replayed)",
                target.name,
                run.raw.per_second(),
                run.machine.per_second(),
                stats.inputs,
                stats.accepted,
                stats.rejected,
                stats.stores,
                stats.loads,
                stats.replayed,
            );
        }
    }
    println!("accept-only ratio: {accept_only:.2}");
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The libraries of this run.
fn targets(scratch: &Path) -> Vec<Target> {
    if let (Some(path), Some(template)) = (
        std::env::var_os("LIBCARTESI_PATH"),
        std::env::var_os("LIBCARTESI_TEST_TEMPLATE"),
    ) {
        let lib = cartesi_machine_sys::open(Some(Path::new(&path))).expect("libcartesi loads");
        return vec![Target {
            name: format!("libcartesi-{}", lib.info().version_string()),
            lib,
            template: template.into(),
            inputs: env_number("REPLAY_BENCH_INPUTS", 200),
            chunk: 10,
        }];
    }
    [StubApi::V19, StubApi::V21]
        .into_iter()
        .map(|api| {
            let lib = cartesi_machine_sys::open(Some(cartesi_machine_stub::path(api)))
                .expect("the stub loads");
            let dir = scratch.join(format!("{api:?}"));
            std::fs::create_dir_all(dir.join("work")).expect("work dir");
            let template = dir.join("template");
            CartesiBackend::new(lib, LoadOptions::new(dir.join("work")))
                .create_template("{}", &template, &RunControl::default())
                .expect("template");
            Target {
                name: format!("stub-{}", lib.info().api),
                lib,
                template,
                inputs: env_number("REPLAY_BENCH_INPUTS", 300_000),
                chunk: 100,
            }
        })
        .collect()
}

/// One input of a stream.
struct Input {
    bytes: Vec<u8>,
    reject: bool,
}

/// `count` full `EvmAdvance` inputs, `rate` percent of them `reject`, evenly spread; the others
/// carry payloads that start with no command word, so the test guest accepts them.
fn stream(count: usize, rate: u32) -> Vec<Input> {
    (0..count)
        .map(|i| {
            let reject = rate > 0 && (i as u64 * u64::from(rate)) % 100 + u64::from(rate) >= 100;
            let payload = if reject {
                b"reject".to_vec()
            } else {
                format!("input-{i:08}").into_bytes()
            };
            let bytes = EvmAdvance {
                chain_id: 31337,
                app_contract: Address::repeat_byte(0xa9),
                msg_sender: Address::repeat_byte(0x5e),
                block_number: 100 + i as u64,
                block_timestamp: U256::from(1_700_000_000u64 + i as u64),
                prev_randao: U256::ZERO,
                index: U256::from(i),
                payload: payload.into(),
            }
            .encode();
            Input { bytes, reject }
        })
        .collect()
}

/// Accepted inputs and the time they took.
#[derive(Default)]
struct Measured {
    accepted: usize,
    elapsed: Duration,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

/// Both loops over the same prefix of `stream`.
struct Race {
    raw: Measured,
    machine: Measured,
    stats: machine::MachineStats,
}

impl Race {
    /// The backend's accepted inputs per second over the raw loop's.
    fn ratio(&self) -> f64 {
        self.machine.per_second() / self.raw.per_second()
    }
}

/// Runs the raw loop and the backend in turns, one chunk of `stream` each, until the stream
/// ends or the backend has run for `budget` (zero: no budget).
fn race(target: &Target, stream: &[Input], work: &Path, budget: Duration) -> Race {
    let raw = Raw::load(target.lib, &target.template);
    let backend = CartesiBackend::new(target.lib, LoadOptions::new(work));
    let mut m = backend
        .load_machine(&target.template)
        .expect("template loads");
    let ctl = RunControl {
        deadline: Some(Instant::now() + Duration::from_secs(24 * 3600)),
        ..RunControl::default()
    };
    let mut race = Race {
        raw: Measured::default(),
        machine: Measured::default(),
        stats: Default::default(),
    };
    for chunk in stream.chunks(target.chunk) {
        race.raw.elapsed += raw_chunk(&raw, chunk, &mut race.raw.accepted);
        race.machine.elapsed += machine_chunk(&mut m, chunk, &ctl, &mut race.machine.accepted);
        if !budget.is_zero() && race.machine.elapsed >= budget {
            break;
        }
    }
    race.stats = m.stats();
    race
}

/// The floor: the accepted inputs only; send, run to the manual yield, nothing else.
fn raw_chunk(raw: &Raw, chunk: &[Input], accepted: &mut usize) -> Duration {
    let started = Instant::now();
    for input in chunk.iter().filter(|input| !input.reject) {
        raw.advance(&input.bytes);
        *accepted += 1;
    }
    started.elapsed()
}

/// The `machine` backend with the reference host semantics.
fn machine_chunk(
    m: &mut CartesiMachine,
    chunk: &[Input],
    ctl: &RunControl,
    accepted: &mut usize,
) -> Duration {
    let started = Instant::now();
    for input in chunk {
        let report = m.advance(&input.bytes, ctl).expect("advance");
        match report.outcome {
            Outcome::Accepted { .. } => *accepted += 1,
            Outcome::Rejected => {}
            other => panic!("the test guest ended an input with {other}"),
        }
    }
    started.elapsed()
}

/// A raw handle, called through the function tables only.
struct Raw {
    lib: &'static Library,
    m: *mut cm_machine,
}

fn check(what: &str, code: i32) {
    assert_eq!(code, 0, "{what} failed with {code}");
}

impl Raw {
    fn load(lib: &'static Library, dir: &Path) -> Raw {
        let dir = CString::new(dir.as_os_str().as_bytes()).expect("no NUL in the path");
        let mut m = ptr::null_mut();
        let runtime = c"{}";
        // SAFETY: valid strings and out-pointer; the handle is deleted in `Drop`.
        let code = unsafe {
            match lib.api() {
                Api::V19(api) => (api.cm_load_new)(dir.as_ptr(), runtime.as_ptr(), &mut m),
                Api::V21(api) => {
                    (api.cm_load_new)(dir.as_ptr(), runtime.as_ptr(), SHARING_NONE, &mut m)
                }
            }
        };
        check("cm_load_new", code);
        Raw { lib, m }
    }

    /// Sends one advance and runs to the next manual yield.
    fn advance(&self, input: &[u8]) {
        let reason = CMIO_YIELD_REASON_ADVANCE_STATE;
        let len = input.len() as u64;
        // SAFETY: live handle of this library; `input` and `root` are valid for the calls.
        unsafe {
            match self.lib.api() {
                Api::V19(api) => check(
                    "cm_send_cmio_response",
                    (api.cm_send_cmio_response)(self.m, reason, input.as_ptr(), len),
                ),
                Api::V21(api) => {
                    let mut root = [0u8; 32];
                    check(
                        "cm_get_root_hash",
                        (api.cm_get_root_hash)(self.m, &mut root),
                    );
                    check(
                        "cm_send_cmio_response",
                        (api.cm_send_cmio_response)(self.m, reason, input.as_ptr(), len, &root),
                    );
                }
            }
        }
        loop {
            let mut reason = 0u32;
            // SAFETY: live handle; `reason` is a valid out-parameter.
            let code = unsafe {
                match self.lib.api() {
                    Api::V19(api) => (api.cm_run)(self.m, u64::MAX, &mut reason),
                    Api::V21(api) => (api.cm_run)(self.m, u64::MAX, &mut reason),
                }
            };
            check("cm_run", code);
            match reason {
                BREAK_YIELDED_MANUALLY => return,
                BREAK_YIELDED_AUTOMATICALLY => {}
                other => panic!("the raw loop stopped with break reason {other}"),
            }
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: the handle came from `cm_load_new` of this library and is deleted once.
        unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_delete)(self.m),
                Api::V21(api) => (api.cm_delete)(self.m),
            }
        }
    }
}

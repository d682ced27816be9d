//! Crash injection at every durability step of `store`, process-global failure injection into
//! the stub, and a panic injected into the native engine's signature recovery (all
//! process-wide, so this binary runs its tests one at a time).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use canonical::{Erc20Deposit, EvmAdvance, WalletConfig};
use cartesi_machine_stub::StubApi;
use machine::{
    CartesiBackend, Class, Error, LoadOptions, Machine, MachineBackend, NativeBackend, RunControl,
};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const STEPS: [&str; 3] = [
    "machine.publish.after_store",
    "machine.publish.after_sync",
    "machine.publish.after_rename",
];

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("machine-crash-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn input(payload: &[u8]) -> Vec<u8> {
    EvmAdvance {
        chain_id: 31337,
        app_contract: Default::default(),
        msg_sender: WalletConfig::devnet().erc20_portal_address,
        block_number: 1,
        block_timestamp: Default::default(),
        prev_randao: Default::default(),
        index: Default::default(),
        payload: payload.to_vec().into(),
    }
    .encode()
}

fn stub(api: StubApi, dir: &Path) -> (CartesiBackend, std::path::PathBuf) {
    let lib = cartesi_machine_sys::open(Some(cartesi_machine_stub::path(api))).unwrap();
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let backend = CartesiBackend::new(lib, LoadOptions::new(work));
    let template = dir.join("template");
    backend
        .create_template("{}", &template, &RunControl::default())
        .unwrap();
    (backend, template)
}

/// A machine loaded from a stub template in `dir` and fed `payloads`, and its backend.
fn fed(api: StubApi, dir: &Path, payloads: &[&[u8]]) -> (CartesiBackend, machine::CartesiMachine) {
    let (backend, template) = stub(api, dir);
    let mut m = backend.load_machine(&template).unwrap();
    for payload in payloads {
        m.advance(&input(payload), &RunControl::default()).unwrap();
    }
    (backend, m)
}

/// Stores into `dest` with a crash at `step`; `dest` must be absent or complete afterwards.
fn crash_at(step: &str, m: &mut dyn Machine, backend: &dyn MachineBackend, dest: &Path) {
    let root = m.root_hash().unwrap();
    fail::cfg(step, "panic").unwrap();
    let crashed = catch_unwind(AssertUnwindSafe(|| m.store(dest)));
    fail::remove(step);
    assert!(
        crashed.is_err(),
        "{step}: the store must have been interrupted"
    );
    if dest.exists() {
        assert_eq!(
            step, "machine.publish.after_rename",
            "dest visible before the rename"
        );
        let mut loaded = backend
            .load(dest)
            .expect("a published directory is complete");
        assert_eq!(loaded.root_hash().unwrap(), root);
    } else {
        assert!(backend.load(dest).is_err());
        let parent = dest.parent().unwrap();
        let leftovers = std::fs::read_dir(parent)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count();
        assert_eq!(
            leftovers, 1,
            "{step}: the temporary directory is left for the caller"
        );
    }
    // The machine is unharmed and a later store succeeds.
    let again = dest.with_extension("again");
    assert_eq!(m.store(&again).unwrap(), root);
}

#[test]
fn native_store_is_crash_safe_at_every_step() {
    let _one = serial();
    let dir = scratch();
    let mut m = NativeBackend::genesis("devnet").unwrap();
    let deposit = Erc20Deposit {
        token: WalletConfig::devnet().supported_erc20_token,
        depositor: Default::default(),
        value: alloy_primitives::U256::from(5u64),
        exec_layer_data: Default::default(),
    };
    m.advance(&input(&deposit.encode()), &RunControl::default())
        .unwrap();
    for (i, step) in STEPS.iter().enumerate() {
        let sub = dir.path().join(format!("step-{i}"));
        std::fs::create_dir(&sub).unwrap();
        crash_at(step, &mut m, &NativeBackend, &sub.join("ckpt"));
    }
}

#[test]
fn cartesi_store_is_crash_safe_at_every_step() {
    let _one = serial();
    for api in [StubApi::V19, StubApi::V21] {
        let dir = scratch();
        let (backend, mut m) = fed(api, dir.path(), &[b"hello"]);
        for (i, step) in STEPS.iter().enumerate() {
            let sub = dir.path().join(format!("step-{i}"));
            std::fs::create_dir(&sub).unwrap();
            crash_at(step, &mut m, &backend, &sub.join("machine"));
        }
    }
}

fn inject_global(api: StubApi, function: &str, code: i32) {
    let lib = cartesi_machine_sys::open(Some(cartesi_machine_stub::path(api))).unwrap();
    let hooks = lib.stub_hooks().unwrap();
    let function = std::ffi::CString::new(function).unwrap();
    // SAFETY: valid C strings for the call; a NULL machine targets calls without a handle.
    unsafe {
        (hooks.inject)(
            std::ptr::null(),
            function.as_ptr(),
            code,
            c"global".as_ptr(),
            0,
        )
    }
}

fn inject_live(api: StubApi, serial: u64, function: &str, code: i32) {
    let lib = cartesi_machine_sys::open(Some(cartesi_machine_stub::path(api))).unwrap();
    let hooks = lib.stub_hooks().unwrap();
    let function = std::ffi::CString::new(function).unwrap();
    // SAFETY: valid C strings for the call.
    unsafe { (hooks.inject_serial)(serial, function.as_ptr(), code, c"live".as_ptr(), 0) }
}

#[test]
fn a_failed_load_is_an_operator_cm_error() {
    let _one = serial();
    let dir = scratch();
    let (backend, template) = stub(StubApi::V21, dir.path());
    inject_global(StubApi::V21, "cm_load_new", -6);
    let err = backend.load_machine(&template).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Cm {
                op: "cm_load_new",
                code: -6,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Operator);
    assert!(backend.load_machine(&template).is_ok());
}

#[test]
fn a_failed_revert_poisons_the_instance() {
    let _one = serial();
    let dir = scratch();
    let (backend, template) = stub(StubApi::V19, dir.path());
    let mut m = backend.load_machine(&template).unwrap();
    m.advance(&input(b"one"), &RunControl::default()).unwrap();
    // The run fails, and so does reloading the pre-input state.
    inject_live(StubApi::V19, m.debug_serial().unwrap(), "cm_run", -5);
    inject_global(StubApi::V19, "cm_load_new", -11);
    let err = m
        .advance(&input(b"two"), &RunControl::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Cm {
                op: "cm_run",
                code: -5,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(m.is_poisoned());
    assert!(matches!(
        m.advance(&input(b"three"), &RunControl::default()),
        Err(Error::Poisoned)
    ));
    assert!(matches!(m.root_hash(), Err(Error::Poisoned)));
    assert!(matches!(
        m.store(&dir.path().join("never")),
        Err(Error::Poisoned)
    ));
    assert!(!dir.path().join("never").exists());
}

fn hooks(api: StubApi) -> &'static cartesi_machine_sys::StubHooks {
    cartesi_machine_sys::open(Some(cartesi_machine_stub::path(api)))
        .unwrap()
        .stub_hooks()
        .unwrap()
}

/// Fails the `after`-th next call of `function` on the next handle the stub creates.
fn inject_next(api: StubApi, function: &str, code: i32, after: u32) {
    let function = std::ffi::CString::new(function).unwrap();
    // SAFETY: valid C strings for the call; the stub copies them.
    unsafe { (hooks(api).inject_next)(function.as_ptr(), code, c"next".as_ptr(), after) }
}

/// Every C call a revert makes can fail: the advance then fails with that call's error, the
/// instance is poisoned (nothing of it is usable, nothing is stored) and its scratch space goes
/// away with it. A failed store of the new base after a good replay only costs the refresh.
#[test]
fn every_call_of_a_revert_can_fail_cleanly() {
    let _one = serial();
    // (function, calls of it on the reloaded handle to let through): the base's root check,
    // then the first re-run input's send, runs, receives and cycle reads, then the store.
    let calls: [(&str, u32); 6] = [
        ("cm_get_root_hash", 0),
        ("cm_send_cmio_response", 0),
        ("cm_run", 1),
        ("cm_receive_cmio_request", 1),
        ("cm_read_reg", 1),
        ("cm_store", 0),
    ];
    for api in [StubApi::V19, StubApi::V21] {
        for (function, after) in calls {
            let dir = scratch();
            let (_, mut m) = fed(api, dir.path(), &[b"one", b"two"]);
            let root = m.root_hash().unwrap();
            inject_next(api, function, -6, after);
            let result = m.advance(&input(b"reject"), &RunControl::default());
            if function == "cm_store" {
                // The state is back; only the new base is missing, and the journal stands in.
                assert_eq!(result.unwrap().outcome, machine::Outcome::Rejected);
                assert_eq!(m.root_hash().unwrap(), root);
                assert_eq!(m.stats().stores, 0, "{api:?}");
                continue;
            }
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::Cm { op, code: -6, .. } if *op == function),
                "{api:?} {function}: {err:?}"
            );
            assert!(m.is_poisoned(), "{api:?} {function}");
            assert!(matches!(m.root_hash(), Err(Error::Poisoned)));
            assert!(matches!(
                m.store(&dir.path().join("never")),
                Err(Error::Poisoned)
            ));
            assert!(!dir.path().join("never").exists());
            drop(m);
            let work = std::fs::read_dir(dir.path().join("work")).unwrap().count();
            assert_eq!(work, 0, "{api:?} {function}: scratch left behind");
        }
    }
}

#[test]
fn a_failed_reload_of_the_base_poisons_the_instance() {
    let _one = serial();
    for api in [StubApi::V19, StubApi::V21] {
        let dir = scratch();
        let (_, mut m) = fed(api, dir.path(), &[b"one"]);
        inject_global(api, "cm_load_new", -6);
        let err = m
            .advance(&input(b"reject"), &RunControl::default())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Cm {
                    op: "cm_load_new",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(m.is_poisoned());
    }
}

/// A library that does not give back what it stored: the replay starts from another state, the
/// revert says so (`RevertMismatch`, naming both roots) and the instance is poisoned.
#[test]
fn a_replay_that_arrives_elsewhere_is_a_revert_mismatch() {
    let _one = serial();
    for api in [StubApi::V19, StubApi::V21] {
        let dir = scratch();
        let (_, mut m) = fed(api, dir.path(), &[b"one"]);
        // SAFETY: a stub hook with an integer argument.
        unsafe { (hooks(api).perturb_load)(0) };
        let err = m
            .advance(&input(b"reject"), &RunControl::default())
            .unwrap_err();
        assert!(
            matches!(err, Error::RevertMismatch { expected, got } if expected != got),
            "{api:?}: {err:?}"
        );
        assert_eq!(err.class(), Class::Internal);
        assert!(m.is_poisoned());
    }
}

/// A deposit for Alice at block 1, then at block 2 a batch of `ops` signed transfers from her.
fn signed_batch_inputs(ops: u32) -> [Vec<u8>; 2] {
    use alloy_primitives::{B256, U256};
    use canonical::{Batch, Frame, InputBuilder, Method};
    let app = alloy_primitives::Address::repeat_byte(0xaa);
    let builder = InputBuilder::new(WalletConfig::devnet(), app);
    let alice = B256::repeat_byte(0x11);
    let deposit = builder.deposit(
        canonical::address_of(&alice).unwrap(),
        U256::from(1_000_000u64),
        1,
        0,
    );
    let method = Method::Transfer {
        amount: U256::from(1u64),
        to: alloy_primitives::Address::repeat_byte(0xb0),
    };
    let user_ops = (0..ops)
        .map(|nonce| builder.sign(&alice, nonce, 1, &method).unwrap())
        .collect();
    let batch = Batch {
        nonce: 0,
        frames: vec![Frame {
            user_ops,
            safe_block: 1,
            fee_price: 1,
        }],
    };
    [deposit, builder.batch(&batch, 2, 1)]
}

#[test]
fn a_recovery_panic_is_an_internal_error_that_poisons_and_decides_nothing() {
    let _one = serial();
    let dir = scratch();
    let [deposit, batch] = signed_batch_inputs(24);
    let mut m = NativeBackend::genesis("devnet").unwrap();
    m.advance(&deposit, &RunControl::default()).unwrap();
    let base = dir.path().join("base");
    let root = m.store(&base).unwrap();

    // Every recovery after the third panics, so the fold meets one whichever thread runs it.
    fail::cfg("canonical.recover", "3*off->panic").unwrap();
    let err = m.advance(&batch, &RunControl::default()).unwrap_err();
    fail::remove("canonical.recover");
    assert!(matches!(&err, Error::WorkerPanic(_)), "{err:?}");
    assert_eq!(err.class(), Class::Internal);
    assert!(err.to_string().contains("canonical.recover"), "{err}");
    // Neither a halt nor a verdict: the instance refuses further use, the checkpoint is intact.
    assert_eq!(m.status(), &machine::Status::Ready);
    assert!(matches!(m.root_hash(), Err(Error::Poisoned)));
    assert!(matches!(
        m.advance(&batch, &RunControl::default()),
        Err(Error::Poisoned)
    ));
    let mut reloaded = NativeBackend.load(&base).unwrap();
    assert_eq!(reloaded.root_hash().unwrap(), root);
    // Without the injection the same batch is simply accepted.
    let report = reloaded.advance(&batch, &RunControl::default()).unwrap();
    assert!(
        matches!(report.outcome, machine::Outcome::Accepted { .. }),
        "{report:?}"
    );
}

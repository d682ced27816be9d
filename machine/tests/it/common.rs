//! Shared helpers: inputs, scratch directories, stub libraries.

use std::path::Path;

use alloy_primitives::{Address, Bytes, U256, address};
use canonical::EvmAdvance;
use cartesi_machine_stub::StubApi;
use cartesi_machine_sys::Library;
use machine::{CartesiBackend, LoadOptions, RunControl};

/// The application address used in test inputs.
pub(crate) const APP: Address = address!("0x00000000000000000000000000000000000a99a0");
/// A plain sender.
pub(crate) const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");

/// Full `EvmAdvance` calldata carrying `payload`.
pub(crate) fn advance(sender: Address, index: u64, payload: &[u8]) -> Vec<u8> {
    EvmAdvance {
        chain_id: 31337,
        app_contract: APP,
        msg_sender: sender,
        block_number: 100 + index,
        block_timestamp: U256::from(1_700_000_000u64 + index),
        prev_randao: U256::from(index),
        index: U256::from(index),
        payload: Bytes::copy_from_slice(payload),
    }
    .encode()
}

/// An advance from [`ALICE`] with index 0.
pub(crate) fn input(payload: &[u8]) -> Vec<u8> {
    advance(ALICE, 0, payload)
}

/// A scratch directory under the target's test temp dir, removed on drop.
pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("machine-it-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("scratch directory")
}

/// The default run control.
pub(crate) fn ctl() -> RunControl {
    RunControl::default()
}

/// The stub library of `api`.
pub(crate) fn stub_lib(api: StubApi) -> &'static Library {
    cartesi_machine_sys::open(Some(cartesi_machine_stub::path(api))).expect("stub loads")
}

/// Successful `cm_store` and `cm_load_new` calls this thread made into the stub of `api`.
pub(crate) fn stub_io(api: StubApi) -> (u64, u64) {
    let hooks = stub_lib(api).stub_hooks().expect("stub hooks");
    // SAFETY: stub hooks without arguments, reading this thread's counters.
    unsafe { ((hooks.store_count)(), (hooks.load_count)()) }
}

/// A stub backend whose scratch area is `work`.
pub(crate) fn stub_backend(api: StubApi, work: &Path) -> CartesiBackend {
    CartesiBackend::new(stub_lib(api), LoadOptions::new(work))
}

/// The config of stub templates: one labeled window on the guest state (used on 0.21).
pub(crate) const STUB_CONFIG: &str =
    r#"{"nvram":[{"label":"state","start":1099511627776,"length":65536}]}"#;

/// Creates a stub template in `dir/template` and returns its path.
pub(crate) fn stub_template(api: StubApi, dir: &Path) -> std::path::PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let dest = dir.join("template");
    stub_backend(api, &work)
        .create_template(STUB_CONFIG, &dest, &ctl())
        .expect("template");
    dest
}

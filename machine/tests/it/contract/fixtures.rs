//! The backends the contract suite runs against.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy_primitives::{Address, U256};
use canonical::{Erc20Deposit, UNSUPPORTED_INSPECT_REPORT, WalletConfig};
use cartesi_machine_stub::StubApi;
use machine::{
    CartesiBackend, LoadOptions, Machine, MachineBackend, NATIVE_FATAL_EXIT_CODE, NativeBackend,
    ScriptedBackend,
};
use tempfile::TempDir;

use super::{Capability, ContractFixture, InputKind};
use crate::common::{advance, input, scratch, stub_backend, stub_template};

/// Environment variable pointing the suite at a real libcartesi.
pub(crate) const REAL_LIBRARY_ENV: &str = "LIBCARTESI_PATH";
/// Environment variable naming a stored template for the real library.
pub(crate) const REAL_TEMPLATE_ENV: &str = "LIBCARTESI_TEST_TEMPLATE";

/// Inputs of the scripted guest language (the stub, or a real guest speaking it).
fn scripted(kind: InputKind, spin: bool) -> Option<Vec<u8>> {
    let payload: Vec<u8> = match kind {
        InputKind::Accept(v) => format!("accept-{v}").into_bytes(),
        InputKind::Reject => b"reject".to_vec(),
        InputKind::Report => b"report-hello".to_vec(),
        InputKind::Exception => b"exception".to_vec(),
        InputKind::Halt => b"halt".to_vec(),
        InputKind::Spin if spin => b"spin".to_vec(),
        InputKind::Spin => return None,
    };
    Some(input(&payload))
}

struct Stub {
    name: String,
    dir: TempDir,
    template: PathBuf,
    backend: Arc<CartesiBackend>,
    api: StubApi,
}

/// The C stub of `api` through the real FFI path.
pub(crate) fn stub(api: StubApi) -> Option<Box<dyn ContractFixture>> {
    let dir = scratch();
    let template = stub_template(api, dir.path());
    let backend = Arc::new(stub_backend(api, &dir.path().join("work")));
    Some(Box::new(Stub {
        name: format!("stub-{api:?}"),
        dir,
        template,
        backend,
        api,
    }))
}

impl ContractFixture for Stub {
    fn name(&self) -> &str {
        &self.name
    }
    fn backend(&self) -> Arc<dyn MachineBackend> {
        self.backend.clone()
    }
    fn template(&self) -> &Path {
        &self.template
    }
    fn scratch(&self) -> &Path {
        self.dir.path()
    }
    fn input(&self, kind: InputKind) -> Option<Vec<u8>> {
        scripted(kind, true)
    }
    fn state_query(&self) -> &[u8] {
        b"state"
    }
    fn unknown_query_report(&self) -> Vec<u8> {
        b"unsupported".to_vec()
    }
    fn halt_code(&self) -> u32 {
        7
    }
    fn has(&self, cap: Capability) -> bool {
        match cap {
            Capability::CycleBudget | Capability::StubWords => true,
            Capability::LabeledRange => self.api == StubApi::V21,
        }
    }
}

struct Scripted {
    dir: TempDir,
    template: PathBuf,
}

/// The pure-Rust fake backend (feature `test-utils`).
pub(crate) fn scripted_fake() -> Option<Box<dyn ContractFixture>> {
    let dir = scratch();
    let template = dir.path().join("template");
    ScriptedBackend::template(&template).expect("template");
    Some(Box::new(Scripted { dir, template }))
}

impl ContractFixture for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn backend(&self) -> Arc<dyn MachineBackend> {
        Arc::new(ScriptedBackend)
    }
    fn template(&self) -> &Path {
        &self.template
    }
    fn scratch(&self) -> &Path {
        self.dir.path()
    }
    fn input(&self, kind: InputKind) -> Option<Vec<u8>> {
        scripted(kind, true)
    }
    fn state_query(&self) -> &[u8] {
        b"state"
    }
    fn unknown_query_report(&self) -> Vec<u8> {
        b"unsupported".to_vec()
    }
    fn halt_code(&self) -> u32 {
        7
    }
    fn has(&self, cap: Capability) -> bool {
        matches!(cap, Capability::CycleBudget | Capability::StubWords)
    }
}

struct Native {
    dir: TempDir,
    template: PathBuf,
}

/// The native canonical engine, from a stored devnet genesis.
pub(crate) fn native() -> Option<Box<dyn ContractFixture>> {
    let dir = scratch();
    let template = dir.path().join("genesis");
    let mut genesis = NativeBackend::genesis("devnet").expect("genesis");
    genesis.store(&template).expect("store genesis");
    Some(Box::new(Native { dir, template }))
}

impl ContractFixture for Native {
    fn name(&self) -> &str {
        "native"
    }
    fn backend(&self) -> Arc<dyn MachineBackend> {
        Arc::new(NativeBackend)
    }
    fn template(&self) -> &Path {
        &self.template
    }
    fn scratch(&self) -> &Path {
        self.dir.path()
    }
    fn input(&self, kind: InputKind) -> Option<Vec<u8>> {
        let config = WalletConfig::devnet();
        match kind {
            InputKind::Accept(v) => {
                let deposit = Erc20Deposit {
                    token: config.supported_erc20_token,
                    depositor: Address::with_last_byte(v.wrapping_add(1)),
                    value: U256::from(1_000 + u64::from(v)),
                    exec_layer_data: Default::default(),
                };
                Some(advance(config.erc20_portal_address, 0, &deposit.encode()))
            }
            // The sequencer sending bytes that are no batch: dropped with one report.
            InputKind::Report => Some(advance(config.sequencer_address, 0, b"not a batch")),
            // Calldata that is no EvmAdvance: the guest would panic.
            InputKind::Halt => Some(b"not an EvmAdvance".to_vec()),
            InputKind::Reject | InputKind::Exception | InputKind::Spin => None,
        }
    }
    fn state_query(&self) -> &[u8] {
        b"state"
    }
    fn unknown_query_report(&self) -> Vec<u8> {
        UNSUPPORTED_INSPECT_REPORT.to_vec()
    }
    fn halt_code(&self) -> u32 {
        NATIVE_FATAL_EXIT_CODE
    }
    fn accept_visible_in_state(&self) -> bool {
        false // a deposit waits in the scheduler queue until a batch or the backstop runs it
    }
    fn has(&self, _: Capability) -> bool {
        false
    }
}

struct Real {
    dir: TempDir,
    template: PathBuf,
    backend: Arc<CartesiBackend>,
}

/// A real libcartesi, when `LIBCARTESI_PATH` and `LIBCARTESI_TEST_TEMPLATE` are set.
pub(crate) fn real() -> Option<Box<dyn ContractFixture>> {
    let Some(lib) = std::env::var_os(REAL_LIBRARY_ENV) else {
        eprintln!("skipped (real libcartesi): {REAL_LIBRARY_ENV} is not set");
        return None;
    };
    let Some(template) = std::env::var_os(REAL_TEMPLATE_ENV) else {
        eprintln!("skipped (real libcartesi): {REAL_TEMPLATE_ENV} is not set");
        return None;
    };
    let dir = scratch();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let backend = CartesiBackend::open(Some(Path::new(&lib)), LoadOptions::new(work))
        .expect("the real libcartesi loads");
    Some(Box::new(Real {
        dir,
        template: template.into(),
        backend: Arc::new(backend),
    }))
}

impl ContractFixture for Real {
    fn name(&self) -> &str {
        "real"
    }
    fn backend(&self) -> Arc<dyn MachineBackend> {
        self.backend.clone()
    }
    fn template(&self) -> &Path {
        &self.template
    }
    fn scratch(&self) -> &Path {
        self.dir.path()
    }
    fn input(&self, kind: InputKind) -> Option<Vec<u8>> {
        scripted(kind, false)
    }
    fn state_query(&self) -> &[u8] {
        b"state"
    }
    fn unknown_query_report(&self) -> Vec<u8> {
        b"unsupported".to_vec()
    }
    fn halt_code(&self) -> u32 {
        7
    }
    fn has(&self, cap: Capability) -> bool {
        cap == Capability::CycleBudget
    }
}

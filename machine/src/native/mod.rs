//! The native backend: the host-native canonical engine behind the same machine trait.
//!
//! The root hash is the SHA-256 of the serialised [`EngineState`] (the `sha256` of the
//! checkpoint manifest). The engine never rejects an input: every advance is accepted, or the
//! guest would panic ([`canonical::Fatal`]), which is a halt with exit code
//! [`NATIVE_FATAL_EXIT_CODE`]. A Rust panic that unwinds out of the engine is none of the
//! guest's panics, which the engine returns as values: it is a bug of ours, an internal error
//! ([`Error::WorkerPanic`] when a signature recovery panicked, else [`Error::EnginePanic`])
//! that poisons the instance instead of deciding anything about the input. The engine has no
//! cycle accounting and runs each input to its end (deadlines and cancellation are not checked
//! mid-input).

mod checkpoint;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use canonical::{Engine, EngineState, WalletConfig, WorkerPanic};

use self::checkpoint::sha256;
pub use self::checkpoint::{NATIVE_FORMAT_VERSION, NATIVE_MANIFEST_FILE, NATIVE_STATE_FILE};
use crate::outcome::Collector;
use crate::publish::{StoreSteps, publish};
use crate::{
    BackendInfo, Error, Hash, Host, Machine, MachineBackend, MachineCore, MachineStats, Outcome,
    Result, Run, RunControl, SnapshotReason, Status, Stop,
};

/// The exit code of a halt caused by a guest panic (what a panicking Rust guest exits with).
pub const NATIVE_FATAL_EXIT_CODE: u32 = 101;

/// The prefix of genesis "directories": `genesis:devnet`, `genesis:sepolia`.
pub const GENESIS_PREFIX: &str = "genesis:";

/// The canonical engine with the reference host semantics.
pub type NativeMachine = Host<NativeCore>;

/// Loads native machines from checkpoint directories or `genesis:<profile>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeBackend;

impl NativeBackend {
    /// The genesis machine of a named wallet configuration (`devnet` or `sepolia`).
    pub fn genesis(profile: &str) -> Result<NativeMachine> {
        let config = WalletConfig::by_name(profile).ok_or_else(|| {
            Error::snapshot(
                format!("{GENESIS_PREFIX}{profile}"),
                SnapshotReason::Missing(format!("wallet profile {profile:?} (devnet, sepolia)")),
            )
        })?;
        Ok(NativeMachine::from_engine(Engine::new(config)))
    }

    /// Loads `dir`, which is a checkpoint directory or `genesis:<profile>`.
    pub fn load_machine(&self, dir: &Path) -> Result<NativeMachine> {
        if let Some(profile) = dir.to_str().and_then(|s| s.strip_prefix(GENESIS_PREFIX)) {
            return Self::genesis(profile);
        }
        let loaded = checkpoint::read(dir)?;
        let status = match loaded.halted {
            Some(code) => Status::Stuck(Outcome::Halted(code)),
            None => Status::Ready,
        };
        let core = NativeCore {
            engine: Engine::from_state(loaded.state),
            root: Some(loaded.digest),
            halted: loaded.halted,
            counted: MachineStats {
                loads: 1,
                ..MachineStats::default()
            },
        };
        Ok(Host::new(core, status))
    }
}

impl MachineBackend for NativeBackend {
    fn load(&self, dir: &Path) -> Result<Box<dyn Machine>> {
        Ok(Box::new(self.load_machine(dir)?))
    }
}

impl Host<NativeCore> {
    /// A native machine waiting for input at `engine`'s state.
    pub fn from_engine(engine: Engine) -> Self {
        Host::new(
            NativeCore {
                engine,
                root: None,
                halted: None,
                counted: MachineStats::default(),
            },
            Status::Ready,
        )
    }

    /// The engine (its state is unspecified after a halt).
    pub fn engine(&self) -> &Engine {
        &self.core().engine
    }
}

/// The native core: the engine, a cached digest and a recorded halt.
#[derive(Debug)]
pub struct NativeCore {
    engine: Engine,
    root: Option<Hash>,
    halted: Option<u32>,
    /// Checkpoint loads and stores.
    counted: MachineStats,
}

/// The native engine never rejects, so it never restores: its revert point is empty.
#[derive(Debug)]
pub struct NativeRevert(());

/// The run of an input on which the guest would panic: a halt the state records.
fn halted_run() -> Run {
    Run {
        stop: Stop::FixedPoint {
            outcome: Outcome::Halted(NATIVE_FATAL_EXIT_CODE),
            recorded: true,
        },
        outputs: Vec::new(),
        reports: Vec::new(),
        mcycles: 0,
        truncated: false,
    }
}

/// The internal error of a panic that unwound out of the engine.
fn panic_error(payload: &(dyn std::any::Any + Send)) -> Error {
    let error = if let Some(panic) = payload.downcast_ref::<WorkerPanic>() {
        Error::WorkerPanic(panic.clone())
    } else {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".to_owned());
        Error::EnginePanic { message }
    };
    tracing::error!(target: "machine::native", %error, "the native engine panicked");
    error
}

impl NativeCore {
    fn encoded(&self) -> Vec<u8> {
        self.engine.state().encode()
    }

    fn halt(&mut self, why: &str) -> Run {
        tracing::warn!(target: "machine::native", why, "the canonical guest would panic: halt");
        self.halted = Some(NATIVE_FATAL_EXIT_CODE);
        halted_run()
    }
}

impl MachineCore for NativeCore {
    type Revert = NativeRevert;

    fn info(&self) -> BackendInfo {
        BackendInfo::Native {
            format_version: NATIVE_FORMAT_VERSION,
        }
    }

    fn root_hash(&mut self) -> Result<Hash> {
        if let Some(root) = self.root {
            return Ok(root);
        }
        let root = sha256(&self.encoded());
        self.root = Some(root);
        Ok(root)
    }

    fn revert_point(&mut self) -> Result<NativeRevert> {
        Ok(NativeRevert(()))
    }

    fn advance(&mut self, input: &[u8], _: &NativeRevert, ctl: &RunControl) -> Result<Run> {
        self.root = None;
        let engine = &mut self.engine;
        let result = match catch_unwind(AssertUnwindSafe(|| engine.advance(input))) {
            Ok(Ok(result)) => result,
            Ok(Err(fatal)) => return Ok(self.halt(&fatal.to_string())),
            // The live state is unspecified: the host cannot restore it and poisons the
            // instance; the input is not decided.
            Err(payload) => return Err(panic_error(payload.as_ref())),
        };
        let mut collected = Collector::new(ctl.max_collected_bytes);
        for output in &result.outputs {
            collected.output(&output.envelope());
        }
        for report in &result.reports {
            collected.report(report);
        }
        Ok(Run {
            stop: Stop::Accepted { outputs_root: None },
            outputs: collected.outputs,
            reports: collected.reports,
            mcycles: 0,
            truncated: collected.truncated,
        })
    }

    fn restore(&mut self, _: NativeRevert) -> Result<Hash> {
        Err(Error::Protocol(
            "the native engine never rejects, so it cannot revert".into(),
        ))
    }

    fn release(&mut self, _: NativeRevert) {}

    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<Run> {
        // `Engine::inspect` takes `&self`: the live state cannot change, no copy is needed.
        let engine = &self.engine;
        // The live state is not touched (`&self`): a panic fails the query only.
        let reports = catch_unwind(AssertUnwindSafe(|| engine.inspect(query)))
            .map_err(|payload| panic_error(payload.as_ref()))?;
        let mut collected = Collector::new(ctl.max_collected_bytes);
        for report in &reports {
            collected.report(report);
        }
        Ok(Run {
            stop: Stop::Accepted { outputs_root: None },
            outputs: Vec::new(),
            reports: collected.reports,
            mcycles: 0,
            truncated: collected.truncated,
        })
    }

    fn store(&mut self, dest: &Path) -> Result<()> {
        let encoded = self.encoded();
        self.root = Some(sha256(&encoded));
        publish(
            dest,
            &mut Steps {
                encoded: &encoded,
                halted: self.halted,
            },
        )?;
        self.counted.stores += 1;
        Ok(())
    }

    fn stats(&self) -> MachineStats {
        self.counted
    }
}

struct Steps<'a> {
    encoded: &'a [u8],
    halted: Option<u32>,
}

impl StoreSteps for Steps<'_> {
    fn write(&mut self, tmp: &Path) -> Result<()> {
        checkpoint::write(tmp, self.encoded, self.halted)
    }
}

/// Serialises an engine state into a native checkpoint directory `dest` (durably), without a
/// machine. Returns its digest.
pub fn store_engine_state(state: &EngineState, dest: &Path) -> Result<Hash> {
    let encoded = state.encode();
    publish(
        dest,
        &mut Steps {
            encoded: &encoded,
            halted: None,
        },
    )?;
    Ok(sha256(&encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_out_of_the_engine_is_an_internal_error_never_a_halt() {
        let worker: Box<dyn std::any::Any + Send> = Box::new(WorkerPanic {
            message: "boom".into(),
        });
        let err = panic_error(worker.as_ref());
        assert!(
            matches!(&err, Error::WorkerPanic(p) if p.message == "boom"),
            "{err:?}"
        );
        assert_eq!(err.class(), crate::Class::Internal);
        for other in [
            Box::new("index out of bounds") as Box<dyn std::any::Any + Send>,
            Box::new(String::from("index out of bounds")),
        ] {
            let err = panic_error(other.as_ref());
            assert!(
                matches!(&err, Error::EnginePanic { message } if message == "index out of bounds"),
                "{err:?}"
            );
            assert_eq!(err.class(), crate::Class::Internal);
        }
    }
}

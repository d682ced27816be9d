//! The Cartesi Machine backend: libcartesi through `cartesi-machine-sys`.

mod core;
mod handle;
mod journal;
mod revert;
mod run;

use std::ffi::CString;
use std::path::{Path, PathBuf};

use cartesi_machine_sys::{Generation, Library};

pub use self::core::CartesiCore;
pub use self::journal::{CartesiRevert, JournalBound};
use crate::{Error, Hash, Host, Machine, MachineBackend, Result, RunControl};

/// A Cartesi Machine with the reference host semantics.
pub type CartesiMachine = Host<CartesiCore>;

/// Where the guest console goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Console {
    /// Discarded (the only choice on 0.19, whose console would write to stdout).
    #[default]
    Discard,
    /// To the process's stderr (0.21 only; 0.19 discards).
    Stderr,
}

/// How machines are loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Scratch directory for revert bases and inspect bases (`cm-<pid>-<seq>-…`). It must be
    /// on a local file system with room for one stored machine; there is no default.
    pub work_dir: PathBuf,
    /// Guest console destination.
    pub console: Console,
    /// When the revert base is refreshed.
    pub journal: JournalBound,
}

impl LoadOptions {
    /// Options with the given work directory, a discarded console and the default journal
    /// bound.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            work_dir: work_dir.into(),
            console: Console::Discard,
            journal: JournalBound::DEFAULT,
        }
    }

    /// The same options with another journal bound.
    pub fn with_journal(mut self, bound: JournalBound) -> Self {
        self.journal = bound;
        self
    }
}

/// Loads Cartesi machines from stored directories with one libcartesi.
#[derive(Debug, Clone)]
pub struct CartesiBackend {
    lib: &'static Library,
    opts: LoadOptions,
}

impl CartesiBackend {
    /// Opens libcartesi at `path` (the resolved `--libcartesi-path` / `LIBCARTESI_PATH`), or
    /// through the loader's search path when `None`, and probes its API generation.
    pub fn open(path: Option<&Path>, opts: LoadOptions) -> Result<Self> {
        Ok(Self::new(cartesi_machine_sys::open(path)?, opts))
    }

    /// A backend over an already opened library.
    pub fn new(lib: &'static Library, opts: LoadOptions) -> Self {
        Self { lib, opts }
    }

    /// The loaded library.
    pub fn library(&self) -> &'static Library {
        self.lib
    }

    /// Loads a stored machine (algorithm L) as a concrete [`CartesiMachine`].
    pub fn load_machine(&self, dir: &Path) -> Result<CartesiMachine> {
        let (core, status) = CartesiCore::load(self.lib, &self.opts, dir)?;
        Ok(Host::new(core, status))
    }

    /// Creates a machine from `config_json`, runs it to its first rx-accepted yield and
    /// publishes it into `dest` (algorithm T). Returns the template hash.
    pub fn create_template(
        &self,
        config_json: &str,
        dest: &Path,
        ctl: &RunControl,
    ) -> Result<Hash> {
        CartesiCore::create_template(self.lib, &self.opts, config_json, dest, ctl)
    }
}

impl MachineBackend for CartesiBackend {
    fn load(&self, dir: &Path) -> Result<Box<dyn Machine>> {
        Ok(Box::new(self.load_machine(dir)?))
    }
}

impl Host<CartesiCore> {
    /// The test double's serial of the live handle; `None` on a real libcartesi.
    pub fn debug_serial(&self) -> Option<u64> {
        self.core().debug_serial()
    }

    /// Releases the instance with `cm_destroy`, which reports errors (dropping only calls
    /// `cm_delete`, which swallows them).
    pub fn close(self) -> Result<()> {
        self.into_core().close()
    }
}

/// The runtime configuration JSON for a generation and console choice (§6.10).
fn runtime_json(generation: Generation, console: Console) -> CString {
    let json: &[u8] = match (generation, console) {
        (Generation::V19, _) => br#"{"htif":{"no_console_putchar":true}}"#,
        (Generation::V21, Console::Discard) => br#"{"console":{"output_destination":"to_null"}}"#,
        (Generation::V21, Console::Stderr) => br#"{"console":{"output_destination":"to_stderr"}}"#,
    };
    // The literals hold no NUL byte.
    CString::new(json).unwrap_or_default()
}

fn invalid_json(what: &str) -> Error {
    Error::Protocol(format!("{what} contains a NUL byte"))
}

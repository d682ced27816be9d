//! A watchdog on the Cartesi backend: the C stub of libcartesi (either generation) runs its
//! scripted guest as the canonical machine, the application's inputs are test-language payloads
//! on the fake L1 (which serves the stub template's root hash as `getTemplateHash()`), and the
//! fake sequencer serves the state the scripted guest reaches, predicted by the pure-Rust
//! `ScriptedMachine` that speaks the same language.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use cartesi_machine_stub::StubApi;
use machine::{CartesiBackend, LoadOptions, Machine, RunControl, ScriptedBackend, query_state};
use watchdog::{InitOptions, Summary, Watchdog, options::Backend, options::Settings};

use crate::rig::{B0, Rig};
use watchdog::testing::l1::{Placed, input_at};

/// Test-language inputs at their blocks: accepted, one rejected, accepted again, and more at
/// block 12 for a second tick.
pub(crate) const INPUTS: [(u64, &str); 5] = [
    (3, "hello"),
    (5, "reject"),
    (7, "world"),
    (12, "report-twelve"),
    (12, "again"),
];

/// The same inputs up to block 7, then at block 9 an input that makes the guest raise an
/// exception.
pub(crate) const DEAD_INPUTS: [(u64, &str); 3] = [(3, "hello"), (5, "reject"), (9, "exception")];

/// A rig whose canonical machine is the stub of `api`.
pub(crate) struct CartesiRig {
    pub(crate) rig: Rig,
    pub(crate) api: StubApi,
    /// The stored template (the machine at its first rx-accepted yield).
    pub(crate) template: PathBuf,
    /// Whether the state is read from the template's labeled memory range (`range:state`)
    /// rather than by the `state` query.
    pub(crate) range: bool,
}

/// A labeled window of this many bytes onto the stub guest's state.
const RANGE_LEN: usize = 65_536;

fn placed(index: usize, block: u64, payload: &str) -> Placed {
    let tx_index = index as u64;
    input_at(index, block, tx_index, tx_index * 2 + 1, payload.as_bytes())
}

impl CartesiRig {
    /// `inputs` on the chain, a stub template of `api`, the sequencer serving the template's
    /// state at block 0.
    pub(crate) fn new(api: StubApi, inputs: &[(u64, &str)]) -> Self {
        Self::build(api, inputs, false)
    }

    /// Like [`new`](Self::new), the state read from the labeled range `state`.
    pub(crate) fn with_range(api: StubApi, inputs: &[(u64, &str)]) -> Self {
        Self::build(api, inputs, true)
    }

    fn build(api: StubApi, inputs: &[(u64, &str)], range: bool) -> Self {
        let placed = inputs
            .iter()
            .enumerate()
            .map(|(i, &(block, payload))| placed(i, block, payload))
            .collect();
        let rig = Rig::new(placed);
        let template = rig.tmp.path().join("template");
        let work = rig.tmp.path().join("template-work");
        std::fs::create_dir_all(&work).unwrap();
        let config = if range {
            format!(
                r#"{{"nvram":[{{"label":"state","start":1099511627776,"length":{RANGE_LEN}}}]}}"#
            )
        } else {
            "{}".to_owned()
        };
        let root = Self::backend(api, &work)
            .create_template(&config, &template, &RunControl::default())
            .unwrap();
        rig.chain.lock().unwrap().template_hash = B256::from(root);
        let this = Self {
            rig,
            api,
            template,
            range,
        };
        this.serve(0);
        this
    }

    /// A backend on the stub of `api` whose scratch space is `work`.
    pub(crate) fn backend(api: StubApi, work: &Path) -> CartesiBackend {
        CartesiBackend::open(
            Some(cartesi_machine_stub::path(api)),
            LoadOptions::new(work),
        )
        .unwrap()
    }

    /// The rig's settings with the Cartesi backend on the stub.
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            machine_backend: Some(Backend::Cartesi),
            libcartesi_path: Some(cartesi_machine_stub::path(self.api).to_path_buf()),
            state_source: self.range.then(|| "range:state".to_owned()),
            ..self.rig.settings()
        }
    }

    pub(crate) fn watchdog(&self) -> Watchdog {
        self.rig.watchdog_with(self.settings())
    }

    /// `init` at [`B0`] from `snapshot` (the template by default).
    pub(crate) fn init_from(&self, watchdog: &Watchdog, snapshot: &Path, block: u64) -> Summary {
        watchdog
            .init(&InitOptions {
                snapshot: Some(snapshot.display().to_string()),
                snapshot_block: Some(block),
                ..InitOptions::default()
            })
            .unwrap_or_else(|e| panic!("init: {e}"))
    }

    pub(crate) fn init(&self) -> Summary {
        self.init_from(&self.watchdog(), &self.template, B0)
    }

    /// One tick: the summary and the alert stream.
    pub(crate) fn tick(&self) -> (Summary, String) {
        self.rig.tick_with(self.settings())
    }

    /// The input count and the scripted guest's state after every input of blocks ≤ `block`.
    pub(crate) fn canonical(&self, block: u64) -> (u64, Vec<u8>) {
        let scratch = tempfile::tempdir_in(self.rig.tmp.path()).unwrap();
        let dir = scratch.path().join("scripted");
        ScriptedBackend::template(&dir).unwrap();
        let mut m = ScriptedBackend.load_machine(&dir).unwrap();
        let chain = self.rig.chain.lock().unwrap();
        let mut count = 0;
        for input in chain.inputs.iter().filter(|p| p.block <= block) {
            m.advance(&input.raw, &RunControl::default()).unwrap();
            count += 1;
        }
        let mut state = query_state(&mut m, b"state", &RunControl::default()).unwrap();
        if self.range {
            state.resize(RANGE_LEN, 0);
        }
        (count, state)
    }

    /// The sequencer serves the canonical state of `block`.
    pub(crate) fn serve(&self, block: u64) {
        let (count, state) = self.canonical(block);
        self.rig.serve(block, count, state);
    }

    /// The sequencer serves `block` with byte `at` of the canonical state flipped.
    pub(crate) fn serve_tampered(&self, block: u64, at: usize) {
        let (count, mut state) = self.canonical(block);
        state[at] ^= 0xff;
        self.rig.serve(block, count, state);
    }

    /// Prepares the binary as an operator runs it on this backend.
    pub(crate) fn operator_env<'c>(
        &self,
        cmd: &'c mut std::process::Command,
    ) -> &'c mut std::process::Command {
        self.rig
            .operator_env(cmd)
            .env("CARTESI_WATCHDOG_MACHINE_BACKEND", "cartesi")
            .env(
                "CARTESI_WATCHDOG_LIBCARTESI_PATH",
                cartesi_machine_stub::path(self.api),
            )
    }
}

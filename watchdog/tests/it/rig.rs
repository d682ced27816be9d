//! A watchdog wired to the loopback doubles: a wallet application's inputs on the fake L1, the
//! fake sequencer, a state directory in the target's temp dir, the native backend and a fixed
//! clock, so every summary, event and file is deterministic up to durations, paths and ports.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy_primitives::{Address, B256, U256};
use canonical::{Batch, Engine, Frame, InputBuilder, Method, WalletConfig};
use sequencer_client::RedactedUrl;
use watchdog::{
    FixedClock, InitOptions, Summary, Watchdog,
    options::{Backend, Settings},
    settings::Deadline,
    testing::{
        genesis_state,
        l1::{APP, CHAIN_ID, Chain, Placed, serve_shared},
        sequencer::{FakeSequencer, Served},
    },
};

/// The fixed clock: 2026-09-21T14:13:20Z.
pub(crate) const T0: u64 = 1_790_000_000;
/// The bootstrap block: no input at or below it.
pub(crate) const B0: u64 = 2;

/// Alice's secret (a valid secp256k1 scalar).
fn alice_key() -> B256 {
    B256::repeat_byte(0x11)
}

pub(crate) fn alice() -> Address {
    canonical::address_of(&alice_key()).unwrap()
}

pub(crate) fn bob() -> Address {
    Address::repeat_byte(0xb0)
}

fn builder() -> InputBuilder {
    InputBuilder::new(WalletConfig::devnet(), APP)
}

fn placed(block: u64, tx_index: u64, raw: Vec<u8>) -> Placed {
    Placed::from_raw(block, tx_index, tx_index * 2 + 1, raw)
}

/// A batch from the sequencer address with one frame (clock `safe_block`, fee `fee_price`)
/// holding Alice's transfer of `amount` to Bob with wallet nonce `nonce`.
fn transfer_batch(
    nonce: u64,
    safe_block: u64,
    fee_price: u16,
    amount: u64,
    block: u64,
    index: u64,
) -> Vec<u8> {
    let method = Method::Transfer {
        amount: U256::from(amount),
        to: bob(),
    };
    let op = builder()
        .sign(&alice_key(), 0, fee_price.max(1), &method)
        .unwrap();
    let batch = Batch {
        nonce,
        frames: vec![Frame {
            user_ops: vec![op],
            safe_block,
            fee_price,
        }],
    };
    builder().batch(&batch, block, index)
}

/// Deposits at blocks 3 and 7, then at block 12 a batch (Alice pays Bob 1000) and another
/// deposit: the batch executes the earlier deposits, the last one waits in the queue.
pub(crate) fn wallet_inputs() -> Vec<Placed> {
    let b = builder();
    vec![
        placed(3, 0, b.deposit(alice(), U256::from(1_000_000u64), 3, 0)),
        placed(3, 1, b.deposit(bob(), U256::from(500u64), 3, 1)),
        placed(7, 0, b.deposit(alice(), U256::from(42u64), 7, 2)),
        placed(12, 0, transfer_batch(0, 7, 1, 1000, 12, 3)),
        placed(12, 2, b.deposit(bob(), U256::from(7u64), 12, 4)),
    ]
}

/// A deposit for Alice at block 3, then at block 12 one batch of `ops` signed transfers from
/// her to Bob (wallet nonces 0, 1, …): enough signatures for parallel recovery.
pub(crate) fn many_ops_inputs(ops: u32) -> Vec<Placed> {
    let b = builder();
    let method = Method::Transfer {
        amount: U256::from(1u64),
        to: bob(),
    };
    let user_ops = (0..ops)
        .map(|nonce| b.sign(&alice_key(), nonce, 1, &method).unwrap())
        .collect();
    let batch = Batch {
        nonce: 0,
        frames: vec![Frame {
            user_ops,
            safe_block: 3,
            fee_price: 1,
        }],
    };
    vec![
        placed(3, 0, b.deposit(alice(), U256::from(1_000_000u64), 3, 0)),
        placed(12, 0, b.batch(&batch, 12, 1)),
    ]
}

/// [`wallet_inputs`] up to block 7, then at block 12 a batch whose frame fee exponent is
/// above `MAX_EXPONENT`: the canonical guest panics (a halt), a fixed point.
pub(crate) fn fatal_inputs() -> Vec<Placed> {
    let mut inputs = wallet_inputs();
    inputs.truncate(3);
    inputs.push(placed(
        12,
        0,
        transfer_batch(0, 7, canonical::MAX_EXPONENT + 1, 1, 12, 3),
    ));
    inputs
}

/// Drives a watchdog against the doubles.
pub(crate) struct Rig {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) state: PathBuf,
    pub(crate) chain: Arc<Mutex<Chain>>,
    pub(crate) l1: SocketAddr,
    pub(crate) seq: FakeSequencer,
}

impl Rig {
    /// A chain with `inputs`; the sequencer serves genesis at block 0.
    pub(crate) fn new(inputs: Vec<Placed>) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("watchdog-rig-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let state = tmp.path().join("state");
        let chain = Arc::new(Mutex::new(Chain::with_inputs(inputs)));
        let l1 = serve_shared(chain.clone());
        let seq = FakeSequencer::start(Served::at(0, 0, genesis_state()));
        Self {
            tmp,
            state,
            chain,
            l1,
            seq,
        }
    }

    /// The wallet chain, initialized at [`B0`] from genesis.
    pub(crate) fn initialized(inputs: Vec<Placed>) -> Self {
        let rig = Self::new(inputs);
        let init = rig.init();
        assert_eq!(init.outcome().as_str(), "initialized", "{}", init.line());
        rig
    }

    /// Prepares `cmd` (the binary, or a wrapper that runs it) as an operator's job would run
    /// against the doubles: in the scratch directory, a clean environment plus the settings.
    pub(crate) fn operator_env<'c>(
        &self,
        cmd: &'c mut std::process::Command,
    ) -> &'c mut std::process::Command {
        cmd.current_dir(self.tmp.path())
            .env_clear()
            .env("CARTESI_WATCHDOG_STATE_DIR", &self.state)
            .env("CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT", self.l1_url())
            .env("CARTESI_WATCHDOG_SEQUENCER_URL", self.seq.url())
            .env("CARTESI_WATCHDOG_APP_ADDRESS", format!("{APP:#x}"))
            .env("CARTESI_WATCHDOG_MACHINE_BACKEND", "native")
    }

    pub(crate) fn l1_url(&self) -> String {
        format!("http://{}", self.l1)
    }

    /// Flags and environment as an operator would give them.
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            state_dir: Some(self.state.clone()),
            rpc_url: Some(RedactedUrl::parse(&self.l1_url()).unwrap()),
            sequencer_url: Some(RedactedUrl::parse(&self.seq.url()).unwrap()),
            chain_id: Some(CHAIN_ID),
            app_address: Some(APP),
            machine_backend: Some(Backend::Native),
            deadline: Deadline(Some(Duration::from_secs(60))),
            ..Settings::default()
        }
    }

    pub(crate) fn watchdog_with(&self, settings: Settings) -> Watchdog {
        Watchdog::open(&self.state, settings).with_clock(Arc::new(FixedClock(T0)))
    }

    pub(crate) fn watchdog(&self) -> Watchdog {
        self.watchdog_with(self.settings())
    }

    /// `init` from `genesis:devnet` at [`B0`].
    pub(crate) fn init(&self) -> Summary {
        self.watchdog()
            .init(&InitOptions {
                snapshot: Some("genesis:devnet".into()),
                snapshot_block: Some(B0),
                ..InitOptions::default()
            })
            .unwrap_or_else(|e| panic!("init: {e}"))
    }

    /// One tick: the summary and what it wrote on the alert stream.
    pub(crate) fn tick(&self) -> (Summary, String) {
        self.tick_with(self.settings())
    }

    pub(crate) fn tick_with(&self, settings: Settings) -> (Summary, String) {
        let mut events = Vec::new();
        let summary = self.watchdog_with(settings).tick(&mut events);
        (summary, String::from_utf8(events).unwrap())
    }

    /// The canonical input count and state bytes after every input of blocks ≤ `block`.
    pub(crate) fn canonical(&self, block: u64) -> (u64, Vec<u8>) {
        let chain = self.chain.lock().unwrap();
        let mut engine = Engine::new(WalletConfig::devnet());
        let mut count = 0;
        for input in chain.inputs.iter().filter(|p| p.block <= block) {
            let _ = engine.advance(&input.raw);
            count += 1;
        }
        (count, engine.snapshot().encode())
    }

    /// The sequencer serves `state` as the finalized state of `block`, after `count` inputs.
    pub(crate) fn serve(&self, block: u64, count: u64, state: Vec<u8>) {
        self.seq.set(|s| {
            s.block = block;
            s.count = count;
            s.state = state;
        });
    }

    /// The sequencer agrees: it serves the canonical state of `block`.
    pub(crate) fn serve_canonical(&self, block: u64) {
        let (count, state) = self.canonical(block);
        self.serve(block, count, state);
    }

    /// The sequencer serves `block` with the canonical count but a state whose byte `at`
    /// (0-based) is flipped.
    pub(crate) fn serve_tampered(&self, block: u64, at: usize) {
        let (count, mut state) = self.canonical(block);
        state[at] ^= 0xff;
        self.serve(block, count, state);
    }

    /// A file of the state directory.
    pub(crate) fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.state.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The entries of `checkpoints/`, sorted.
    pub(crate) fn checkpoints(&self) -> Vec<String> {
        list(&self.state.join("checkpoints"))
    }

    /// `text` with this rig's paths, ports and provider ids (hashes of URLs with ports)
    /// replaced by placeholders.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let root = self.tmp.path().display().to_string();
        let text = text.replace(&root, "<tmp>");
        scrub_after(&scrub_ports(&text), "\"provider\":\"", 16, "<provider>")
    }
}

/// Directory entries, sorted; empty if the directory is missing.
pub(crate) fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Replaces the `len` characters after every `marker` with `placeholder`.
fn scrub_after(text: &str, marker: &str, len: usize, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at + marker.len()]);
        rest = &rest[at + marker.len()..];
        let cut = rest.char_indices().nth(len).map_or(rest.len(), |(i, _)| i);
        out.push_str(placeholder);
        rest = &rest[cut..];
    }
    out.push_str(rest);
    out
}

/// Replaces the port of every `127.0.0.1:<port>` with `<port>`.
pub(crate) fn scrub_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        out.push_str(&rest[..at + HOST.len()]);
        rest = &rest[at + HOST.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("<port>");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Every entry under `root` (relative path, then the SHA-256 of the file's bytes; directories
/// have none), sorted, skipping the top-level files in `except`: a snapshot to compare a state
/// directory before and after a command.
pub(crate) fn tree(root: &Path, except: &[&str]) -> Vec<(String, Option<String>)> {
    fn walk(root: &Path, dir: &Path, except: &[&str], out: &mut Vec<(String, Option<String>)>) {
        use sha2::Digest as _;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if except.contains(&name.as_str()) {
                continue;
            }
            if path.is_dir() {
                out.push((name, None));
                walk(root, &path, except, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((name, Some(hex::encode(sha2::Sha256::digest(bytes)))));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, except, &mut out);
    out.sort();
    out
}

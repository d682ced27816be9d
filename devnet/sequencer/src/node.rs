//! The sequencer's state behind one lock: the lane, the replica, the armed faults and what
//! the status route reports.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use alloy::primitives::Address;
use l1::Input;
use tokio::sync::{Notify, watch};

use super::config::ResponseShape;
use super::faults::{Fault, FaultSet};
use super::frames::{Lane, SealedBatch};
use super::reader::replica_inputs;
use super::replica::Replica;
use super::submit::SubmitStats;

/// The mutable state.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) lane: Lane,
    pub(crate) replica: Replica,
    pub(crate) faults: FaultSet,
    /// The newest safe block read completely.
    pub(crate) safe_block: u64,
    /// Sealed batches not yet handed to the submitter.
    pub(crate) outbox: Vec<SealedBatch>,
    pub(crate) sealed: u64,
    pub(crate) submit: SubmitStats,
    /// The last L1 failure, cleared by the next successful poll.
    pub(crate) l1_error: Option<String>,
    pub(crate) last_l1_ok: Instant,
}

impl Node {
    pub(crate) fn new(lane: Lane, replica: Replica, mut faults: FaultSet, safe_block: u64) -> Self {
        faults.pin_frozen(replica.history.len());
        Self {
            lane,
            replica,
            faults,
            safe_block,
            outbox: Vec::new(),
            sealed: 0,
            submit: SubmitStats::default(),
            l1_error: None,
            last_l1_ok: Instant::now(),
        }
    }

    /// Applies a complete read of blocks up to `safe`: replica first (acceptance, content
    /// match, checkpoints), then the lane (fridge, frame rotation, drain).
    pub(crate) fn apply(&mut self, inputs: &[Input], safe: u64) {
        let Node {
            lane,
            replica,
            faults,
            ..
        } = self;
        replica.apply(&replica_inputs(inputs), safe, faults, |nonce, hash| {
            lane.landing(nonce, hash)
        });
        for input in inputs {
            let advance = &input.advance;
            self.lane.observe(
                input.index,
                advance.msg_sender,
                &advance.payload,
                input.block_number,
            );
        }
        self.safe_block = safe;
        self.lane.advance_safe(safe);
    }

    /// Seals the open batch if a closing rule says so.
    pub(crate) fn seal_if_due(&mut self, now: Instant) -> bool {
        if !self.lane.due(now, self.safe_block) {
            return false;
        }
        let batch = self.lane.seal();
        tracing::info!(target: "devnet::sequencer", nonce = batch.nonce, ops = batch.ops, "batch sealed");
        self.sealed += 1;
        self.outbox.push(batch);
        true
    }

    /// Changes the armed faults, logging the change with the current safe block.
    pub(crate) fn set_faults(&mut self, faults: Vec<Fault>, replace: bool) {
        if replace {
            self.faults.replace(faults);
        } else {
            self.faults.add(faults);
        }
        self.faults.pin_frozen(self.replica.history.len());
        let armed: Vec<String> = self.faults.list().iter().map(Fault::to_string).collect();
        tracing::info!(target: "devnet::sequencer", safe_block = self.safe_block, ?armed, "faults changed");
    }
}

/// What the HTTP handlers share with the driver.
#[derive(Debug)]
pub(crate) struct Shared {
    node: Mutex<Node>,
    pub(crate) chain_id: u64,
    pub(crate) app: Address,
    pub(crate) shape: ResponseShape,
    /// `X-History-Era`.
    pub(crate) era: String,
    /// Wakes the driver (a batch was sealed or a close was requested).
    pub(crate) wake: Notify,
    /// Bumped whenever faults change or shutdown starts; stalled requests re-check.
    pub(crate) changed: watch::Sender<u64>,
    /// Requests a `stall` fault is holding right now (`/status` `held_requests`).
    pub(crate) held: std::sync::atomic::AtomicUsize,
    shutting_down: AtomicBool,
}

impl Shared {
    pub(crate) fn new(node: Node, chain_id: u64, app: Address, shape: ResponseShape) -> Self {
        let era = era_of(chain_id, app);
        Self {
            node: Mutex::new(node),
            chain_id,
            app,
            shape,
            era,
            wake: Notify::new(),
            changed: watch::Sender::new(0),
            held: std::sync::atomic::AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Locks the state (a panicked holder does not poison it for everyone else).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Node> {
        self.node.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.changed.send_modify(|n| *n += 1);
    }

    pub(crate) fn notify_changed(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// A stable history-era UUID for one deployment (the sequencer never runs a recovery).
fn era_of(chain_id: u64, app: Address) -> String {
    let mut seed = b"devnet-sequencer/era".to_vec();
    seed.extend_from_slice(&chain_id.to_be_bytes());
    seed.extend_from_slice(app.as_slice());
    let mut b = super::replica::sha256(&seed).0;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = alloy::primitives::hex::encode(&b[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

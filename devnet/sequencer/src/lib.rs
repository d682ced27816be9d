//! The devnet sequencer: a minimal, byte-faithful Cartesi wallet-rollup sequencer
//! (`protocol.md` §7) built on the `canonical` crate, with switchable fault modes for drills.
//!
//! Every application rule (EIP-712, validation, fees, execution, SSZ, acceptance, the fold) is
//! a call into `canonical`; this crate only orchestrates. The `devnet-sequencer` binary runs it
//! (or, with `--sequencer PATH`, the upstream sequencer) from the command line.
//!
//! # How it works
//!
//! - **Start = recovery.** Wait (bounded) until the submitter has no pending transaction, run
//!   the canonical machine over every InputBox input up to the L1 `safe` block (the *finalized
//!   replica*; resumed from `--state-dir` when present and still on the chain), fold the inputs
//!   up to `latest` into the *live lane*, and open batch `next_batch_nonce` with one frame at
//!   `safe` (draining the directs it covers).
//! - **Lane.** `POST /tx` validates against the live state with the open frame's fee, executes
//!   at once (soft confirmation) and appends the exact wire op to the open frame.
//! - **Driver** (every `--poll-ms`): read the new safe blocks with the `l1` crate (complete,
//!   checked scans), run them through the replica, queue new directs in the live fridge, rotate
//!   the frame when the safe head is `--frame-interval` blocks past it (replacing the frame list
//!   of a batch that holds nothing), seal the open batch when it holds an op or a drained direct
//!   and `--batch-max-ops` is reached, `--batch-interval-ms` has passed, a close was requested,
//!   or its first frame is 900 blocks old, and post sealed batches in nonce order with
//!   `InputBox.addInput(app, ssz(batch))` via `eth_sendTransaction` from the wallet's
//!   `sequencer_address` (anvil account 9, unlocked on anvil).
//! - **Finalized checkpoints.** Own inputs go through `canonical::accepts_batch`; an accepted
//!   batch sealed by this process must land byte-identical, otherwise the divergence marker is
//!   set and the finalized routes answer 503. The checkpoint is the replica's state at the end
//!   of the newest L1 block (≤ `safe`) that included an accepted batch — exactly the canonical
//!   machine's state at that block — or genesis at block 0 before any.
//!
//! # Public API (`--listen`)
//!
//! `POST /tx`, `GET /fee`, `GET /nonce?sender=`, `GET /domain` (CORS), `GET /finalized_state`,
//! `GET /finalized_state/inclusion_block`, `GET /finalized_state/digest`, `GET /livez`,
//! `GET /readyz`, `GET /healthz`, with the shapes, codes and messages of `protocol.md` §6.
//! `--legacy-shape` serves `l2_tx_index` / `X-L2-Tx-Index` and no digest route.
//!
//! # Control API (`--control-listen`, loopback)
//!
//! `GET|POST|DELETE /faults`, `POST /batches/close`, `GET /status`; see the `control` table
//! below. Example: `curl -X POST $CONTROL/faults -d '{"set":["tamper-state"]}'`.
//!
//! | Route | Body | Effect |
//! |---|---|---|
//! | `GET /faults` | — | `{"faults": [spec…]}` |
//! | `POST /faults` | `{"set": [spec…]}` or `{"add": [spec…]}` | replace or extend the armed faults |
//! | `DELETE /faults` | — | disarm all |
//! | `POST /batches/close` | — | seal the open batch now if it holds anything; `{"sealed": bool}` |
//! | `GET /status` | — | safe block, input cursor, open batch, batch counters, checkpoint, divergence, requests a `stall` holds (`held_requests`) |
//!
//! # Faults
//!
//! Armed with `--fault SPEC` (repeatable) or the control API. They change only what the
//! sequencer serves, never what it posts to L1, so a watchdog recomputing from L1 sees them.
//!
//! | Spec | Effect |
//! |---|---|
//! | `tamper-state[:OFF]` | flip a byte of the served finalized bytes (default the last); the digest covers the tampered bytes |
//! | `tamper-body[:OFF]` | flip a byte of the `/finalized_state` body only; honest digest |
//! | `drop-deposit[:N]` | the replica skips the next N portal deposits |
//! | `wrong-fee[:D]` | the replica executes own batches at frame fee F + D |
//! | `skip-op[:N]` | the replica leaves out the next N user ops |
//! | `regress-inclusion[:K]` | finalized routes serve the checkpoint K accepted batches back (genesis if none) |
//! | `unavailable[:ROUTES]` | 503 `UNAVAILABLE` (default the finalized routes) |
//! | `slow:MS[:ROUTES]` | delay answers by MS ms |
//! | `stall[:ROUTES]` | never answer while armed |
//! | `freeze-finalized` | finalized routes keep serving the checkpoint current when armed while the sequencer keeps reading L1, sealing and posting (a sequencer that stopped finalizing); disarming serves the newest again |
//!
//! `ROUTES` is a comma-separated list of groups (`finalized`, `user`, `health`, `all`) and
//! paths. Replica faults (`drop-deposit`, `wrong-fee`, `skip-op`) make the served state diverge
//! for good: disarming them stops further damage but does not heal it.
//!
//! # Upstream mode
//!
//! With `--sequencer PATH` / `CARTESI_SEQUENCER_BIN` the binary runs the real upstream
//! sequencer instead ([`UpstreamSequencer`]); **untested here** (the binary is not available).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod api;
mod cli;
mod config;
mod control;
mod faults;
mod finalized;
mod frames;
mod node;
mod reader;
mod replica;
mod reply;
mod service;
mod store;
mod submit;
mod tx;
mod upstream;

pub use cli::{Args, init_tracing, shutdown_signal};
pub use config::{
    DEVNET_FEE_EXPONENT, FRAME_CLOCK_INTERVAL_SAFE_BLOCKS, ResponseShape, SequencerConfig,
};
pub use faults::{Fault, FaultSpecError, Routes};
pub use service::{Sequencer, SequencerHandle};
pub use upstream::{UpstreamSequencer, upstream_env};

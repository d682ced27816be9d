//! The inclusion lane: the live (soft) wallet state, the open batch with its frames, and batch
//! sealing (`protocol.md` §7.3 steps 3–5).
//!
//! Accepted user ops execute at once against the live state with the open frame's fee and
//! clock, and their exact wire form is appended to the open frame. Direct inputs read from L1
//! wait in the live fridge until a frame whose `safe_block` covers them opens; they are then
//! executed before any further op, exactly as the canonical fold drains them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, keccak256};
use canonical::{Batch, DirectInput, EngineState, Fatal, Frame, Rejection, UserOp, WireUserOp};

use super::replica::Landing;

/// An open batch older than this many blocks (first frame vs. safe head) is sealed even if no
/// other rule asks for it: the fold skips batches landing 1200 blocks after their first frame.
pub(crate) const MAX_OPEN_BATCH_AGE_BLOCKS: u64 = 900;

/// Batch-closing policy and frame parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LanePolicy {
    /// Frame fee exponent.
    pub(crate) fee: u16,
    /// Open a new frame when the safe head is this many blocks past the open frame's clock.
    pub(crate) frame_interval: u64,
    /// Seal when the open batch holds this many ops.
    pub(crate) max_ops: usize,
    /// Seal this long after the open batch got its first content.
    pub(crate) max_open: Duration,
}

/// A sealed batch waiting to be posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedBatch {
    /// The batch nonce.
    pub(crate) nonce: u64,
    /// `ssz(Batch)`.
    pub(crate) bytes: Bytes,
    /// User ops in it.
    pub(crate) ops: usize,
}

#[derive(Debug, Clone)]
struct OpenBatch {
    nonce: u64,
    frames: Vec<Frame>,
    ops: usize,
    drained: usize,
    first_content: Option<Instant>,
}

impl OpenBatch {
    fn new(nonce: u64, safe_block: u64, fee: u16) -> Self {
        Self {
            nonce,
            frames: vec![Frame {
                user_ops: Vec::new(),
                safe_block,
                fee_price: fee,
            }],
            ops: 0,
            drained: 0,
            first_content: None,
        }
    }

    fn has_content(&self) -> bool {
        self.ops > 0 || self.drained > 0
    }

    fn frame(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }
}

/// Why an op was not included.
#[derive(Debug)]
pub(crate) enum OpError {
    /// Validation failed (§3.5): HTTP 422.
    Rejected(Rejection),
    /// The live state cannot execute it (the canonical guest would halt): HTTP 500.
    Fatal(Fatal),
}

/// The live lane.
#[derive(Debug, Clone)]
pub(crate) struct Lane {
    state: EngineState,
    next_index: u64,
    policy: LanePolicy,
    open: OpenBatch,
    /// Hashes of the batches sealed by this process, by nonce.
    sealed: BTreeMap<u64, B256>,
    first_sealed: Option<u64>,
    close_requested: bool,
}

impl Lane {
    /// A lane resuming from `state` (the canonical fold up to the L1 head, `next_index` inputs
    /// read) with its first frame at safe block `safe`.
    pub(crate) fn boot(state: EngineState, next_index: u64, safe: u64, policy: LanePolicy) -> Self {
        let open = OpenBatch::new(state.next_batch_nonce, safe, policy.fee);
        let mut lane = Self {
            state,
            next_index,
            policy,
            open,
            sealed: BTreeMap::new(),
            first_sealed: None,
            close_requested: false,
        };
        lane.drain(safe);
        lane
    }

    /// The open frame's fee exponent.
    pub(crate) fn fee(&self) -> u16 {
        self.open.frame().fee_price
    }

    /// The fee the next frame will use.
    pub(crate) fn recommended_fee(&self) -> u16 {
        self.policy.fee
    }

    /// The next nonce of `sender` in the live state.
    pub(crate) fn next_nonce(&self, sender: Address) -> u32 {
        self.state.wallet.nonce(sender)
    }

    /// `(nonce, frames, ops)` of the open batch.
    pub(crate) fn open_batch(&self) -> (u64, usize, usize) {
        (self.open.nonce, self.open.frames.len(), self.open.ops)
    }

    /// The open frame's clock.
    pub(crate) fn frame_safe_block(&self) -> u64 {
        self.open.frame().safe_block
    }

    /// A newly read L1 input. Inputs already folded into the live state at boot are ignored;
    /// own inputs are the lane's own batches; every other input waits in the fridge.
    pub(crate) fn observe(&mut self, index: u64, sender: Address, payload: &Bytes, block: u64) {
        if index < self.next_index {
            return;
        }
        self.next_index = index + 1;
        if sender != self.state.wallet.config().sequencer_address {
            self.state.fridge.push_back(DirectInput {
                sender,
                payload: payload.clone(),
                block,
            });
        }
    }

    /// The safe head moved to `safe` and every input up to it has been observed: rotate the
    /// frame when it is `frame_interval` blocks old and drain the directs it covers.
    pub(crate) fn advance_safe(&mut self, safe: u64) {
        let clock = self.open.frame().safe_block;
        if safe < clock.saturating_add(self.policy.frame_interval) {
            return;
        }
        let frame = Frame {
            user_ops: Vec::new(),
            safe_block: safe,
            fee_price: self.policy.fee,
        };
        if self.open.has_content() {
            self.open.frames.push(frame);
        } else {
            // Nothing executed yet: an empty frame list is fold-equivalent, and the batch's
            // first frame stays young.
            self.open.frames = vec![frame];
        }
        self.drain(safe);
    }

    /// Executes every fridge entry with block ≤ `safe`, in order, into the open frame's drain.
    fn drain(&mut self, safe: u64) {
        while self
            .state
            .fridge
            .front()
            .is_some_and(|direct| direct.block <= safe)
        {
            let Some(direct) = self.state.fridge.pop_front() else {
                break;
            };
            let mut outputs = Vec::new();
            if let Err(fatal) = self.state.wallet.execute_direct(
                direct.sender,
                &direct.payload,
                direct.block,
                &mut outputs,
            ) {
                tracing::error!(target: "devnet::sequencer", %fatal, "direct input cannot execute");
            }
            self.open.drained += 1;
            self.open.first_content.get_or_insert_with(Instant::now);
        }
    }

    /// Validates and executes a signed op against the open frame (soft confirmation); returns
    /// the nonce it consumed.
    pub(crate) fn include(
        &mut self,
        sender: Address,
        op: UserOp,
        signature: Bytes,
    ) -> Result<u32, OpError> {
        let frame = self.open.frame();
        let (fee_price, safe_block) = (frame.fee_price, frame.safe_block);
        let fee = self
            .state
            .wallet
            .validate(sender, &op, fee_price)
            .map_err(OpError::Rejected)?;
        let nonce = self.state.wallet.nonce(sender);
        let mut outputs = Vec::new();
        self.state
            .wallet
            .execute(sender, &op, fee, safe_block, &mut outputs)
            .map_err(OpError::Fatal)?;
        let last = self.open.frames.len() - 1;
        self.open.frames[last].user_ops.push(WireUserOp {
            nonce: op.nonce,
            max_fee: op.max_fee,
            data: op.data,
            signature,
        });
        self.open.ops += 1;
        self.open.first_content.get_or_insert_with(Instant::now);
        Ok(nonce)
    }

    /// Asks for the open batch to be sealed at the next opportunity.
    pub(crate) fn request_close(&mut self) {
        self.close_requested = true;
    }

    /// Whether the open batch must be sealed now.
    pub(crate) fn due(&self, now: Instant, safe: u64) -> bool {
        if !self.open.has_content() {
            return false;
        }
        let age_blocks = safe.saturating_sub(self.open.frames[0].safe_block);
        self.close_requested
            || self.open.ops >= self.policy.max_ops
            || age_blocks >= MAX_OPEN_BATCH_AGE_BLOCKS
            || self
                .open
                .first_content
                .is_some_and(|t| now.saturating_duration_since(t) >= self.policy.max_open)
    }

    /// Seals the open batch and opens the next one at the same clock (it drains nothing).
    pub(crate) fn seal(&mut self) -> SealedBatch {
        let clock = self.open.frame().safe_block;
        let next = OpenBatch::new(self.open.nonce + 1, clock, self.policy.fee);
        let open = std::mem::replace(&mut self.open, next);
        self.close_requested = false;
        let batch = Batch {
            nonce: open.nonce,
            frames: open.frames,
        };
        let bytes = Bytes::from(batch.encode());
        self.sealed.insert(batch.nonce, keccak256(&bytes));
        self.first_sealed.get_or_insert(batch.nonce);
        SealedBatch {
            nonce: batch.nonce,
            bytes,
            ops: open.ops,
        }
    }

    /// Compares an accepted landing of batch `nonce` with what this process sealed.
    pub(crate) fn landing(&self, nonce: u64, hash: &B256) -> Landing {
        match self.sealed.get(&nonce) {
            Some(sealed) if sealed == hash => Landing::Matches,
            Some(_) => Landing::Diverges(format!(
                "batch {nonce} landed with other bytes than the sealed batch"
            )),
            None if self.first_sealed.is_some_and(|first| nonce >= first) => Landing::Diverges(
                format!("batch {nonce} landed but was never sealed by this sequencer"),
            ),
            None if nonce >= self.open.nonce => Landing::Diverges(format!(
                "batch {nonce} landed but the open batch is {}",
                self.open.nonce
            )),
            None => Landing::Matches,
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use canonical::{Engine, InputBuilder, Method, WalletConfig};

    use super::*;

    fn policy() -> LanePolicy {
        LanePolicy {
            fee: 1356,
            frame_interval: 5,
            max_ops: 2,
            max_open: Duration::from_secs(3600),
        }
    }

    #[test]
    fn the_sealed_batch_replays_to_the_live_state() {
        let config = WalletConfig::devnet();
        let app = Address::repeat_byte(0xaa);
        let builder = InputBuilder::new(config, app);
        let key = B256::repeat_byte(0x22);
        let alice = canonical::address_of(&key).unwrap();
        let portal = config.erc20_portal_address;
        let deposit = builder.deposit(alice, U256::from(10_000_000u64), 2, 0);
        let late_deposit = builder.deposit(alice, U256::from(7u64), 9, 1);

        let mut lane = Lane::boot(EngineState::genesis(config), 0, 1, policy());
        for (index, raw, block) in [(0, &deposit, 2), (1, &late_deposit, 9)] {
            let advance = canonical::EvmAdvance::decode(raw).unwrap();
            lane.observe(index, portal, &advance.payload, block);
        }
        assert_eq!(lane.state.fridge.len(), 2);
        lane.advance_safe(4);
        assert_eq!(
            lane.frame_safe_block(),
            1,
            "not yet 5 blocks past the clock"
        );
        lane.advance_safe(6);
        assert_eq!(
            lane.open_batch(),
            (0, 1, 0),
            "empty batch: frame list replaced"
        );
        assert_eq!(
            lane.state.fridge.len(),
            1,
            "the block-9 deposit still waits"
        );

        let op = |nonce| {
            let wire = builder
                .sign(
                    &key,
                    nonce,
                    1400,
                    &Method::Transfer {
                        amount: U256::from(3u64),
                        to: Address::repeat_byte(0xbb),
                    },
                )
                .unwrap();
            (wire.user_op(), wire.signature)
        };
        let (first, sig) = op(0);
        assert_eq!(lane.include(alice, first, sig).unwrap(), 0);
        let (bad, sig) = op(5);
        assert!(matches!(
            lane.include(alice, bad, sig),
            Err(OpError::Rejected(Rejection::InvalidNonce {
                expected: 1,
                got: 5
            }))
        ));
        assert!(!lane.due(Instant::now(), 6));
        lane.advance_safe(11);
        let (second, sig) = op(1);
        lane.include(alice, second, sig).unwrap();
        assert!(lane.due(Instant::now(), 11));
        let sealed = lane.seal();
        assert_eq!((sealed.nonce, sealed.ops), (0, 2));
        assert_eq!(lane.open_batch(), (1, 1, 0));
        assert_eq!(lane.frame_safe_block(), 11);

        // The fold over deposit, late deposit and the batch lands in the live state.
        let mut engine = Engine::new(config);
        engine.advance(&deposit).unwrap();
        engine.advance(&late_deposit).unwrap();
        engine
            .advance(&builder.advance(config.sequencer_address, 12, 2, sealed.bytes.to_vec()))
            .unwrap();
        assert_eq!(engine.snapshot(), lane.state.wallet.snapshot());
        assert!(matches!(
            lane.landing(0, &keccak256(&sealed.bytes)),
            Landing::Matches
        ));
        assert!(matches!(lane.landing(0, &B256::ZERO), Landing::Diverges(_)));
        assert!(matches!(lane.landing(1, &B256::ZERO), Landing::Diverges(_)));
    }
}

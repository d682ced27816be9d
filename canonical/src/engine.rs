//! The canonical scheduler fold (`protocol.md` §5): what the Cartesi Machine guest computes.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes};
use serde::{Deserialize, Serialize};

use crate::advance::EvmAdvance;
use crate::batch::{Batch, Frame};
use crate::config::{MAX_WAIT_BLOCKS, WalletConfig};
use crate::eip712::domain_separator;
use crate::fee::try_fee_to_linear;
use crate::fridge::DirectInput;
use crate::output::Output;
use crate::senders::Senders;
use crate::snapshot::WalletSnapshot;
use crate::state::EngineState;
use crate::wallet::{Fatal, Rejection};

/// The report emitted for a rejected batch (gates a, b and d).
pub const REJECTED_BATCH_REPORT: &[u8] = b"scheduler dropped invalid batch";
/// The report answering an inspect query other than `state` or empty.
pub const UNSUPPORTED_INSPECT_REPORT: &[u8] = b"unsupported inspect query";
/// The inspect query asking for the wallet snapshot.
pub const STATE_QUERY: &[u8] = b"state";

/// `saturating_sub(current, start) ≥ MAX_WAIT_BLOCKS`.
pub fn aged(current: u64, start: u64) -> bool {
    current.saturating_sub(start) >= MAX_WAIT_BLOCKS
}

/// Why a batch was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchRejection {
    /// Gate a: the payload is not an SSZ `Batch`.
    DecodeFailed,
    /// Gate b: the batch nonce is not the expected one.
    WrongNonce {
        /// The fold's next batch nonce.
        expected: u64,
        /// The batch's nonce.
        got: u64,
    },
    /// Gate d: a frame's safe block is above the inclusion block.
    SafeBlockAboveInclusionBlock,
    /// Gate d: a frame's safe block is below the previous frame's.
    NonMonotonicSafeBlocks,
}

/// What the fold did with one input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InputOutcome {
    /// A direct input was queued in the fridge.
    DirectEnqueued,
    /// A batch failed gate a, b or d; the batch nonce was not consumed.
    BatchRejected {
        /// The failing gate.
        reason: BatchRejection,
    },
    /// Gate c: a batch with no frames; the nonce was consumed.
    BatchEmpty,
    /// Gate e: a stale batch, skipped without consuming the nonce.
    BatchStale,
    /// Gate f: the batch executed.
    BatchExecuted {
        /// Ops that executed (including business no-ops).
        included: usize,
        /// Ops skipped for a bad signature or rejected by validation.
        skipped: usize,
    },
}

/// Everything one advance produced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdvanceResult {
    /// Notices and vouchers, in emission order.
    pub outputs: Vec<Output>,
    /// Reports, in emission order.
    pub reports: Vec<Bytes>,
    /// Directs executed by the backstop or drained before frames.
    pub directs_executed: usize,
    /// What happened to the input itself.
    pub outcome: Option<InputOutcome>,
}

/// The canonical machine: the wallet plus the scheduler's fridge and batch nonce.
///
/// After [`advance`](Self::advance) returns [`Fatal`] the engine is at a fixed point (the guest
/// would have halted) and must not be advanced again; its state is unspecified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    state: EngineState,
}

impl Engine {
    /// The genesis engine of a configuration.
    pub fn new(config: WalletConfig) -> Self {
        Self {
            state: EngineState::genesis(config),
        }
    }

    /// An engine resuming from a stored state.
    pub fn from_state(state: EngineState) -> Self {
        Self { state }
    }

    /// The complete state (serialise it with [`EngineState::encode`]).
    pub fn state(&self) -> &EngineState {
        &self.state
    }

    /// Consumes the engine, returning its state.
    pub fn into_state(self) -> EngineState {
        self.state
    }

    /// The wallet snapshot: what inspect `state` reports.
    pub fn snapshot(&self) -> WalletSnapshot {
        self.state.wallet.snapshot()
    }

    /// Answers an inspect query with its reports.
    pub fn inspect(&self, query: &[u8]) -> Vec<Bytes> {
        if query.is_empty() || query == STATE_QUERY {
            vec![self.snapshot().encode().into()]
        } else {
            vec![Bytes::from_static(UNSUPPORTED_INSPECT_REPORT)]
        }
    }

    /// Processes one advance: `input` is the raw `EvmAdvance` calldata from the InputBox.
    ///
    /// The senders of a batch's user ops are recovered ahead of the fold on a worker pool
    /// (see [`set_recovery_threads`](crate::set_recovery_threads)); the result is the same
    /// as a sequential run's.
    ///
    /// # Panics
    ///
    /// With a [`WorkerPanic`](crate::WorkerPanic) payload if a signature recovery panicked:
    /// an internal error of the caller, not a halt of the guest.
    pub fn advance(&mut self, input: &[u8]) -> Result<AdvanceResult, Fatal> {
        let advance = EvmAdvance::decode(input)?;
        self.process(&advance)
    }

    /// Processes one decoded advance (`process_input` of §5.2).
    pub fn process(&mut self, advance: &EvmAdvance) -> Result<AdvanceResult, Fatal> {
        let block = advance.block_number;
        let mut result = AdvanceResult::default();

        // Backstop: directs that waited too long execute before anything else.
        while self
            .state
            .fridge
            .front()
            .is_some_and(|front| aged(block, front.block))
        {
            self.execute_front(&mut result)?;
        }

        if advance.msg_sender != self.state.wallet.config().sequencer_address {
            self.state.fridge.push_back(DirectInput {
                sender: advance.msg_sender,
                payload: advance.payload.clone(),
                block,
            });
            result.outcome = Some(InputOutcome::DirectEnqueued);
            return Ok(result);
        }

        let outcome = self.run_batch(advance, &mut result)?;
        if matches!(outcome, InputOutcome::BatchRejected { .. }) {
            result
                .reports
                .push(Bytes::from_static(REJECTED_BATCH_REPORT));
        }
        result.outcome = Some(outcome);
        Ok(result)
    }

    /// The batch gates of §5.3, then execution (§5.4).
    fn run_batch(
        &mut self,
        advance: &EvmAdvance,
        result: &mut AdvanceResult,
    ) -> Result<InputOutcome, Fatal> {
        let block = advance.block_number;
        let Ok(batch) = Batch::decode(&advance.payload) else {
            return Ok(InputOutcome::BatchRejected {
                reason: BatchRejection::DecodeFailed,
            });
        };
        let expected = self.state.next_batch_nonce;
        if batch.nonce != expected {
            return Ok(InputOutcome::BatchRejected {
                reason: BatchRejection::WrongNonce {
                    expected,
                    got: batch.nonce,
                },
            });
        }
        let next_nonce = expected.checked_add(1).ok_or(Fatal::BatchNonceOverflow)?;
        if batch.frames.is_empty() {
            self.state.next_batch_nonce = next_nonce;
            return Ok(InputOutcome::BatchEmpty);
        }
        if let Some(reason) = check_safe_blocks(&batch.frames, block) {
            return Ok(InputOutcome::BatchRejected { reason });
        }
        if aged(block, batch.frames[0].safe_block) {
            return Ok(InputOutcome::BatchStale);
        }

        self.state.next_batch_nonce = next_nonce;
        let domain = domain_separator(advance.chain_id, advance.app_contract);
        let batch = Arc::new(batch);
        let mut senders = Senders::start(Arc::clone(&batch), domain);
        let (mut included, mut skipped) = (0, 0);
        for frame in &batch.frames {
            while self
                .state
                .fridge
                .front()
                .is_some_and(|front| front.block <= frame.safe_block)
            {
                self.execute_front(result)?;
            }
            // The frame's fee in token units, evaluated once for all its ops (`None` above
            // the maximum exponent: fatal once an op's validation reaches the fee).
            let required = try_fee_to_linear(frame.fee_price);
            for op in &frame.user_ops {
                // A signature of the wrong length or one that does not recover skips the op.
                let Some(sender) = senders.next_sender() else {
                    skipped += 1;
                    continue;
                };
                let wallet = &mut self.state.wallet;
                match wallet.validate_fields(
                    sender,
                    op.nonce,
                    op.max_fee,
                    frame.fee_price,
                    required,
                ) {
                    Ok(fee) => {
                        wallet.execute_data(
                            sender,
                            &op.data,
                            fee,
                            frame.safe_block,
                            &mut result.outputs,
                        )?;
                        included += 1;
                    }
                    Err(Rejection::FeeExponentOutOfRange(exponent)) => {
                        return Err(Fatal::FeeExponent(exponent));
                    }
                    Err(_) => skipped += 1,
                }
            }
        }
        senders.finish();
        Ok(InputOutcome::BatchExecuted { included, skipped })
    }

    fn execute_front(&mut self, result: &mut AdvanceResult) -> Result<(), Fatal> {
        if let Some(direct) = self.state.fridge.pop_front() {
            self.state.wallet.execute_direct(
                direct.sender,
                &direct.payload,
                direct.block,
                &mut result.outputs,
            )?;
            result.directs_executed += 1;
        }
        Ok(())
    }
}

/// Gate d: every frame's safe block ≤ the inclusion block, and non-decreasing.
fn check_safe_blocks(frames: &[Frame], block: u64) -> Option<BatchRejection> {
    let mut previous = 0;
    for frame in frames {
        if frame.safe_block > block {
            return Some(BatchRejection::SafeBlockAboveInclusionBlock);
        }
        if frame.safe_block < previous {
            return Some(BatchRejection::NonMonotonicSafeBlocks);
        }
        previous = frame.safe_block;
    }
    None
}

/// The off-chain acceptance predicate (§5.6, with gate d): would the fold accept this input as
/// the batch numbered `expected`? A sequencer uses it to track which of its batches landed.
pub fn accepts_batch(
    sender: Address,
    submitter: Address,
    block: u64,
    payload: &[u8],
    expected: u64,
) -> bool {
    if sender != submitter {
        return false;
    }
    let Ok(batch) = Batch::decode(payload) else {
        return false;
    };
    batch.nonce == expected
        && (batch.frames.is_empty()
            || (check_safe_blocks(&batch.frames, block).is_none()
                && !aged(block, batch.frames[0].safe_block)))
}

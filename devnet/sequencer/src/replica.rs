//! The finalized replica: the canonical machine run over the InputBox up to the safe block,
//! with acceptance tracking of the sequencer's own batches and the finalized checkpoints
//! (`protocol.md` §5.6, §6.9).
//!
//! Two engines run side by side. The *honest* one sees the L1 inputs unchanged and decides
//! acceptance. The *served* one exists only once a replica fault has fired: it is cloned from
//! the honest one and from then on sees the fault-transformed inputs, so faults change what
//! the sequencer serves and nothing else.

use alloy::primitives::{B256, Bytes, keccak256};
use canonical::{
    Batch, Engine, EngineState, EvmAdvance, MAX_EXPONENT, WalletConfig, WalletSnapshot,
    accepts_batch,
};
use sha2::{Digest as _, Sha256};

use super::faults::FaultSet;

/// Checkpoints kept for `regress-inclusion` (genesis is always kept).
const HISTORY: usize = 256;

/// A finalized checkpoint: the replica's state at the end of an L1 block that included an
/// accepted own batch (or genesis at block 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// The L1 block of the newest accepted batch.
    pub(crate) inclusion_block: u64,
    /// `executed_input_count` of the snapshot.
    pub(crate) executed_input_count: u64,
    /// The `WalletSnapshot` encoding.
    pub(crate) bytes: Bytes,
}

impl Checkpoint {
    pub(crate) fn of(inclusion_block: u64, snapshot: &WalletSnapshot) -> Self {
        Self {
            inclusion_block,
            executed_input_count: snapshot.executed_input_count,
            bytes: snapshot.encode().into(),
        }
    }
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> B256 {
    B256::from(<[u8; 32]>::from(Sha256::digest(bytes)))
}

/// How a landing of one of our batches compares with what we sealed.
pub(crate) enum Landing {
    /// Same bytes as sealed, or sealed by an earlier run (recovered history).
    Matches,
    /// A divergence: no local batch, or different bytes.
    Diverges(String),
}

/// An input as the replica needs it.
#[derive(Debug, Clone)]
pub(crate) struct ReplicaInput {
    /// InputBox index.
    pub(crate) index: u64,
    /// The decoded advance (block number, sender, payload).
    pub(crate) advance: EvmAdvance,
}

/// The replica: honest and served engines, acceptance cursor, checkpoints.
#[derive(Debug, Clone)]
pub(crate) struct Replica {
    config: WalletConfig,
    pub(crate) honest: Engine,
    pub(crate) served: Option<Engine>,
    served_halted: bool,
    /// The acceptance predicate's next expected batch nonce.
    pub(crate) expected: u64,
    /// InputBox index of the next input to read.
    pub(crate) next_index: u64,
    /// Last block read completely (`None` before the first read).
    pub(crate) scanned_block: Option<u64>,
    /// Checkpoints, oldest first; `[0]` is genesis.
    pub(crate) history: Vec<Checkpoint>,
    /// Set when the accepted history diverges from the local batches, or the machine halted.
    pub(crate) divergence: Option<String>,
}

impl Replica {
    pub(crate) fn genesis(config: WalletConfig) -> Self {
        Self {
            config,
            honest: Engine::new(config),
            served: None,
            served_halted: false,
            expected: 0,
            next_index: 0,
            scanned_block: None,
            history: vec![Checkpoint::of(0, &WalletSnapshot::genesis(&config))],
            divergence: None,
        }
    }

    /// Rebuilds a replica from persisted parts.
    pub(crate) fn restore(
        config: WalletConfig,
        honest: EngineState,
        served: Option<EngineState>,
        cursor: (u64, u64, Option<u64>),
        history: Vec<Checkpoint>,
    ) -> Self {
        let (expected, next_index, scanned_block) = cursor;
        let mut replica = Self::genesis(config);
        replica.honest = Engine::from_state(honest);
        replica.served = served.map(Engine::from_state);
        replica.expected = expected;
        replica.next_index = next_index;
        replica.scanned_block = scanned_block;
        if !history.is_empty() {
            replica.history = history;
        }
        replica
    }

    /// The newest checkpoint.
    pub(crate) fn checkpoint(&self) -> &Checkpoint {
        &self.history[self.history.len() - 1]
    }

    /// The checkpoint `back` accepted batches before the newest (genesis if there is none).
    pub(crate) fn checkpoint_back(&self, back: usize) -> &Checkpoint {
        self.checkpoint_back_from(self.history.len(), back)
    }

    /// Like [`checkpoint_back`](Self::checkpoint_back), as if the history held only its first
    /// `len` checkpoints (at least the genesis one).
    pub(crate) fn checkpoint_back_from(&self, len: usize, back: usize) -> &Checkpoint {
        let len = len.clamp(1, self.history.len());
        &self.history[len.saturating_sub(back + 1)]
    }

    /// Whether a replica fault changed the served state.
    pub(crate) fn is_faulted(&self) -> bool {
        self.served.is_some()
    }

    /// Applies the inputs of a complete read of blocks `(scanned_block, to]`, in index order.
    /// `landing` compares an accepted own batch (nonce, payload hash) with the local batches.
    pub(crate) fn apply(
        &mut self,
        inputs: &[ReplicaInput],
        to: u64,
        faults: &mut FaultSet,
        landing: impl Fn(u64, &B256) -> Landing,
    ) {
        let mut current: Option<(u64, bool)> = None;
        for input in inputs {
            let block = input.advance.block_number;
            if let Some((done, true)) = current
                && done != block
            {
                self.publish(done);
            }
            if current.is_none_or(|(b, _)| b != block) {
                current = Some((block, false));
            }
            if self.apply_one(input, faults, &landing)
                && let Some((_, accepted)) = current.as_mut()
            {
                *accepted = true;
            }
        }
        if let Some((block, true)) = current {
            self.publish(block);
        }
        self.scanned_block = Some(to);
    }

    /// Runs one input through both engines; returns whether it was an accepted own batch.
    fn apply_one(
        &mut self,
        input: &ReplicaInput,
        faults: &mut FaultSet,
        landing: &impl Fn(u64, &B256) -> Landing,
    ) -> bool {
        let advance = &input.advance;
        self.next_index = input.index + 1;
        let submitter = self.config.sequencer_address;
        let accepted = accepts_batch(
            advance.msg_sender,
            submitter,
            advance.block_number,
            &advance.payload,
            self.expected,
        );
        if accepted {
            let nonce = self.expected;
            self.expected += 1;
            if let Landing::Diverges(why) = landing(nonce, &keccak256(&advance.payload))
                && self.divergence.is_none()
            {
                tracing::error!(target: "devnet::sequencer", nonce, %why, "divergence");
                self.divergence = Some(why);
            }
        }

        let transformed = self.transform(advance, faults);
        if transformed.is_some() && self.served.is_none() {
            self.served = Some(self.honest.clone());
        }
        if let Err(fatal) = self.honest.process(advance)
            && self.divergence.is_none()
        {
            tracing::error!(target: "devnet::sequencer", %fatal, "canonical machine halted");
            self.divergence = Some(format!("canonical machine halted: {fatal}"));
        }
        if let Some(served) = self.served.as_mut().filter(|_| !self.served_halted) {
            let result = match transformed {
                Some(Some(changed)) => served.process(&changed),
                Some(None) => Ok(Default::default()),
                None => served.process(advance),
            };
            if let Err(fatal) = result {
                tracing::warn!(target: "devnet::sequencer", %fatal, "served replica halted");
                self.served_halted = true;
            }
        }
        accepted
    }

    /// The served engine's version of `advance` under the armed replica faults: `None` when
    /// unchanged, `Some(None)` when dropped, `Some(Some(a))` when rewritten.
    fn transform(&self, advance: &EvmAdvance, faults: &mut FaultSet) -> Option<Option<EvmAdvance>> {
        let sender = advance.msg_sender;
        if sender == self.config.erc20_portal_address {
            return faults.take_drop_deposit().then_some(None);
        }
        if sender != self.config.sequencer_address {
            return None;
        }
        let mut batch = Batch::decode(&advance.payload).ok()?;
        let mut changed = false;
        let delta = faults.fee_delta();
        for frame in &mut batch.frames {
            if delta > 0 {
                frame.fee_price = frame.fee_price.saturating_add(delta).min(MAX_EXPONENT);
                changed = true;
            }
            let before = frame.user_ops.len();
            frame.user_ops.retain(|_| !faults.take_skip_op());
            changed |= frame.user_ops.len() != before;
        }
        changed.then(|| {
            Some(EvmAdvance {
                payload: batch.encode().into(),
                ..advance.clone()
            })
        })
    }

    /// Records the checkpoint at the end of `block`.
    fn publish(&mut self, block: u64) {
        if self.divergence.is_some() {
            return;
        }
        let engine = self.served.as_ref().unwrap_or(&self.honest);
        self.history.push(Checkpoint::of(block, &engine.snapshot()));
        if self.history.len() > HISTORY {
            self.history.remove(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use canonical::{Frame, InputBuilder, Method};

    use super::*;

    const APP: Address = Address::repeat_byte(0xaa);

    fn input(raw: &[u8], index: u64) -> ReplicaInput {
        ReplicaInput {
            index,
            advance: EvmAdvance::decode(raw).unwrap(),
        }
    }

    #[test]
    fn checkpoints_follow_accepted_batches_and_faults_touch_only_the_served_engine() {
        let config = WalletConfig::devnet();
        let builder = InputBuilder::new(config, APP);
        let alice_key = B256::repeat_byte(0x11);
        let alice = canonical::address_of(&alice_key).unwrap();
        let deposit = builder.deposit(alice, U256::from(1_000_000u64), 3, 0);
        let op = builder
            .sign(
                &alice_key,
                0,
                1400,
                &Method::Transfer {
                    amount: U256::from(5u64),
                    to: Address::repeat_byte(0xbb),
                },
            )
            .unwrap();
        let batch = Batch {
            nonce: 0,
            frames: vec![Frame {
                user_ops: vec![op],
                safe_block: 3,
                fee_price: 1356,
            }],
        };
        let batch_input = builder.batch(&batch, 5, 1);
        let inputs = vec![input(&deposit, 0), input(&batch_input, 1)];

        let mut honest = Replica::genesis(config);
        let mut faults = FaultSet::default();
        honest.apply(&inputs[..1], 4, &mut faults, |_, _| Landing::Matches);
        assert_eq!(honest.history.len(), 1, "no batch yet: genesis only");
        honest.apply(&inputs[1..], 6, &mut faults, |_, _| Landing::Matches);
        assert_eq!(honest.checkpoint().inclusion_block, 5);
        assert_eq!(honest.checkpoint().executed_input_count, 2);
        assert_eq!(honest.expected, 1);
        assert_eq!(honest.scanned_block, Some(6));
        assert!(!honest.is_faulted());

        let mut replay = Engine::new(config);
        replay.advance(&deposit).unwrap();
        replay.advance(&batch_input).unwrap();
        assert_eq!(&honest.checkpoint().bytes[..], replay.snapshot().encode());

        for spec in ["skip-op", "wrong-fee:2", "drop-deposit"] {
            let mut faulty = Replica::genesis(config);
            let mut faults = FaultSet::new(vec![spec.parse().unwrap()]);
            faulty.apply(&inputs, 6, &mut faults, |_, _| Landing::Matches);
            assert!(faulty.is_faulted(), "{spec}");
            assert_ne!(
                faulty.checkpoint().bytes,
                honest.checkpoint().bytes,
                "{spec}"
            );
            assert_eq!(faulty.honest.snapshot(), honest.honest.snapshot(), "{spec}");
            assert_eq!(faulty.checkpoint().inclusion_block, 5);
        }

        let mut diverged = Replica::genesis(config);
        diverged.apply(&inputs, 6, &mut FaultSet::default(), |_, _| {
            Landing::Diverges("mismatch".into())
        });
        assert_eq!(diverged.divergence.as_deref(), Some("mismatch"));
        assert_eq!(
            diverged.history.len(),
            1,
            "no checkpoint after a divergence"
        );
    }
}

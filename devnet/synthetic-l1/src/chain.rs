//! The synthetic chain: blocks with seed-derived hashes, parent hashes and timestamps, the
//! application's InputBox inputs, a transaction pool, snapshots and reorgs.
//!
//! Every transaction of this chain adds exactly one input for the pinned application, so the
//! block list doubles as the InputBox.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use canonical::{Erc20Deposit, EvmAdvance, WalletConfig};

use super::SyntheticError;
use super::history::{Landed, Reorged, Replacement, ReplacementInput};

/// Seconds between blocks (one slot).
pub(crate) const BLOCK_TIME: u64 = 12;

/// One input as it landed on the synthetic chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedInput {
    /// The per-application input index.
    pub index: u64,
    /// The including block.
    pub block: u64,
    /// The transaction that added it.
    pub tx: B256,
    /// The transaction's signer (the depositor for portal deposits).
    pub from: Address,
    /// `msg.sender` of `addInput` (the ERC-20 portal for deposits).
    pub msg_sender: Address,
    /// The bytes given to `addInput`.
    pub payload: Bytes,
    /// The `EvmAdvance` calldata the machine receives.
    pub raw: Bytes,
}

/// A transaction waiting for the next block.
#[derive(Debug, Clone)]
pub(crate) struct PendingTx {
    pub(crate) hash: B256,
    pub(crate) from: Address,
    pub(crate) msg_sender: Address,
    pub(crate) payload: Bytes,
}

/// A mined block.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) number: u64,
    pub(crate) hash: B256,
    pub(crate) parent_hash: B256,
    pub(crate) timestamp: u64,
    pub(crate) prev_randao: B256,
    /// Inputs in transaction order (one per transaction).
    pub(crate) inputs: Vec<LandedInput>,
}

/// What a snapshot keeps.
#[derive(Debug, Clone)]
struct Saved {
    blocks: Vec<Block>,
    pending: Vec<PendingTx>,
}

/// The chain state behind the server's lock.
#[derive(Debug)]
pub(crate) struct Chain {
    seed: u64,
    pub(crate) config: WalletConfig,
    pub(crate) app: Address,
    pub(crate) input_box: Address,
    pub(crate) blocks: Vec<Block>,
    pub(crate) pending: Vec<PendingTx>,
    pub(crate) automine: bool,
    /// Monotonic across snapshots and reorgs, so a re-mined height never repeats a hash.
    serial: u64,
    snapshots: Vec<(u64, Saved)>,
    next_snapshot: u64,
    /// `eth_sendTransaction` calls accepted.
    pub(crate) sends: u64,
}

impl Chain {
    /// A chain holding only genesis.
    pub(crate) fn new(seed: u64, config: WalletConfig, app: Address, input_box: Address) -> Self {
        let mut chain = Self {
            seed,
            config,
            app,
            input_box,
            blocks: Vec::new(),
            pending: Vec::new(),
            automine: false,
            serial: 0,
            snapshots: Vec::new(),
            next_snapshot: 1,
            sends: 0,
        };
        chain.seal(Vec::new());
        chain
    }

    fn derive(&self, label: &str, parts: &[&[u8]]) -> B256 {
        let mut bytes = b"devnet/synthetic-l1/".to_vec();
        bytes.extend_from_slice(label.as_bytes());
        bytes.extend_from_slice(&self.seed.to_be_bytes());
        for part in parts {
            bytes.extend_from_slice(part);
        }
        keccak256(bytes)
    }

    /// The timestamp of block `number`: a seed-derived genesis time plus one slot per block.
    fn timestamp(&self, number: u64) -> u64 {
        let word = self.derive("genesis-time", &[]);
        let offset = u64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
        1_700_000_000 + offset % 10_000_000 + number * BLOCK_TIME
    }

    /// The newest block number.
    pub(crate) fn latest(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    /// The next InputBox index.
    pub(crate) fn next_index(&self) -> u64 {
        self.blocks.iter().map(|b| b.inputs.len() as u64).sum()
    }

    /// `getNumberOfInputs(app)` at the end of block `number`.
    pub(crate) fn count_at(&self, number: u64) -> u64 {
        self.blocks
            .iter()
            .take_while(|b| b.number <= number)
            .map(|b| b.inputs.len() as u64)
            .sum()
    }

    /// The block with this hash.
    pub(crate) fn by_hash(&self, hash: &B256) -> Option<&Block> {
        self.blocks.iter().find(|b| &b.hash == hash)
    }

    /// Mines one block holding `txs`, in order.
    fn seal(&mut self, txs: Vec<PendingTx>) {
        self.serial += 1;
        let number = self.blocks.len() as u64;
        let parent_hash = self.blocks.last().map_or(B256::ZERO, |b| b.hash);
        let timestamp = self.timestamp(number);
        let serial = self.serial.to_be_bytes();
        let prev_randao = self.derive("prev-randao", &[&number.to_be_bytes(), &serial]);
        let mut inputs = Vec::with_capacity(txs.len());
        for (index, tx) in (self.next_index()..).zip(txs) {
            let raw = EvmAdvance {
                chain_id: self.config.chain_id,
                app_contract: self.app,
                msg_sender: tx.msg_sender,
                block_number: number,
                block_timestamp: U256::from(timestamp),
                prev_randao: U256::from_be_bytes(prev_randao.0),
                index: U256::from(index),
                payload: tx.payload.clone(),
            }
            .encode();
            inputs.push(LandedInput {
                index,
                block: number,
                tx: tx.hash,
                from: tx.from,
                msg_sender: tx.msg_sender,
                payload: tx.payload,
                raw: raw.into(),
            });
        }
        let tx_hashes: Vec<u8> = inputs.iter().flat_map(|i| i.tx.0).collect();
        let hash = self.derive(
            "block",
            &[
                &number.to_be_bytes(),
                parent_hash.as_slice(),
                &serial,
                prev_randao.as_slice(),
                &tx_hashes,
            ],
        );
        self.blocks.push(Block {
            number,
            hash,
            parent_hash,
            timestamp,
            prev_randao,
            inputs,
        });
    }

    /// Mines `blocks` blocks; the first takes every pending transaction.
    pub(crate) fn mine(&mut self, blocks: u64) {
        for _ in 0..blocks {
            let txs = std::mem::take(&mut self.pending);
            self.seal(txs);
        }
    }

    /// Queues a transaction adding `payload` as `msg_sender`, signed by `from`; mines it at
    /// once under automine.
    pub(crate) fn submit(&mut self, from: Address, msg_sender: Address, payload: Bytes) -> B256 {
        self.serial += 1;
        let hash = self.derive("tx", &[&self.serial.to_be_bytes()]);
        self.pending.push(PendingTx {
            hash,
            from,
            msg_sender,
            payload,
        });
        if self.automine {
            self.mine(1);
        }
        hash
    }

    /// The payload of an ERC-20 portal deposit of the supported token, as the portal builds it.
    pub(crate) fn deposit_payload(&self, depositor: Address, amount: U256) -> Bytes {
        Erc20Deposit {
            token: self.config.supported_erc20_token,
            depositor,
            value: amount,
            exec_layer_data: Bytes::new(),
        }
        .encode()
        .into()
    }

    /// `(from, msg.sender, payload)` of an ERC-20 portal deposit.
    pub(crate) fn deposit_tx(&self, depositor: Address, amount: U256) -> (Address, Address, Bytes) {
        (
            depositor,
            self.config.erc20_portal_address,
            self.deposit_payload(depositor, amount),
        )
    }

    /// `(from, msg.sender, payload)` of a replacement input.
    fn replacement_tx(&self, input: &ReplacementInput) -> (Address, Address, Bytes) {
        match input {
            ReplacementInput::Deposit { depositor, amount } => self.deposit_tx(*depositor, *amount),
            ReplacementInput::Direct { sender, payload } => (*sender, *sender, payload.clone()),
        }
    }

    /// Submits and makes sure the transaction is mined (mining one block if automine is off).
    pub(crate) fn submit_and_mine(
        &mut self,
        from: Address,
        msg_sender: Address,
        payload: Bytes,
    ) -> Landed {
        let tx = self.submit(from, msg_sender, payload);
        if !self.automine {
            self.mine(1);
        }
        let input = self
            .blocks
            .iter()
            .rev()
            .flat_map(|b| &b.inputs)
            .find(|i| i.tx == tx);
        match input {
            Some(input) => Landed {
                index: input.index,
                block: input.block,
                tx,
            },
            // Unreachable: the block just mined holds every pending transaction.
            None => Landed {
                index: self.next_index().saturating_sub(1),
                block: self.latest(),
                tx,
            },
        }
    }

    /// Takes a snapshot; [`revert`](Self::revert) returns to it.
    pub(crate) fn snapshot(&mut self) -> u64 {
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.push((
            id,
            Saved {
                blocks: self.blocks.clone(),
                pending: self.pending.clone(),
            },
        ));
        id
    }

    /// Returns to snapshot `id`, forgetting it and every later one (as anvil does).
    pub(crate) fn revert(&mut self, id: u64) -> Result<(), SyntheticError> {
        let at = self
            .snapshots
            .iter()
            .position(|(known, _)| *known == id)
            .ok_or(SyntheticError::UnknownSnapshot(id))?;
        let (_, saved) = self.snapshots.swap_remove(at);
        self.snapshots.truncate(at);
        self.blocks = saved.blocks;
        self.pending = saved.pending;
        Ok(())
    }

    /// Replaces the newest `depth` blocks with `depth` new ones holding `replacements` (each
    /// in the block at its offset from the first replaced height); the old blocks'
    /// transactions are gone, the pool is untouched.
    pub(crate) fn reorg(
        &mut self,
        depth: u64,
        replacements: &[Replacement],
    ) -> Result<Reorged, SyntheticError> {
        let latest = self.latest();
        if depth == 0 || depth > latest {
            return Err(SyntheticError::DepthOutOfRange { depth, latest });
        }
        if let Some(bad) = replacements.iter().find(|r| r.offset >= depth) {
            return Err(SyntheticError::OffsetOutOfRange {
                offset: bad.offset,
                depth,
            });
        }
        let from_block = latest - depth + 1;
        let kept = usize::try_from(from_block).unwrap_or(usize::MAX);
        let old = self.blocks[kept..].iter().map(|b| b.hash).collect();
        self.blocks.truncate(kept);
        for offset in 0..depth {
            let mut txs = Vec::new();
            for replacement in replacements.iter().filter(|r| r.offset == offset) {
                txs.push(self.replacement(&replacement.input));
            }
            self.seal(txs);
        }
        let new = self.blocks[kept..].iter().map(|b| b.hash).collect();
        Ok(Reorged {
            from_block,
            old,
            new,
        })
    }

    /// A new transaction (fresh hash) for a replacement input.
    fn replacement(&mut self, input: &ReplacementInput) -> PendingTx {
        let (from, msg_sender, payload) = self.replacement_tx(input);
        self.serial += 1;
        let hash = self.derive("tx", &[&self.serial.to_be_bytes()]);
        PendingTx {
            hash,
            from,
            msg_sender,
            payload,
        }
    }

    /// Rewrites blocks `from..=latest` keeping the height: every transaction is replayed in
    /// its block with its hash, except those in `replace` (swapped for a new transaction, or
    /// dropped for `None`); `extra` adds transactions at block offsets from `from`. Input
    /// indices are renumbered in the new order; every rewritten block gets a new hash.
    pub(crate) fn rewrite(
        &mut self,
        from: u64,
        replace: &[(B256, Option<ReplacementInput>)],
        extra: &[Replacement],
    ) -> Result<Reorged, SyntheticError> {
        let latest = self.latest();
        if from == 0 || from > latest {
            return Err(SyntheticError::DepthOutOfRange {
                depth: latest.saturating_sub(from).saturating_add(1),
                latest,
            });
        }
        let depth = latest - from + 1;
        if let Some(bad) = extra.iter().find(|r| r.offset >= depth) {
            return Err(SyntheticError::OffsetOutOfRange {
                offset: bad.offset,
                depth,
            });
        }
        let kept = usize::try_from(from).unwrap_or(usize::MAX);
        let old_blocks = self.blocks.split_off(kept);
        let old = old_blocks.iter().map(|b| b.hash).collect();
        for (offset, block) in (0..).zip(old_blocks) {
            let mut txs = Vec::new();
            for input in block.inputs {
                match replace.iter().find(|(hash, _)| *hash == input.tx) {
                    Some((_, Some(replacement))) => txs.push(self.replacement(replacement)),
                    Some((_, None)) => {}
                    None => txs.push(PendingTx {
                        hash: input.tx,
                        from: input.from,
                        msg_sender: input.msg_sender,
                        payload: input.payload,
                    }),
                }
            }
            for r in extra.iter().filter(|r| r.offset == offset) {
                txs.push(self.replacement(&r.input));
            }
            self.seal(txs);
        }
        let new = self.blocks[kept..].iter().map(|b| b.hash).collect();
        Ok(Reorged {
            from_block: from,
            old,
            new,
        })
    }

    /// Forgets every unmined transaction; returns how many.
    pub(crate) fn drop_pending(&mut self) -> usize {
        std::mem::take(&mut self.pending).len()
    }

    /// Transactions `who` signed in blocks up to `block` (and in the pool, with `pending`).
    pub(crate) fn nonce(&self, who: Address, block: u64, pending: bool) -> u64 {
        let mined = self
            .blocks
            .iter()
            .take_while(|b| b.number <= block)
            .flat_map(|b| &b.inputs)
            .filter(|i| i.from == who)
            .count() as u64;
        let queued = if pending {
            self.pending.iter().filter(|p| p.from == who).count() as u64
        } else {
            0
        };
        mined + queued
    }

    /// Every input of blocks `..= block`, in index order.
    pub(crate) fn inputs_up_to(&self, block: u64) -> Vec<LandedInput> {
        self.blocks
            .iter()
            .take_while(|b| b.number <= block)
            .flat_map(|b| b.inputs.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devnet_pins::addresses::{APPLICATION, INPUT_BOX};

    fn chain(seed: u64) -> Chain {
        Chain::new(seed, WalletConfig::devnet(), APPLICATION, INPUT_BOX)
    }

    #[test]
    fn hashes_chain_and_depend_on_the_seed() {
        let mut a = chain(1);
        a.mine(3);
        for pair in a.blocks.windows(2) {
            assert_eq!(pair[1].parent_hash, pair[0].hash);
            assert_eq!(pair[1].timestamp, pair[0].timestamp + BLOCK_TIME);
        }
        let mut b = chain(1);
        b.mine(3);
        assert_eq!(a.blocks[3].hash, b.blocks[3].hash, "same seed, same chain");
        let mut c = chain(2);
        c.mine(3);
        assert_ne!(a.blocks[3].hash, c.blocks[3].hash, "another seed");
    }

    #[test]
    fn reorgs_rewrite_hashes_and_inputs_and_reverts_restore() {
        let mut chain = chain(7);
        let alice = Address::repeat_byte(0xa1);
        chain.mine(2);
        let snapshot = chain.snapshot();
        let landed = chain.submit_and_mine(
            alice,
            chain.config.erc20_portal_address,
            chain.deposit_payload(alice, U256::from(600_000u64)),
        );
        assert_eq!((landed.index, landed.block), (0, 3));
        chain.mine(3);
        let before = chain.blocks[3].clone();
        let reorged = chain
            .reorg(
                4,
                &[Replacement {
                    offset: 0,
                    input: ReplacementInput::Deposit {
                        depositor: alice,
                        amount: U256::from(500_000u64),
                    },
                }],
            )
            .unwrap();
        assert_eq!(reorged.from_block, 3);
        assert_eq!(chain.latest(), 6);
        assert!(reorged.old.iter().zip(&reorged.new).all(|(o, n)| o != n));
        let after = &chain.blocks[3];
        assert_eq!(after.inputs[0].index, 0);
        assert_ne!(after.inputs[0].payload, before.inputs[0].payload);
        assert_eq!(chain.count_at(6), 1);

        assert!(chain.reorg(7, &[]).is_err(), "genesis stays");
        assert!(
            chain
                .reorg(
                    1,
                    &[Replacement {
                        offset: 1,
                        input: ReplacementInput::Direct {
                            sender: alice,
                            payload: Bytes::new()
                        }
                    }]
                )
                .is_err()
        );

        let kept = chain.submit_and_mine(alice, alice, Bytes::from_static(b"kept"));
        let swapped = chain.submit_and_mine(alice, alice, Bytes::from_static(b"swapped"));
        let rewritten = chain
            .rewrite(
                kept.block,
                &[(
                    swapped.tx,
                    Some(ReplacementInput::Direct {
                        sender: alice,
                        payload: Bytes::from_static(b"new"),
                    }),
                )],
                &[],
            )
            .unwrap();
        assert_eq!(rewritten.from_block, kept.block);
        assert!(
            rewritten
                .old
                .iter()
                .zip(&rewritten.new)
                .all(|(o, n)| o != n)
        );
        let inputs = chain.inputs_up_to(chain.latest());
        assert_eq!(
            inputs[kept.index as usize].tx, kept.tx,
            "replayed, same hash"
        );
        assert_ne!(inputs[swapped.index as usize].tx, swapped.tx);
        assert_eq!(&inputs[swapped.index as usize].payload[..], b"new");
        assert!(chain.rewrite(0, &[], &[]).is_err(), "genesis stays");

        chain.revert(snapshot).unwrap();
        assert_eq!(chain.latest(), 2);
        assert_eq!(chain.next_index(), 0);
        assert!(chain.revert(snapshot).is_err(), "a snapshot is used once");
    }
}

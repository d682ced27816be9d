//! Batch submission: `InputBox.addInput(app, ssz(batch))` from the submitter account through
//! `eth_sendTransaction` (the account is unlocked on anvil), in nonce order, re-sent when the
//! node forgot the transaction.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider as _;
use alloy::sol_types::SolCall as _;
use anyhow::{Context as _, Result};
use cartesi_rollups_contracts::input_box::InputBox;
use serde::Serialize;

use super::frames::SealedBatch;
use super::reader::L1;

#[derive(Debug, Clone)]
struct Pending {
    bytes: Bytes,
    tx: Option<B256>,
    sent_at: u64,
}

/// The transaction object of `eth_sendTransaction`.
#[derive(Debug, Clone, Serialize)]
struct SendTx {
    from: Address,
    to: Address,
    data: Bytes,
}

/// Counters for the status route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SubmitStats {
    /// Transactions sent (re-sends included).
    pub(crate) sent: u64,
    /// Re-sends of forgotten transactions.
    pub(crate) resent: u64,
    /// Sealed batches not yet accepted on L1.
    pub(crate) in_flight: usize,
}

/// Posts sealed batches.
#[derive(Debug)]
pub(crate) struct Submitter {
    app: Address,
    from: Address,
    resubmit_after: u64,
    queue: BTreeMap<u64, Pending>,
    stats: SubmitStats,
}

impl Submitter {
    pub(crate) fn new(app: Address, from: Address, resubmit_after: u64) -> Self {
        Self {
            app,
            from,
            resubmit_after,
            queue: BTreeMap::new(),
            stats: SubmitStats::default(),
        }
    }

    pub(crate) fn enqueue(&mut self, batch: SealedBatch) {
        self.queue.insert(
            batch.nonce,
            Pending {
                bytes: batch.bytes,
                tx: None,
                sent_at: 0,
            },
        );
        self.stats.in_flight = self.queue.len();
    }

    pub(crate) fn stats(&self) -> SubmitStats {
        self.stats
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Forgets batches below `accepted_below` (landed and accepted), sends unsent ones and
    /// re-sends those the node no longer knows `resubmit_after` blocks after sending. Stops at
    /// the first failure so that batches keep their order.
    pub(crate) async fn pump(&mut self, l1: &L1, head: u64, accepted_below: u64) -> Result<()> {
        self.queue.retain(|&nonce, _| nonce >= accepted_below);
        self.stats.in_flight = self.queue.len();
        let nonces: Vec<u64> = self.queue.keys().copied().collect();
        for nonce in nonces {
            let Some(pending) = self.queue.get(&nonce).cloned() else {
                continue;
            };
            let resend = match pending.tx {
                None => true,
                Some(tx) if head >= pending.sent_at.saturating_add(self.resubmit_after) => {
                    let forgotten = !self.known(l1, tx).await?;
                    if forgotten {
                        tracing::warn!(target: "devnet::sequencer", nonce, %tx, "batch transaction forgotten, re-sending");
                        self.stats.resent += 1;
                    }
                    forgotten
                }
                Some(_) => false,
            };
            if resend {
                let tx = self.send(l1, &pending.bytes).await?;
                tracing::info!(target: "devnet::sequencer", nonce, %tx, bytes = pending.bytes.len(), "batch sent");
                self.stats.sent += 1;
                if let Some(entry) = self.queue.get_mut(&nonce) {
                    entry.tx = Some(tx);
                    entry.sent_at = head;
                }
            }
        }
        Ok(())
    }

    async fn send(&self, l1: &L1, payload: &Bytes) -> Result<B256> {
        let call = InputBox::addInputCall {
            appContract: self.app,
            payload: payload.clone(),
        };
        let tx = SendTx {
            from: self.from,
            to: l1.input_box(),
            data: call.abi_encode().into(),
        };
        l1.provider()
            .client()
            .request("eth_sendTransaction", (tx,))
            .await
            .context("eth_sendTransaction addInput")
    }

    async fn known(&self, l1: &L1, tx: B256) -> Result<bool> {
        let found: Option<serde_json::Value> = l1
            .provider()
            .client()
            .request("eth_getTransactionByHash", (tx,))
            .await
            .context("eth_getTransactionByHash")?;
        Ok(found.is_some())
    }
}

//! Workloads of the harness: portal deposits and direct inputs on the L1, signed transfers
//! and withdrawals through the sequencer, and the settle pump that mines until they are
//! finalized.

use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, U256};
use anyhow::{Result, bail};
use canonical::Method;
use devnet_pins::ANVIL_ADDRESSES;
use sequencer_client::TxRequest;

use super::Harness;
use crate::deploy::{Caps, Landed, ReplacementInput};

impl Harness {
    /// Deposits `amount` for account `who` through the portal; returns its block.
    pub async fn deposit(&self, who: usize, amount: u64) -> Result<u64> {
        Ok(self.deposit_input(who, amount).await?.block)
    }

    /// Deposits `amount` for account `who` through the portal; returns where it landed.
    /// Fails with [`NeedsCap`](super::NeedsCap) (`L1Inputs`) on an attached L1.
    pub async fn deposit_input(&self, who: usize, amount: u64) -> Result<Landed> {
        self.need("deposits", Caps::L1_INPUTS)?;
        Ok(self
            .net
            .l1()
            .deposit_erc20(ANVIL_ADDRESSES[who], U256::from(amount))
            .await?)
    }

    /// Adds a direct input from account `from` (same capability as deposits).
    pub async fn add_input(&self, from: usize, payload: Vec<u8>) -> Result<Landed> {
        self.need("direct inputs", Caps::L1_INPUTS)?;
        Ok(self
            .net
            .l1()
            .direct_input(ANVIL_ADDRESSES[from], Bytes::from(payload))
            .await?)
    }

    /// A portal deposit of `amount` by account `who`, as a replacement for
    /// [`rewrite_blocks`](Self::rewrite_blocks).
    pub fn deposit_tx(&self, who: usize, amount: u64) -> ReplacementInput {
        ReplacementInput::Deposit {
            depositor: ANVIL_ADDRESSES[who],
            amount: U256::from(amount),
        }
    }

    /// Signs `method` for account `from` with the sequencer's nonce and suggested max fee.
    pub async fn signed(&self, from: usize, method: &Method) -> Result<TxRequest> {
        devnet_stack::ops::sign_op(&self.client, self.app, self.chain_id, from, method).await
    }

    /// Sends `amount` from `from` to `to` and waits until it is finalized.
    pub async fn transfer(&mut self, from: usize, to: usize, amount: u64) -> Result<u64> {
        let method = Method::Transfer {
            amount: U256::from(amount),
            to: ANVIL_ADDRESSES[to],
        };
        let tx = self.signed(from, &method).await?;
        self.submit_and_settle(&[tx]).await
    }

    /// Withdraws `amount` for `from` and waits until it is finalized.
    pub async fn withdraw(&mut self, from: usize, amount: u64) -> Result<u64> {
        let tx = self
            .signed(
                from,
                &Method::Withdrawal {
                    amount: U256::from(amount),
                },
            )
            .await?;
        self.submit_and_settle(&[tx]).await
    }

    /// Submits every op (retrying while funds wait to be drained into a frame), then mines
    /// until the finalized block moves past the previous one.
    pub async fn submit_and_settle(&mut self, txs: &[TxRequest]) -> Result<u64> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut accepted = vec![false; txs.len()];
        loop {
            if Instant::now() > deadline {
                bail!(
                    "nothing finalized past block {} within 90 s",
                    self.finalized
                );
            }
            for (tx, done) in txs.iter().zip(accepted.iter_mut()) {
                if !*done {
                    *done = self.client.submit_tx(tx).await.is_ok();
                }
            }
            let point = self.client.inclusion_block().await?;
            if accepted.iter().all(|a| *a) && point.inclusion_block > self.finalized {
                self.finalized = point.inclusion_block;
                return Ok(point.inclusion_block);
            }
            self.mine(1).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Mines until the finalized block moves past the previous one (e.g. after a deposit).
    pub async fn settle(&mut self) -> Result<u64> {
        self.submit_and_settle(&[]).await
    }
}

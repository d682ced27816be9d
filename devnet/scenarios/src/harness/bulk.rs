//! Bulk direct inputs: many `addInput`s packed into few L1 blocks (mining paused while they
//! queue), on anvil (local or in its container) and on the synthetic L1 alike.

use alloy::network::TransactionBuilder as _;
use alloy::primitives::Bytes;
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall as _;
use anyhow::{Context, Result, bail};
use cartesi_rollups_contracts::input_box::InputBox;
use devnet_pins::ANVIL_ADDRESSES;
use devnet_stack::Devnet;
use futures_util::future::try_join_all;

use super::Harness;
use crate::deploy::Caps;

/// Gas limit of one bulk `addInput` (about 61 000 used).
const BULK_GAS: u64 = 100_000;
/// Max fee of one bulk `addInput` (wei; anvil's base fee stays near 1 gwei).
const BULK_MAX_FEE: u128 = 50_000_000_000;

/// Accounts that send bulk inputs in parallel (not the deployer, Alice, Bob, the direct-input
/// account or the batch submitter).
const SENDERS: [usize; 5] = [3, 4, 5, 6, 7];

impl Harness {
    /// Adds `per_block` direct inputs to each of `blocks` new L1 blocks (8-byte payloads that
    /// the application ignores), checks that they all landed and returns the last block.
    pub async fn add_inputs(&self, per_block: usize, blocks: u64) -> Result<u64> {
        let before = self.input_count().await?;
        for block in 0..blocks {
            let payloads: Vec<Vec<u8>> = (0..per_block)
                .map(|i| {
                    let mut payload = block.to_be_bytes().to_vec();
                    payload[0] = 0xb0;
                    payload.extend_from_slice(&u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes());
                    payload
                })
                .collect();
            self.fill_block(payloads).await?;
        }
        // The batch submitter may post batches meanwhile: at least ours landed.
        let expected = before + blocks * per_block as u64;
        let after = self.input_count().await?;
        if after < expected {
            bail!("{after} inputs on L1 after a bulk add, expected at least {expected}");
        }
        self.block_number().await
    }

    /// Mines (settling) until the sequencer's finalized block reaches `block`; returns it.
    pub async fn settle_through(&mut self, block: u64) -> Result<u64> {
        while self.finalized < block {
            self.settle().await?;
        }
        Ok(self.finalized)
    }

    /// Queues `payloads` as direct inputs with mining paused, then mines one block.
    async fn fill_block(&self, payloads: Vec<Vec<u8>>) -> Result<()> {
        if let Some(synthetic) = self.deployment().synthetic() {
            synthetic.set_automine(false);
            for (i, payload) in payloads.into_iter().enumerate() {
                synthetic.queue_direct(ANVIL_ADDRESSES[SENDERS[i % SENDERS.len()]], payload);
            }
            synthetic.mine(1);
            synthetic.set_automine(true);
            return Ok(());
        }
        // anvil (local or in its container): it signs the requests for its accounts.
        self.need("bulk direct inputs", Caps::MINING | Caps::L1_INPUTS)?;
        let node = self.deployment().l1();
        let provider = self
            .deployment()
            .devnet()
            .map_or(&self.l1, Devnet::provider);
        node.set_automine(false).await?;
        let mut lanes: Vec<Vec<Vec<u8>>> = vec![Vec::new(); SENDERS.len()];
        for (i, payload) in payloads.into_iter().enumerate() {
            lanes[i % SENDERS.len()].push(payload);
        }
        let sent = try_join_all(
            lanes
                .into_iter()
                .zip(SENDERS)
                .map(|(lane, who)| self.send_lane(provider, who, lane)),
        )
        .await;
        node.mine(1).await.context("mining the bulk block")?;
        node.set_automine(true).await?;
        sent.map(drop)
    }

    /// Sends `payloads` as `addInput`s from account `who`, one request each: nonce, gas and
    /// fees are set here, so the provider asks nothing else.
    async fn send_lane(
        &self,
        provider: &DynProvider,
        who: usize,
        payloads: Vec<Vec<u8>>,
    ) -> Result<()> {
        let from = ANVIL_ADDRESSES[who];
        let mut nonce = provider
            .get_transaction_count(from)
            .pending()
            .await
            .context("eth_getTransactionCount")?;
        for payload in payloads {
            let call = InputBox::addInputCall {
                appContract: self.app,
                payload: Bytes::from(payload),
            };
            let tx = TransactionRequest::default()
                .with_from(from)
                .with_to(self.deployment().input_box())
                .with_input(call.abi_encode())
                .with_nonce(nonce)
                .with_chain_id(self.chain_id)
                .with_gas_limit(BULK_GAS)
                .with_max_fee_per_gas(BULK_MAX_FEE)
                .with_max_priority_fee_per_gas(0);
            drop(
                provider
                    .send_transaction(tx)
                    .await
                    .context("sending addInput")?,
            );
            nonce += 1;
        }
        Ok(())
    }
}

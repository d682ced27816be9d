//! Wallet operations for the sequencer: an op signed for an anvil default account with the
//! sequencer's next nonce and suggested max fee, as the scenario harness and `devnet tx` send
//! them.

use alloy::primitives::Address;
use anyhow::{Context as _, Result, anyhow};
use canonical::{InputBuilder, Method, WalletConfig};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS};
use sequencer_client::{SequencerClient, TxRequest};

/// Signs `method` for anvil account `account` (0..=9) of application `app` on chain
/// `chain_id` (the L1's, which the sequencer's `/domain` names and which need not be the wallet
/// configuration's; callers read it once), with the nonce `/nonce` names next and the max fee
/// `/fee` suggests.
pub async fn sign_op(
    client: &SequencerClient,
    app: Address,
    chain_id: u64,
    account: usize,
    method: &Method,
) -> Result<TxRequest> {
    let (sender, key) = ANVIL_ADDRESSES
        .get(account)
        .zip(ANVIL_KEYS.get(account))
        .ok_or_else(|| anyhow!("no anvil account {account}"))?;
    let nonce = client.next_nonce(*sender).await?.next_nonce;
    let max_fee = client.fee().await?.suggested_max_fee;
    let mut builder = InputBuilder::new(WalletConfig::devnet(), app);
    builder.chain_id = chain_id;
    let op = builder
        .sign(key, nonce, max_fee, method)
        .context("signing")?;
    Ok(TxRequest {
        nonce,
        max_fee,
        data: op.data,
        signature: op.signature,
        sender: *sender,
    })
}

//! The devnet stack as an RAII value: anvil plus the deployed contracts, with helpers for the
//! L1 actions tests need (deposits through the portal, direct inputs, mining).

use std::path::PathBuf;
use std::time::Duration;

use alloy::network::{EthereumWallet, TransactionBuilder as _};
use alloy::primitives::{Address, B256, Bytes, TxHash, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall as _;
use anyhow::{Context, Result, anyhow, ensure};
use cartesi_rollups_contracts::{
    erc20_portal::Erc20Portal, input_box::InputBox, test_usdc::TestUsdc,
};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS, TOKEN_DEPLOYER_KEY};

use crate::anvil::{Anvil, AnvilOptions};
use crate::contracts::{self, Deployment, send};

/// An input as the InputBox announced it (`InputAdded`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedInput {
    /// The per-application input index.
    pub index: u64,
    /// The block that included it.
    pub block_number: u64,
    /// The transaction that added it.
    pub transaction_hash: TxHash,
    /// The `EvmAdvance` calldata the machine receives.
    pub input: Bytes,
}

/// Options for [`Devnet::start`].
#[derive(Clone, Debug, Default)]
pub struct DevnetBuilder {
    anvil: AnvilOptions,
}

impl DevnetBuilder {
    /// Uses this anvil binary instead of `$DEVNET_ANVIL_BIN` or the pinned install.
    pub fn anvil_bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.anvil.bin = Some(bin.into());
        self
    }

    /// Mines a block every `secs` seconds instead of on every transaction.
    pub fn block_time(mut self, secs: u64) -> Self {
        self.anvil.block_time = Some(secs);
        self
    }

    /// Starts anvil with this chain id instead of the devnet's 31337 (the contracts land at
    /// the same addresses: they are deployed through CREATE2).
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.anvil.chain_id = chain_id;
        self
    }

    /// Writes anvil's output to this file instead of a temporary one.
    pub fn anvil_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.anvil.log_path = Some(path.into());
        self
    }

    /// Sets an environment variable for the anvil child (on top of the scrubbed environment).
    pub fn anvil_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.anvil.env.push((key.into(), value.into()));
        self
    }

    /// The readiness deadline of anvil.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.anvil.ready_timeout = timeout;
        self
    }

    /// Starts anvil and deploys the contracts, the token and the application.
    pub async fn start(self) -> Result<Devnet> {
        let anvil = Anvil::spawn(self.anvil).await?;
        let provider = ProviderBuilder::new()
            .wallet(wallet()?)
            .connect_http(anvil.endpoint_url().clone())
            .erased();
        let deployment = contracts::deploy(&provider).await?;
        Ok(Devnet {
            anvil,
            provider,
            deployment,
        })
    }
}

/// A running devnet L1: anvil with the Rollups contracts, the token and the application.
/// Dropping it kills anvil.
#[derive(Debug)]
pub struct Devnet {
    anvil: Anvil,
    provider: DynProvider,
    deployment: Deployment,
}

impl Devnet {
    /// Options for starting a devnet.
    pub fn builder() -> DevnetBuilder {
        DevnetBuilder::default()
    }

    /// Starts a devnet with the default options (automine).
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// The anvil process.
    pub fn anvil(&self) -> &Anvil {
        &self.anvil
    }

    /// The L1 JSON-RPC endpoint.
    pub fn rpc_url(&self) -> &str {
        self.anvil.endpoint()
    }

    /// The deployed addresses.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// A provider that signs for the ten anvil accounts and the token deployer (pick the
    /// signer with the transaction's `from`).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The address of anvil default account `index` (0..=9); see [`pins::roles`](devnet_pins::roles).
    pub fn account(index: usize) -> Result<Address> {
        ANVIL_ADDRESSES
            .get(index)
            .copied()
            .ok_or_else(|| anyhow!("no anvil account {index}"))
    }

    /// The current block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .context("eth_blockNumber")
    }

    /// Mines `blocks` blocks.
    pub async fn mine(&self, blocks: u64) -> Result<()> {
        self.anvil.mine(blocks).await
    }

    /// Takes an L1 snapshot (`anvil_snapshot`); [`revert`](Self::revert) returns to it.
    pub async fn snapshot(&self) -> Result<U256> {
        self.provider
            .anvil_snapshot()
            .await
            .context("anvil_snapshot")
    }

    /// Reverts the L1 to a snapshot; fails if the snapshot is unknown.
    pub async fn revert(&self, id: U256) -> Result<()> {
        let reverted = self
            .provider
            .anvil_revert(id)
            .await
            .context("anvil_revert")?;
        ensure!(reverted, "anvil has no snapshot {id}");
        Ok(())
    }

    /// Replaces the newest `depth` blocks with as many empty ones (`anvil_reorg`): the
    /// transactions of those blocks are gone, and the tip hashes change.
    pub async fn reorg(&self, depth: u64) -> Result<()> {
        let options = alloy::rpc::types::anvil::ReorgOptions {
            depth,
            tx_block_pairs: Vec::new(),
        };
        self.provider
            .anvil_reorg(options)
            .await
            .context("anvil_reorg")
    }

    /// Drops the newest `depth` blocks (`anvil_rollback`).
    pub async fn rollback(&self, depth: u64) -> Result<()> {
        self.provider
            .anvil_rollback(Some(depth))
            .await
            .context("anvil_rollback")
    }

    /// Turns mining on every transaction on or off.
    pub async fn set_automine(&self, enabled: bool) -> Result<()> {
        self.provider
            .anvil_set_auto_mine(enabled)
            .await
            .context("evm_setAutomine")
    }

    /// The application's number of inputs (`InputBox.getNumberOfInputs`) at the latest block.
    pub async fn input_count(&self) -> Result<u64> {
        let input_box = InputBox::new(self.deployment.input_box, &self.provider);
        let count = input_box
            .getNumberOfInputs(self.deployment.application)
            .call()
            .await
            .context("InputBox.getNumberOfInputs")?;
        u64::try_from(count).context("input count does not fit in u64")
    }

    /// The token balance of `holder`.
    pub async fn token_balance(&self, holder: Address) -> Result<U256> {
        let token = TestUsdc::new(self.deployment.token, &self.provider);
        token
            .balanceOf(holder)
            .call()
            .await
            .context("token balanceOf")
    }

    /// Mints `amount` tokens to `to` (the token's mint is open; account 0 pays).
    pub async fn mint(&self, to: Address, amount: U256) -> Result<()> {
        let call = TestUsdc::mint_0Call { to, value: amount };
        self.transact(
            ANVIL_ADDRESSES[0],
            self.deployment.token,
            call.abi_encode(),
            "mint",
        )
        .await
        .map(drop)
    }

    /// Deposits `amount` tokens of `depositor` into the application through the ERC-20
    /// portal: mint, `approve(portal)`, `depositErc20Tokens(token, app, amount, data)`.
    /// Requires automine; returns the portal's input.
    pub async fn deposit_erc20(
        &self,
        depositor: Address,
        amount: U256,
        exec_layer_data: Bytes,
    ) -> Result<AddedInput> {
        let d = self.deployment;
        self.mint(depositor, amount).await?;
        let approve = TestUsdc::approveCall {
            spender: d.erc20_portal,
            value: amount,
        };
        self.transact(depositor, d.token, approve.abi_encode(), "approve")
            .await?;
        let deposit = Erc20Portal::depositErc20TokensCall {
            token: d.token,
            appContract: d.application,
            value: amount,
            execLayerData: exec_layer_data,
        };
        let receipt = self
            .transact(
                depositor,
                d.erc20_portal,
                deposit.abi_encode(),
                "depositErc20Tokens",
            )
            .await?;
        self.added_input(&receipt)
    }

    /// Adds a direct input from `from` and waits for it to be mined (requires automine).
    pub async fn add_input(&self, from: Address, payload: impl Into<Bytes>) -> Result<AddedInput> {
        let call = self.add_input_call(payload.into());
        let receipt = self
            .transact(
                from,
                self.deployment.input_box,
                call.abi_encode(),
                "addInput",
            )
            .await?;
        self.added_input(&receipt)
    }

    /// Sends an `addInput` from `from` without waiting for it to be mined (for filling blocks
    /// with automine off). Returns the transaction hash.
    pub async fn submit_add_input(
        &self,
        from: Address,
        payload: impl Into<Bytes>,
    ) -> Result<TxHash> {
        let call = self.add_input_call(payload.into());
        let tx = TransactionRequest::default()
            .with_from(from)
            .with_to(self.deployment.input_box)
            .with_input(call.abi_encode());
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .context("sending addInput")?;
        Ok(*pending.tx_hash())
    }

    /// Stops anvil (SIGTERM, then SIGKILL).
    pub async fn shutdown(self) -> Result<()> {
        // The provider's block poller (started by receipt waits) goes first, so it never polls
        // a stopped node.
        let Self {
            anvil, provider, ..
        } = self;
        drop(provider);
        tokio::task::yield_now().await;
        anvil.shutdown().await.map(drop)
    }

    fn add_input_call(&self, payload: Bytes) -> InputBox::addInputCall {
        InputBox::addInputCall {
            appContract: self.deployment.application,
            payload,
        }
    }

    async fn transact(
        &self,
        from: Address,
        to: Address,
        input: Vec<u8>,
        what: &str,
    ) -> Result<TransactionReceipt> {
        let tx = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(input);
        send(&self.provider, tx, what).await
    }

    /// The application's `InputAdded` in a receipt.
    fn added_input(&self, receipt: &TransactionReceipt) -> Result<AddedInput> {
        let log = receipt
            .logs()
            .iter()
            .filter(|log| log.address() == self.deployment.input_box)
            .find_map(|log| log.log_decode::<InputBox::InputAdded>().ok())
            .ok_or_else(|| anyhow!("no InputAdded in tx {}", receipt.transaction_hash))?;
        let event = &log.inner.data;
        ensure!(
            event.appContract == self.deployment.application,
            "InputAdded for {}, expected the application",
            event.appContract
        );
        Ok(AddedInput {
            index: u64::try_from(event.index).context("input index does not fit in u64")?,
            block_number: receipt
                .block_number
                .ok_or_else(|| anyhow!("receipt without a block number"))?,
            transaction_hash: receipt.transaction_hash,
            input: event.input.clone(),
        })
    }
}

/// A wallet holding the ten anvil default keys and the token deployer key.
fn wallet() -> Result<EthereumWallet> {
    let signer = |key: &B256| PrivateKeySigner::from_bytes(key).context("a pinned key is invalid");
    let mut wallet = EthereumWallet::from(signer(&ANVIL_KEYS[0])?);
    for key in ANVIL_KEYS.iter().skip(1).chain([&TOKEN_DEPLOYER_KEY]) {
        wallet.register_signer(signer(key)?);
    }
    Ok(wallet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use devnet_pins::TOKEN_DEPLOYER;

    #[test]
    fn pinned_keys_match_pinned_addresses() {
        for (key, address) in ANVIL_KEYS.iter().zip(ANVIL_ADDRESSES) {
            assert_eq!(
                PrivateKeySigner::from_bytes(key).unwrap().address(),
                address
            );
        }
        let deployer = PrivateKeySigner::from_bytes(&TOKEN_DEPLOYER_KEY).unwrap();
        assert_eq!(deployer.address(), TOKEN_DEPLOYER);
        assert!(!ANVIL_ADDRESSES.contains(&TOKEN_DEPLOYER));
    }

    #[test]
    fn the_wallet_signs_for_every_role() {
        let wallet = wallet().unwrap();
        let signers: Vec<Address> =
            alloy::network::NetworkWallet::<alloy::network::Ethereum>::signer_addresses(&wallet)
                .collect();
        assert_eq!(signers.len(), 11);
        assert!(signers.contains(&TOKEN_DEPLOYER));
    }
}

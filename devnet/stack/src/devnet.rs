//! The devnet stack as an RAII value: anvil plus the deployed contracts, with anvil's controls
//! (mining, snapshots, reorgs) here and the L1 actions tests need (mints, deposits through the
//! portal, direct inputs, input counts) on its [`L1Client`] ([`Devnet::l1`]).

use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _};
use anyhow::{Context, Result, anyhow, ensure};
use devnet_pins::ANVIL_ADDRESSES;

use crate::anvil::{Anvil, AnvilOptions};
use crate::contracts::{self, Deployment};
use crate::l1_client::{L1Client, wallet};

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

    /// Historical states anvil keeps, in memory only (`None`: anvil's default, which also
    /// writes evicted states to disk); see [`DEFAULT_STATE_HISTORY`](crate::DEFAULT_STATE_HISTORY).
    pub fn state_history(mut self, states: Option<usize>) -> Self {
        self.anvil.state_history = states;
        self
    }

    /// Where anvil may persist states (`--cache-path`).
    pub fn anvil_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.anvil.cache_dir = Some(dir.into());
        self
    }

    /// Resumes the chain of a state dump instead of starting at genesis; the deployment is
    /// then found in place (and checked against the pins) rather than made.
    pub fn load_state(mut self, path: impl Into<PathBuf>) -> Self {
        self.anvil.load_state = Some(path.into());
        self
    }

    /// Starts anvil and deploys the contracts, the token and the application (each only if
    /// its code is not there yet, as on a loaded state).
    pub async fn start(self) -> Result<Devnet> {
        let anvil = Anvil::spawn(self.anvil).await?;
        let l1 = deploy_on(anvil.endpoint_url().clone()).await?;
        Ok(Devnet { anvil, l1 })
    }
}

/// Deploys the contracts, the token and the application (each only if its code is not there
/// yet) on the anvil at `url`, one this process does not run (in a container, for example),
/// and returns the L1 actions on it.
pub async fn deploy_on(url: reqwest::Url) -> Result<L1Client> {
    let provider = alloy::providers::ProviderBuilder::new()
        .wallet(wallet()?)
        .connect_http(url.clone())
        .erased();
    let deployment = contracts::deploy(&provider).await?;
    L1Client::connect(url, deployment)
}

/// A running devnet L1: anvil with the Rollups contracts, the token and the application.
/// Dropping it kills anvil.
#[derive(Debug)]
pub struct Devnet {
    anvil: Anvil,
    l1: L1Client,
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
        self.l1.deployment()
    }

    /// A provider that signs for the ten anvil accounts and the token deployer (pick the
    /// signer with the transaction's `from`).
    pub fn provider(&self) -> &DynProvider {
        self.l1.provider()
    }

    /// The L1 actions on this devnet: mints, balances, deposits through the portal, direct
    /// inputs, the application's input count.
    pub fn l1(&self) -> &L1Client {
        &self.l1
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
        self.provider()
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
        self.provider()
            .anvil_snapshot()
            .await
            .context("anvil_snapshot")
    }

    /// Reverts the L1 to a snapshot; fails if the snapshot is unknown.
    pub async fn revert(&self, id: U256) -> Result<()> {
        let reverted = self
            .provider()
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
        self.provider()
            .anvil_reorg(options)
            .await
            .context("anvil_reorg")
    }

    /// Drops the newest `depth` blocks (`anvil_rollback`).
    pub async fn rollback(&self, depth: u64) -> Result<()> {
        self.provider()
            .anvil_rollback(Some(depth))
            .await
            .context("anvil_rollback")
    }

    /// Turns mining on every transaction on or off.
    pub async fn set_automine(&self, enabled: bool) -> Result<()> {
        self.provider()
            .anvil_set_auto_mine(enabled)
            .await
            .context("evm_setAutomine")
    }

    /// Stops anvil (SIGTERM, then SIGKILL).
    pub async fn shutdown(self) -> Result<()> {
        // The provider's block poller (started by receipt waits) goes first, so it never polls
        // a stopped node.
        let Self { anvil, l1 } = self;
        drop(l1);
        tokio::task::yield_now().await;
        anvil.shutdown().await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;
    use devnet_pins::{ANVIL_KEYS, TOKEN_DEPLOYER, TOKEN_DEPLOYER_KEY};

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

//! [`L1Client`]: the devnet's L1 actions (token mints, ERC-20 portal deposits, direct inputs)
//! signed for the anvil default accounts, against any endpoint of a devnet L1 — the anvil a
//! [`Devnet`](crate::Devnet) owns, or the front of a running `devnet up`.

use alloy::network::{EthereumWallet, TransactionBuilder as _};
use alloy::primitives::{Address, B256, Bytes, TxHash, U256};
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall as _;
use anyhow::{Context, Result, anyhow, ensure};
use cartesi_rollups_contracts::{
    erc20_portal::Erc20Portal, input_box::InputBox, test_usdc::TestUsdc,
};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS, TOKEN_DEPLOYER_KEY};

use crate::contracts::{Deployment, send};

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

/// A provider that signs for the ten anvil accounts and the token deployer, and the deployment
/// it acts on.
#[derive(Clone, Debug)]
pub struct L1Client {
    provider: DynProvider,
    deployment: Deployment,
}

impl L1Client {
    /// A client of the L1 at `url` for `deployment`.
    pub fn connect(url: reqwest::Url, deployment: Deployment) -> Result<Self> {
        let provider = ProviderBuilder::new()
            .wallet(wallet()?)
            .connect_http(url)
            .erased();
        Ok(Self {
            provider,
            deployment,
        })
    }

    /// The signing provider (pick the signer with the transaction's `from`).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The deployment acted on.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Whether this client can sign for `address`.
    pub fn signs_for(address: Address) -> bool {
        ANVIL_ADDRESSES.contains(&address)
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

    /// The ERC-20 portal's allowance over `holder`'s tokens.
    pub async fn portal_allowance(&self, holder: Address) -> Result<U256> {
        let token = TestUsdc::new(self.deployment.token, &self.provider);
        token
            .allowance(holder, self.deployment.erc20_portal)
            .call()
            .await
            .context("token allowance")
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

    /// Lets the ERC-20 portal move `amount` of `holder`'s tokens (`approve`).
    pub async fn approve_portal(&self, holder: Address, amount: U256) -> Result<()> {
        let approve = TestUsdc::approveCall {
            spender: self.deployment.erc20_portal,
            value: amount,
        };
        self.transact(
            holder,
            self.deployment.token,
            approve.abi_encode(),
            "approve",
        )
        .await
        .map(drop)
    }

    /// Deposits `amount` tokens of `depositor` into the application through the ERC-20
    /// portal: mint, `approve(portal)`, `depositErc20Tokens(token, app, amount, data)`.
    /// Returns the portal's input.
    pub async fn deposit_erc20(
        &self,
        depositor: Address,
        amount: U256,
        exec_layer_data: Bytes,
    ) -> Result<AddedInput> {
        self.mint(depositor, amount).await?;
        self.approve_portal(depositor, amount).await?;
        let hash = self
            .send_deposit(depositor, amount, exec_layer_data)
            .await?;
        self.landed_input(hash, "depositErc20Tokens").await
    }

    /// Sends `depositErc20Tokens(token, app, amount, data)` from `depositor` without waiting
    /// for it to be mined (the portal must already be allowed to move the tokens).
    pub async fn send_deposit(
        &self,
        depositor: Address,
        amount: U256,
        exec_layer_data: Bytes,
    ) -> Result<TxHash> {
        let d = self.deployment;
        let deposit = Erc20Portal::depositErc20TokensCall {
            token: d.token,
            appContract: d.application,
            value: amount,
            execLayerData: exec_layer_data,
        };
        self.send_only(
            depositor,
            d.erc20_portal,
            deposit.abi_encode(),
            "depositErc20Tokens",
        )
        .await
    }

    /// Adds a direct input from `from` and waits for it to be mined.
    pub async fn add_input(&self, from: Address, payload: impl Into<Bytes>) -> Result<AddedInput> {
        let hash = self.submit_add_input(from, payload).await?;
        self.landed_input(hash, "addInput").await
    }

    /// Sends an `addInput` from `from` without waiting for it to be mined (for filling blocks
    /// with automine off). Returns the transaction hash.
    pub async fn submit_add_input(
        &self,
        from: Address,
        payload: impl Into<Bytes>,
    ) -> Result<TxHash> {
        let call = InputBox::addInputCall {
            appContract: self.deployment.application,
            payload: payload.into(),
        };
        self.send_only(
            from,
            self.deployment.input_box,
            call.abi_encode(),
            "addInput",
        )
        .await
    }

    /// Waits for the transaction `hash` to be mined, requires success and returns the
    /// application's input it added.
    pub async fn landed_input(&self, hash: TxHash, what: &str) -> Result<AddedInput> {
        let receipt =
            alloy::providers::PendingTransactionBuilder::new(self.provider.root().clone(), hash)
                .get_receipt()
                .await
                .with_context(|| format!("waiting for the receipt of {what}"))?;
        ensure!(receipt.status(), "{what} reverted (tx {hash})");
        self.added_input(&receipt)
    }

    async fn send_only(
        &self,
        from: Address,
        to: Address,
        input: Vec<u8>,
        what: &str,
    ) -> Result<TxHash> {
        let pending = self
            .provider
            .send_transaction(call(from, to, input))
            .await
            .with_context(|| format!("sending {what}"))?;
        Ok(*pending.tx_hash())
    }

    async fn transact(
        &self,
        from: Address,
        to: Address,
        input: Vec<u8>,
        what: &str,
    ) -> Result<TransactionReceipt> {
        send(&self.provider, call(from, to, input), what).await
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

/// A contract call from `from`.
fn call(from: Address, to: Address, input: Vec<u8>) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_input(input)
}

/// A wallet holding the ten anvil default keys and the token deployer key.
pub(crate) fn wallet() -> Result<EthereumWallet> {
    let signer = |key: &B256| PrivateKeySigner::from_bytes(key).context("a pinned key is invalid");
    let mut wallet = EthereumWallet::from(signer(&ANVIL_KEYS[0])?);
    for key in ANVIL_KEYS.iter().skip(1).chain([&TOKEN_DEPLOYER_KEY]) {
        wallet.register_signer(signer(key)?);
    }
    Ok(wallet)
}

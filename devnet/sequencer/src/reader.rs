//! The L1 side: the provider, the InputBox reader (the `l1` crate's checked, complete scans)
//! and the head tags.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::Provider as _;
use anyhow::{Context as _, Result, bail};
use l1::{BlockParam, BlockRef, HeadTag, Input, InputReader, L1Provider, RangePlan, RpcConfig};

use super::config::SequencerConfig;
use super::replica::ReplicaInput;

/// The InputBox reader of the application, over one provider.
#[derive(Debug, Clone)]
pub(crate) struct L1 {
    reader: InputReader<L1Provider>,
}

impl L1 {
    /// Connects, checks the chain id and finds the InputBox (from the configuration, else
    /// discovered from the application).
    pub(crate) async fn connect(config: &SequencerConfig) -> Result<Self> {
        let rpc = RpcConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_retries: 2,
            backoff: Duration::from_millis(200),
            ..RpcConfig::default()
        };
        let provider = l1::connect(&config.rpc_url, &rpc, &l1::RequestBudget::unlimited())
            .context("L1 provider")?;
        l1::ensure_chain_id(&provider, config.chain_id)
            .await
            .context("L1 chain id")?;
        let input_box = match config.input_box {
            Some(address) => address,
            None => l1::discover_input_box(&provider, config.app, BlockParam::Tag(HeadTag::Latest))
                .await
                .context("discovering the InputBox from the application")?,
        };
        let reader = InputReader::new(
            provider,
            config.app,
            input_box,
            config.chain_id,
            RangePlan::new(),
        );
        Ok(Self { reader })
    }

    /// The provider.
    pub(crate) fn provider(&self) -> &L1Provider {
        self.reader.provider()
    }

    /// The InputBox.
    pub(crate) fn input_box(&self) -> Address {
        self.reader.input_box()
    }

    /// The `safe` or `latest` block.
    pub(crate) async fn head(&self, tag: HeadTag) -> Result<BlockRef> {
        l1::block_by_tag(self.provider(), tag)
            .await
            .with_context(|| format!("reading the {tag} block"))
    }

    /// A block by number.
    pub(crate) async fn block(&self, number: u64) -> Result<BlockRef> {
        l1::block_by_number(self.provider(), number)
            .await
            .with_context(|| format!("reading block {number}"))
    }

    /// Every input of blocks `[from, to]`, starting at index `start`, proven complete by
    /// `getNumberOfInputs` at `to`'s hash. Nothing is returned from a failed read.
    pub(crate) async fn read(&self, from: u64, to: BlockRef, start: u64) -> Result<Vec<Input>> {
        let mut inputs = Vec::new();
        let report = self
            .reader
            .scan(from, to.number, start, |input| inputs.push(input))
            .await
            .with_context(|| format!("reading inputs of blocks {from}..={}", to.number))?;
        self.reader
            .verify_count(&report, to.hash)
            .await
            .with_context(|| format!("completeness check at block {}", to.number))?;
        Ok(inputs)
    }

    /// Whether `account` has transactions in the pool that are not mined yet.
    pub(crate) async fn has_pending(&self, account: Address) -> Result<bool> {
        let count = |tag: &'static str| async move {
            let n: alloy::primitives::U64 = self
                .provider()
                .client()
                .request("eth_getTransactionCount", (account, tag))
                .await
                .with_context(|| format!("eth_getTransactionCount({tag})"))?;
            anyhow::Ok(n.to::<u64>())
        };
        Ok(count("pending").await? > count("latest").await?)
    }

    /// Waits (bounded) until `account` has no pending transaction: a batch sent by a previous
    /// run must land before the lane is rebuilt from L1.
    pub(crate) async fn wait_idle(&self, account: Address, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.has_pending(account).await? {
            if tokio::time::Instant::now() >= deadline {
                bail!("the submitter {account} still has pending transactions after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

/// The replica's view of L1 inputs.
pub(crate) fn replica_inputs(inputs: &[Input]) -> Vec<ReplicaInput> {
    inputs
        .iter()
        .map(|input| ReplicaInput {
            index: input.index,
            advance: input.advance.clone(),
        })
        .collect()
}

//! [`L1Node`]: the L1 controls scenarios use whatever the backend — anvil ([`Devnet`]), the
//! [`SyntheticL1`](synthetic_l1::SyntheticL1), or an attached node ([`AttachedL1`]).

use std::fmt;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use devnet_stack::{AddedInput, Devnet, L1Client};
use futures_util::future::BoxFuture;
use synthetic_l1::{Landed, Reorged, Replacement, ReplacementInput, SyntheticError, SyntheticL1};

use super::anvil_history::{anvil_reorg, rewrite_on};
use super::l1_error::{L1Error, SnapshotId, head_number, rpc_error};

fn devnet_error(what: &'static str) -> impl FnOnce(anyhow::Error) -> L1Error {
    move |source| L1Error::Devnet { what, source }
}

/// Where an input anvil took landed.
fn landed(added: AddedInput) -> Landed {
    Landed {
        index: added.index,
        block: added.block_number,
        tx: added.transaction_hash,
    }
}

/// What an attached L1 cannot do.
/// An ERC-20 portal deposit through `l1` (anvil with the devnet's contracts, wherever it runs).
pub(super) async fn deposit_on(
    l1: &L1Client,
    who: Address,
    amount: U256,
) -> Result<Landed, L1Error> {
    l1.deposit_erc20(who, amount, Bytes::new())
        .await
        .map(landed)
        .map_err(devnet_error("ERC-20 deposit"))
}

/// A direct `InputBox` input through `l1`.
pub(super) async fn input_on(
    l1: &L1Client,
    sender: Address,
    payload: Bytes,
) -> Result<Landed, L1Error> {
    l1.add_input(sender, payload)
        .await
        .map(landed)
        .map_err(devnet_error("direct input"))
}

fn attached_unsupported(what: &'static str) -> L1Error {
    L1Error::Unsupported {
        what,
        node: "attached",
    }
}

/// A provider on the L1 at `url` (an attached node).
pub(super) fn attached_provider(url: &str) -> Result<DynProvider, L1Error> {
    let parsed = url
        .parse()
        .map_err(|_| attached_unsupported("an L1 URL that does not parse"))?;
    Ok(ProviderBuilder::new().connect_http(parsed).erased())
}

/// The L1 controls a scenario uses, on any backend. Object-safe, so a deployment can hold a
/// `Box<dyn L1Node>`; each method says which nodes support it.
pub trait L1Node: fmt::Debug + Send + Sync {
    /// `anvil`, `synthetic` or `attached` (for reports and errors).
    fn kind(&self) -> &'static str;

    /// The JSON-RPC endpoint.
    fn rpc_url(&self) -> String;

    /// The head block number.
    fn block_number(&self) -> BoxFuture<'_, Result<u64, L1Error>>;

    /// Mines `blocks` blocks.
    fn mine(&self, blocks: u64) -> BoxFuture<'_, Result<(), L1Error>>;

    /// Turns mining on every transaction on or off.
    fn set_automine(&self, on: bool) -> BoxFuture<'_, Result<(), L1Error>>;

    /// Deposits `amount` of the devnet token for `who` through the ERC-20 portal and returns
    /// where the input landed. anvil needs automine; the synthetic L1 mines a block itself.
    fn deposit_erc20(&self, who: Address, amount: U256) -> BoxFuture<'_, Result<Landed, L1Error>>;

    /// Adds a direct input from `sender` and returns where it landed (same mining rules).
    fn direct_input(
        &self,
        sender: Address,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Landed, L1Error>>;

    /// Takes a snapshot of the chain.
    fn snapshot(&self) -> BoxFuture<'_, Result<SnapshotId, L1Error>>;

    /// Returns to a snapshot.
    fn revert(&self, id: SnapshotId) -> BoxFuture<'_, Result<(), L1Error>>;

    /// Rewrites the newest `depth` blocks (below `safe` too) with `replacements`; returns the
    /// old and new hashes.
    fn reorg(
        &self,
        depth: u64,
        replacements: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>>;

    /// Rewrites blocks `from..=head` keeping the height: every transaction is replayed in the
    /// block it was in (same bytes, so the same hash), except those listed in `replace`
    /// (swapped for the given input, or dropped for `None`); `extra` adds inputs at block
    /// offsets from `from`. Every rewritten block gets a new hash.
    ///
    /// On anvil a replacement deposit is the portal call alone: the depositor's allowance from
    /// the replaced deposit must cover it.
    fn rewrite(
        &self,
        from: u64,
        replace: Vec<(B256, Option<ReplacementInput>)>,
        extra: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>>;
}

impl L1Node for Devnet {
    fn kind(&self) -> &'static str {
        "anvil"
    }

    fn rpc_url(&self) -> String {
        Devnet::rpc_url(self).to_owned()
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, L1Error>> {
        Box::pin(async move {
            Devnet::block_number(self)
                .await
                .map_err(devnet_error("block number"))
        })
    }

    fn mine(&self, blocks: u64) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            Devnet::mine(self, blocks)
                .await
                .map_err(devnet_error("mine"))
        })
    }

    fn set_automine(&self, on: bool) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            Devnet::set_automine(self, on)
                .await
                .map_err(devnet_error("set automine"))
        })
    }

    fn deposit_erc20(&self, who: Address, amount: U256) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(deposit_on(self.l1(), who, amount))
    }

    fn direct_input(
        &self,
        sender: Address,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(input_on(self.l1(), sender, payload))
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<SnapshotId, L1Error>> {
        Box::pin(async move {
            Devnet::snapshot(self)
                .await
                .map(SnapshotId)
                .map_err(devnet_error("snapshot"))
        })
    }

    fn revert(&self, id: SnapshotId) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            Devnet::revert(self, id.0)
                .await
                .map_err(devnet_error("revert"))
        })
    }

    fn reorg(
        &self,
        depth: u64,
        replacements: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        Box::pin(async move { anvil_reorg(self.provider(), depth, &replacements).await })
    }

    fn rewrite(
        &self,
        from: u64,
        replace: Vec<(B256, Option<ReplacementInput>)>,
        extra: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        Box::pin(async move { rewrite_on(self.provider(), from, &replace, &extra).await })
    }
}

impl L1Node for SyntheticL1 {
    fn kind(&self) -> &'static str {
        "synthetic"
    }

    fn rpc_url(&self) -> String {
        self.url()
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, L1Error>> {
        Box::pin(async move { Ok(self.latest()) })
    }

    fn mine(&self, blocks: u64) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            SyntheticL1::mine(self, blocks);
            Ok(())
        })
    }

    fn set_automine(&self, on: bool) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            SyntheticL1::set_automine(self, on);
            Ok(())
        })
    }

    fn deposit_erc20(&self, who: Address, amount: U256) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(async move { Ok(self.deposit(who, amount)) })
    }

    fn direct_input(
        &self,
        sender: Address,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(async move { Ok(self.direct(sender, payload)) })
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<SnapshotId, L1Error>> {
        Box::pin(async move { Ok(SnapshotId(U256::from(SyntheticL1::snapshot(self)))) })
    }

    fn revert(&self, id: SnapshotId) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            let id = u64::try_from(id.0).map_err(|_| SyntheticError::UnknownSnapshot(u64::MAX))?;
            Ok(SyntheticL1::revert(self, id)?)
        })
    }

    fn reorg(
        &self,
        depth: u64,
        replacements: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        Box::pin(async move { Ok(SyntheticL1::reorg(self, depth, &replacements)?) })
    }

    fn rewrite(
        &self,
        from: u64,
        replace: Vec<(B256, Option<ReplacementInput>)>,
        extra: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        Box::pin(async move { Ok(SyntheticL1::rewrite(self, from, &replace, &extra)?) })
    }
}

/// An L1 given by URL (`attach` backend). Mining, snapshots and reorgs go through anvil's
/// JSON-RPC methods and are refused unless the node answered `anvil_nodeInfo`; deposits and
/// direct inputs are refused (they need signing keys and contracts this handle does not own).
#[derive(Debug)]
pub struct AttachedL1 {
    url: String,
    provider: DynProvider,
    anvil: bool,
}

impl AttachedL1 {
    /// A handle on the L1 at `url`; `anvil` says whether it answered `anvil_nodeInfo`.
    pub fn new(url: &str, anvil: bool) -> Result<Self, L1Error> {
        Ok(Self {
            url: url.to_owned(),
            provider: attached_provider(url)?,
            anvil,
        })
    }

    /// Whether the node is anvil.
    pub fn is_anvil(&self) -> bool {
        self.anvil
    }

    fn need_anvil(&self, what: &'static str) -> Result<(), L1Error> {
        if self.anvil {
            Ok(())
        } else {
            Err(attached_unsupported(what))
        }
    }
}

impl L1Node for AttachedL1 {
    fn kind(&self) -> &'static str {
        "attached"
    }

    fn rpc_url(&self) -> String {
        self.url.clone()
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, L1Error>> {
        Box::pin(head_number(&self.provider))
    }

    fn mine(&self, blocks: u64) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            self.need_anvil("mining")?;
            self.provider
                .anvil_mine(Some(blocks), None)
                .await
                .map_err(rpc_error("anvil_mine"))
        })
    }

    fn set_automine(&self, on: bool) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            self.need_anvil("automine")?;
            self.provider
                .anvil_set_auto_mine(on)
                .await
                .map_err(rpc_error("evm_setAutomine"))
        })
    }

    fn deposit_erc20(&self, _: Address, _: U256) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(async move { Err(attached_unsupported("deposits")) })
    }

    fn direct_input(&self, _: Address, _: Bytes) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(async move { Err(attached_unsupported("direct inputs")) })
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<SnapshotId, L1Error>> {
        Box::pin(async move {
            self.need_anvil("snapshots")?;
            self.provider
                .anvil_snapshot()
                .await
                .map(SnapshotId)
                .map_err(rpc_error("anvil_snapshot"))
        })
    }

    fn revert(&self, id: SnapshotId) -> BoxFuture<'_, Result<(), L1Error>> {
        Box::pin(async move {
            self.need_anvil("snapshots")?;
            let reverted = self
                .provider
                .anvil_revert(id.0)
                .await
                .map_err(rpc_error("anvil_revert"))?;
            if reverted {
                Ok(())
            } else {
                Err(L1Error::NoSnapshot(id))
            }
        })
    }

    fn reorg(
        &self,
        depth: u64,
        replacements: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        Box::pin(async move {
            self.need_anvil("reorgs")?;
            anvil_reorg(&self.provider, depth, &replacements).await
        })
    }

    fn rewrite(
        &self,
        from: u64,
        replace: Vec<(B256, Option<ReplacementInput>)>,
        extra: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        Box::pin(async move {
            self.need_anvil("reorgs")?;
            rewrite_on(&self.provider, from, &replace, &extra).await
        })
    }
}

//! L1 history controls of the harness: block hashes and rewrites that keep the height.

use alloy::primitives::B256;
use alloy::providers::Provider as _;
use alloy::rpc::types::anvil::TransactionData;
use anyhow::{Context, Result};

use super::Harness;
use crate::deploy::{Caps, Reorged, Replacement, ReplacementInput};

impl Harness {
    /// The hash of L1 block `number`.
    pub async fn block_hash(&self, number: u64) -> Result<B256> {
        let block = self
            .l1
            .get_block_by_number(number.into())
            .await
            .with_context(|| format!("eth_getBlockByNumber({number})"))?
            .with_context(|| format!("no block {number}"))?;
        Ok(block.header.hash)
    }

    /// Rewrites L1 blocks `from..=head` in one reorg: every transaction is replayed in the
    /// block it was in (same hash), except those listed in `replace` (swapped for the given
    /// input, or dropped for `None`); `extra` adds inputs at block offsets from `from`. The
    /// height stays the same; every rewritten block gets a new hash. Returns
    /// `(block, old hash, new hash)` for each rewritten block.
    pub async fn rewrite_blocks(
        &self,
        from: u64,
        replace: &[(B256, Option<ReplacementInput>)],
        extra: Vec<Replacement>,
    ) -> Result<Vec<(u64, B256, B256)>> {
        self.need("rewriting L1 blocks", Caps::REORG)?;
        let reorged = self
            .deployment()
            .l1()
            .rewrite(from, replace.to_vec(), extra)
            .await?;
        Ok(pairs(reorged))
    }

    /// [`rewrite_blocks`](Self::rewrite_blocks) with arbitrary extra transactions (anvil
    /// signs JSON requests for its accounts); anvil only.
    pub async fn rewrite_blocks_evm(
        &self,
        from: u64,
        extra: Vec<(TransactionData, u64)>,
    ) -> Result<Vec<(u64, B256, B256)>> {
        let devnet = self.devnet()?;
        let reorged = crate::deploy::anvil_rewrite(devnet.provider(), from, &[], extra).await?;
        Ok(pairs(reorged))
    }
}

fn pairs(reorged: Reorged) -> Vec<(u64, B256, B256)> {
    (reorged.from_block..)
        .zip(reorged.old.into_iter().zip(reorged.new))
        .map(|(number, (old, new))| (number, old, new))
        .collect()
}

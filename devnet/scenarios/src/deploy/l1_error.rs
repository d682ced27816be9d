//! [`L1Error`], the failure of an L1 control on any backend, the [`SnapshotId`] it can name, and
//! the JSON-RPC helpers the anvil and attached controls share.

use alloy::primitives::U256;
use alloy::providers::{DynProvider, Provider as _};
use alloy::transports::TransportError;
use serde::{Deserialize, Serialize};

use synthetic_l1::SyntheticError;

/// A failed L1 control.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum L1Error {
    /// The node cannot do this (e.g. mining on an attached L1 that is not anvil).
    #[error("{what} is not supported by the {node} L1")]
    Unsupported {
        /// The control.
        what: &'static str,
        /// [`L1Node::kind`](super::L1Node::kind).
        node: &'static str,
    },
    /// A synthetic-L1 control failed.
    #[error(transparent)]
    Synthetic(SyntheticError),
    /// A JSON-RPC call failed.
    #[error("{method}: {source}")]
    Rpc {
        /// The method.
        method: &'static str,
        /// The transport error.
        #[source]
        source: TransportError,
    },
    /// A reorg or rewrite outside the chain (genesis is never replaced).
    #[error("a reorg of depth {depth} needs 1 ≤ depth ≤ {latest} (the head)")]
    Depth {
        /// Requested depth.
        depth: u64,
        /// The head.
        latest: u64,
    },
    /// The node has no such snapshot.
    #[error("the L1 has no snapshot {}", .0.0)]
    NoSnapshot(SnapshotId),
    /// Reading a block failed.
    #[error(transparent)]
    Read(#[from] l1::Error),
    /// A [`Devnet`](devnet_stack::Devnet) helper failed.
    #[error("{what}: {source:#}")]
    Devnet {
        /// The control.
        what: &'static str,
        /// The helper's error.
        #[source]
        source: anyhow::Error,
    },
}

impl From<SyntheticError> for L1Error {
    /// A depth outside the chain is the same mistake on every backend: one variant for it.
    fn from(error: SyntheticError) -> Self {
        match error {
            SyntheticError::DepthOutOfRange { depth, latest } => Self::Depth { depth, latest },
            other => Self::Synthetic(other),
        }
    }
}

/// An opaque snapshot id ([`L1Node::snapshot`](super::L1Node::snapshot)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotId(pub U256);

/// Maps a failed `method` call to [`L1Error::Rpc`].
pub(super) fn rpc_error(method: &'static str) -> impl FnOnce(TransportError) -> L1Error {
    move |source| L1Error::Rpc { method, source }
}

/// The node's head block number (`eth_blockNumber`).
pub(super) async fn head_number(provider: &DynProvider) -> Result<u64, L1Error> {
    provider
        .get_block_number()
        .await
        .map_err(rpc_error("eth_blockNumber"))
}

//! Chain and block queries: chain id, blocks by tag or number, code at an address.

use std::fmt;
use std::str::FromStr;

use alloy::providers::Provider;
use alloy::rpc::json_rpc::RpcError;
use alloy::transports::TransportError;
use alloy_primitives::{Address, B256, Bytes, U64};
use serde::{Deserialize, Serialize, Serializer};

use crate::classify::{Verdict, classify};
use crate::error::{Error, Result};
use crate::log::quantity;

/// The head tag the watchdog reads up to (`--l1-head-tag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HeadTag {
    /// `safe` (the default).
    #[default]
    Safe,
    /// `finalized`.
    Finalized,
    /// `latest` (devnets and tests only).
    Latest,
}

impl HeadTag {
    /// The JSON-RPC tag.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Finalized => "finalized",
            Self::Latest => "latest",
        }
    }
}

impl fmt::Display for HeadTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HeadTag {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "safe" => Ok(Self::Safe),
            "finalized" => Ok(Self::Finalized),
            "latest" => Ok(Self::Latest),
            other => Err(Error::Config {
                reason: format!("head tag {other:?} is not safe, finalized or latest"),
            }),
        }
    }
}

/// A block's number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// The block a state query runs at: a number, a tag, or a hash (EIP-1898 `{"blockHash": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockParam {
    /// A block number, sent as a minimal hex quantity.
    Number(u64),
    /// A head tag.
    Tag(HeadTag),
    /// A block hash, sent as an EIP-1898 object so that a reorged-out block fails the query.
    Hash(B256),
}

impl fmt::Display for BlockParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Tag(tag) => write!(f, "{tag}"),
            Self::Hash(hash) => write!(f, "{hash}"),
        }
    }
}

impl Serialize for BlockParam {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => serializer.serialize_str(&quantity(*n)),
            Self::Tag(tag) => serializer.serialize_str(tag.as_str()),
            Self::Hash(hash) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("blockHash", &format!("{hash:#x}"))?;
                map.end()
            }
        }
    }
}

/// The two header fields the reader needs; anything else in the block is ignored.
#[derive(Debug, Deserialize)]
struct Header {
    number: Option<U64>,
    hash: Option<B256>,
}

/// Maps a failed request that is not an `eth_getLogs` range to an [`Error`].
pub(crate) fn rpc_error(method: &'static str, err: TransportError) -> Error {
    match classify(&err, &[]) {
        Verdict::Budget(limit) => Error::BudgetExhausted { limit },
        Verdict::BadResponse(detail) => Error::BadResponse { method, detail },
        _ => Error::Unavailable {
            method,
            range: None,
            source: err,
        },
    }
}

/// `eth_chainId`.
pub async fn chain_id<P: Provider>(provider: &P) -> Result<u64> {
    let id: U64 = provider
        .client()
        .request_noparams("eth_chainId")
        .await
        .map_err(|e| rpc_error("eth_chainId", e))?;
    Ok(id.to())
}

/// `eth_chainId` must equal `expected` (`operator/chain_id_mismatch` otherwise).
pub async fn ensure_chain_id<P: Provider>(provider: &P, expected: u64) -> Result<()> {
    let found = chain_id(provider).await?;
    if found == expected {
        Ok(())
    } else {
        Err(Error::ChainIdMismatch { expected, found })
    }
}

/// `eth_getBlockByNumber(tag, false)`: the number and hash of the `safe`, `finalized` or
/// `latest` block.
pub async fn block_by_tag<P: Provider>(provider: &P, tag: HeadTag) -> Result<BlockRef> {
    header(provider, tag.as_str().to_owned(), BlockParam::Tag(tag)).await
}

/// `eth_getBlockByNumber(number, false)`: the hash of a block.
pub async fn block_by_number<P: Provider>(provider: &P, number: u64) -> Result<BlockRef> {
    let block = header(provider, quantity(number), BlockParam::Number(number)).await?;
    if block.number != number {
        return Err(Error::BadResponse {
            method: "eth_getBlockByNumber",
            detail: format!("asked for block {number}, got block {}", block.number),
        });
    }
    Ok(block)
}

async fn header<P: Provider>(provider: &P, param: String, shown: BlockParam) -> Result<BlockRef> {
    const METHOD: &str = "eth_getBlockByNumber";
    let header: Option<Header> = provider
        .client()
        .request(METHOD, (param, false))
        .await
        .map_err(|e| rpc_error(METHOD, e))?;
    let Some(header) = header else {
        return Err(Error::BlockNotFound {
            block: shown.to_string(),
        });
    };
    let missing = |field: &str| Error::BadResponse {
        method: METHOD,
        detail: format!("no {field}"),
    };
    Ok(BlockRef {
        number: header.number.ok_or_else(|| missing("number"))?.to(),
        hash: header.hash.ok_or_else(|| missing("hash"))?,
    })
}

/// `eth_getCode(address, block)`.
pub async fn code_at<P: Provider>(
    provider: &P,
    address: Address,
    block: BlockParam,
) -> Result<Bytes> {
    provider
        .client()
        .request("eth_getCode", (address, block))
        .await
        .map_err(|e| rpc_error("eth_getCode", e))
}

/// The call object of `eth_call`.
#[derive(Debug, Clone, Serialize)]
struct Call {
    to: Address,
    data: Bytes,
}

/// `eth_call(to, data, block)`. `Ok(None)` means the call reverted (code 3 or a message
/// mentioning a revert); other failures are errors.
pub(crate) async fn call<P: Provider>(
    provider: &P,
    to: Address,
    data: Vec<u8>,
    block: BlockParam,
) -> Result<Option<Bytes>> {
    let call = Call {
        to,
        data: data.into(),
    };
    match provider
        .client()
        .request::<_, Bytes>("eth_call", (call, block))
        .await
    {
        Ok(bytes) => Ok(Some(bytes)),
        Err(RpcError::ErrorResp(payload))
            if payload.code == 3 || payload.message.to_ascii_lowercase().contains("revert") =>
        {
            Ok(None)
        }
        Err(err) => Err(rpc_error("eth_call", err)),
    }
}

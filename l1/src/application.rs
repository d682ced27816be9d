//! Reads from the application contract itself: its template hash and deployment block.

use alloy::providers::Provider;
use alloy_primitives::{Address, B256, U256};

use crate::block::call;
use crate::{BlockParam, Error, Result};

/// Application `getTemplateHash()`.
pub const GET_TEMPLATE_HASH: [u8; 4] = [0x61, 0xb1, 0x2c, 0x66];

/// The application's `getTemplateHash()` at `block`: the root hash of the Cartesi Machine
/// template it was deployed with (fixed at deployment). `Ok(None)` when the call reverts or
/// returns nothing, as it does where the application has no code yet at `block`.
pub async fn template_hash<P: Provider>(
    provider: &P,
    app: Address,
    block: BlockParam,
) -> Result<Option<B256>> {
    match call(provider, app, GET_TEMPLATE_HASH.to_vec(), block).await? {
        None => Ok(None),
        Some(ret) if ret.is_empty() => Ok(None),
        Some(ret) if ret.len() == 32 => Ok(Some(B256::from_slice(&ret))),
        Some(ret) => Err(Error::BadResponse {
            method: "eth_call getTemplateHash",
            detail: format!("{} bytes, expected 32", ret.len()),
        }),
    }
}

/// Application `getDeploymentBlockNumber()`.
pub const GET_DEPLOYMENT_BLOCK_NUMBER: [u8; 4] = [0xb3, 0xa1, 0xac, 0xd8];

/// The application's `getDeploymentBlockNumber()` at `block`; `Ok(None)` when the call
/// reverts or returns nothing (no code at `block`, or an application without the getter).
pub async fn deployment_block<P: Provider>(
    provider: &P,
    app: Address,
    block: BlockParam,
) -> Result<Option<u64>> {
    const METHOD: &str = "eth_call getDeploymentBlockNumber";
    match call(provider, app, GET_DEPLOYMENT_BLOCK_NUMBER.to_vec(), block).await? {
        None => Ok(None),
        Some(ret) if ret.is_empty() => Ok(None),
        Some(ret) if ret.len() == 32 => {
            u64::try_from(U256::from_be_slice(&ret))
                .map(Some)
                .map_err(|_| Error::BadResponse {
                    method: METHOD,
                    detail: "block number above 2^64".into(),
                })
        }
        Some(ret) => Err(Error::BadResponse {
            method: METHOD,
            detail: format!("{} bytes, expected 32", ret.len()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployment_getter_selector_is_the_signature_hash() {
        let hash = alloy_primitives::keccak256("getDeploymentBlockNumber()");
        assert_eq!(hash[..4], GET_DEPLOYMENT_BLOCK_NUMBER);
    }

    #[test]
    fn the_selector_is_the_signature_hash() {
        let hash = alloy_primitives::keccak256("getTemplateHash()");
        assert_eq!(hash[..4], GET_TEMPLATE_HASH);
    }
}

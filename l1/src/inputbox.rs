//! The InputBox contract: discovering it from the application (protocol §2.3) and reading
//! `getNumberOfInputs(app)` for the completeness check (protocol §2.4).

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};

use crate::block::{BlockParam, call, code_at};
use crate::error::{DiscoveryProblem, Error, Result};

/// `getNumberOfInputs(address)`.
pub const GET_NUMBER_OF_INPUTS: [u8; 4] = [0x61, 0xa9, 0x3c, 0x87];
/// Application `getInputBox()`.
pub const GET_INPUT_BOX: [u8; 4] = [0x00, 0xaa, 0xce, 0x9a];
/// Application `getDataAvailability()`.
pub const GET_DATA_AVAILABILITY: [u8; 4] = [0xf0, 0x24, 0x78, 0xde];
/// Data availability descriptor `InputBox(address)` (accepted).
pub const DA_INPUT_BOX: [u8; 4] = [0xb1, 0x2c, 0x9e, 0xde];
/// Data availability descriptor `InputBoxAndEspresso(address,uint256,uint32)` (refused).
pub const DA_INPUT_BOX_AND_ESPRESSO: [u8; 4] = [0x85, 0x79, 0xfd, 0x0c];

/// `getNumberOfInputs(app)` on `input_box` at `block`; pass [`BlockParam::Hash`] for the
/// completeness witness so that a reorg fails the query instead of answering for another chain.
///
/// An empty result where the InputBox has code today (`latest`) means 0 inputs: at `block` it
/// was not deployed yet (e.g. block 0 of a devnet). An empty result for an address that has no
/// code even today is [`Error::NoCode`]: a configuration error.
pub async fn input_count<P: Provider>(
    provider: &P,
    input_box: Address,
    app: Address,
    block: BlockParam,
) -> Result<u64> {
    const METHOD: &str = "eth_call getNumberOfInputs";
    let mut data = GET_NUMBER_OF_INPUTS.to_vec();
    data.extend_from_slice(app.into_word().as_slice());
    let Some(ret) = call(provider, input_box, data, block).await? else {
        return Err(Error::BadResponse {
            method: METHOD,
            detail: "the call reverted".into(),
        });
    };
    if ret.is_empty() {
        let latest = BlockParam::Tag(crate::HeadTag::Latest);
        if code_at(provider, input_box, latest).await?.is_empty() {
            return Err(Error::NoCode {
                address: input_box,
                block: latest.to_string(),
            });
        }
        return Ok(0);
    }
    if ret.len() != 32 {
        return Err(Error::BadResponse {
            method: METHOD,
            detail: format!("{} bytes", ret.len()),
        });
    }
    u64::try_from(U256::from_be_slice(&ret)).map_err(|_| Error::BadResponse {
        method: METHOD,
        detail: "count above 2^64".into(),
    })
}

/// Reads the InputBox address from the application at `block`, through `getInputBox()` and
/// `getDataAvailability()`. When both answer they must agree; when one reverts the other
/// decides; when neither answers the application is unsupported.
pub async fn discover_input_box<P: Provider>(
    provider: &P,
    app: Address,
    block: BlockParam,
) -> Result<Address> {
    let fail = |problem| Error::Discovery { app, problem };
    let direct = call(provider, app, GET_INPUT_BOX.to_vec(), block).await?;
    let direct = match direct.as_ref().map(|b| &b[..]) {
        None | Some([]) => None,
        Some(word) => {
            Some(address_word(word).ok_or(fail(DiscoveryProblem::Malformed("getInputBox()")))?)
        }
    };
    let da = call(provider, app, GET_DATA_AVAILABILITY.to_vec(), block).await?;
    let da = match da.as_ref().map(|b| &b[..]) {
        None | Some([]) => None,
        Some(ret) => Some(data_availability(ret).map_err(fail)?),
    };
    match (direct, da) {
        (Some(a), Some(b)) if a != b => Err(fail(DiscoveryProblem::Disagree {
            input_box: a,
            data_availability: b,
        })),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => Err(fail(DiscoveryProblem::Unsupported)),
    }
}

/// Checks that `configured` is the application's InputBox.
pub async fn ensure_input_box<P: Provider>(
    provider: &P,
    app: Address,
    configured: Address,
    block: BlockParam,
) -> Result<()> {
    let discovered = discover_input_box(provider, app, block).await?;
    if discovered == configured {
        Ok(())
    } else {
        Err(Error::InputBoxMismatch {
            configured,
            discovered,
        })
    }
}

/// An ABI address word: exactly 32 bytes, the high 12 zero.
fn address_word(word: &[u8]) -> Option<Address> {
    (word.len() == 32 && word[..12].iter().all(|&b| b == 0))
        .then(|| Address::from_slice(&word[12..]))
}

/// Decodes the `bytes` returned by `getDataAvailability()` and accepts only
/// `InputBox(address)`.
fn data_availability(ret: &[u8]) -> std::result::Result<Address, DiscoveryProblem> {
    const WHAT: &str = "getDataAvailability()";
    let malformed = DiscoveryProblem::Malformed(WHAT);
    if ret.len() < 64 || U256::from_be_slice(&ret[..32]) != U256::from(32) {
        return Err(malformed);
    }
    let len = usize::try_from(U256::from_be_slice(&ret[32..64])).map_err(|_| malformed.clone())?;
    let content = ret
        .get(64..)
        .and_then(|rest| rest.get(..len))
        .ok_or(malformed.clone())?;
    let selector: [u8; 4] = content
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(malformed.clone())?;
    match selector {
        DA_INPUT_BOX if content.len() == 36 => address_word(&content[4..]).ok_or(malformed),
        DA_INPUT_BOX => Err(malformed),
        DA_INPUT_BOX_AND_ESPRESSO => Err(DiscoveryProblem::Espresso),
        other => Err(DiscoveryProblem::UnknownDescriptor(
            alloy_primitives::hex::encode(other),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn da_return(content: &[u8]) -> Vec<u8> {
        let mut out = U256::from(32).to_be_bytes::<32>().to_vec();
        out.extend_from_slice(&U256::from(content.len()).to_be_bytes::<32>());
        out.extend_from_slice(content);
        out.resize(64 + content.len().div_ceil(32) * 32, 0);
        out
    }

    #[test]
    fn data_availability_accepts_only_input_box() {
        let input_box = Address::repeat_byte(0x11);
        let mut content = DA_INPUT_BOX.to_vec();
        content.extend_from_slice(input_box.into_word().as_slice());
        assert_eq!(data_availability(&da_return(&content)), Ok(input_box));

        let mut espresso = DA_INPUT_BOX_AND_ESPRESSO.to_vec();
        espresso.extend_from_slice(&[0; 96]);
        assert_eq!(
            data_availability(&da_return(&espresso)),
            Err(DiscoveryProblem::Espresso)
        );
        assert_eq!(
            data_availability(&da_return(&[1, 2, 3, 4, 5])),
            Err(DiscoveryProblem::UnknownDescriptor("01020304".into()))
        );
        // Truncated, dirty address word, absurd length.
        assert!(data_availability(&da_return(&content[..20])).is_err());
        let mut dirty = content.clone();
        dirty[4] = 1;
        assert!(data_availability(&da_return(&dirty)).is_err());
        let mut huge = da_return(&content);
        huge[32..64].copy_from_slice(&[0xff; 32]);
        assert!(data_availability(&huge).is_err());
        assert!(data_availability(&[]).is_err());
    }
}

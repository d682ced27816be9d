//! [`Identity`]: which chain, application and wallet configuration a deployment is, pinned for
//! the devnet's own stacks and found out for an attached one.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use canonical::{WalletConfig, WalletSnapshot};
use devnet_pins::{CHAIN_ID, addresses};
use l1::{BlockParam, HeadTag};
use sequencer_client::{RedactedUrl, SequencerClient};

use super::{DeployError, L1Error};

/// The named wallet configurations a genesis machine exists for (`genesis:<name>`).
pub const WALLET_CONFIGS: [&str; 2] = ["devnet", "sepolia"];

/// The largest finalized state read to learn an attached sequencer's wallet configuration.
const STATE_CAP: u64 = 1 << 26;

/// Who a deployment is: the L1's chain id, the application, its InputBox, and the wallet
/// configuration its sequencer runs (which names the watchdog's genesis machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The L1 chain id (`eth_chainId`).
    pub chain_id: u64,
    /// The application contract.
    pub app: Address,
    /// The application's InputBox.
    pub input_box: Address,
    /// The wallet configuration by name (`devnet` or `sepolia`).
    pub wallet_config: &'static str,
    /// The ERC-20 portal of the wallet configuration (it has code on the L1).
    pub erc20_portal: Address,
}

impl Identity {
    /// The devnet's pinned contracts on a chain with `chain_id`, with the named wallet
    /// configuration (`devnet` when the name is none of [`WALLET_CONFIGS`]).
    pub fn pinned(chain_id: u64, wallet_config: &str) -> Self {
        let name = named(wallet_config).unwrap_or("devnet");
        Self {
            chain_id,
            app: addresses::APPLICATION,
            input_box: addresses::INPUT_BOX,
            wallet_config: name,
            erc20_portal: addresses::ERC20_PORTAL,
        }
    }

    /// The devnet's own identity: chain 31337, the pinned contracts, the devnet wallet.
    pub fn devnet() -> Self {
        Self::pinned(CHAIN_ID, "devnet")
    }

    /// `genesis:<wallet configuration>`, the watchdog's bootstrap.
    pub fn genesis(&self) -> String {
        format!("genesis:{}", self.wallet_config)
    }

    /// Finds out an attached deployment: the chain id from the node, the InputBox from the
    /// application (`getInputBox()` / `getDataAvailability()` at the latest block), the
    /// wallet configuration from `wallet_config` or else from the sequencer's finalized state
    /// (its portal, token and sequencer address must be those of a named configuration), and
    /// checks that the configuration's ERC-20 portal has code on this chain.
    pub(super) async fn discover(
        provider: &DynProvider,
        sequencer_url: &str,
        app: Address,
        wallet_config: Option<&str>,
    ) -> Result<Self, DeployError> {
        let chain_id = l1::chain_id(provider).await.map_err(L1Error::from)?;
        let latest = BlockParam::Tag(HeadTag::Latest);
        let input_box = l1::discover_input_box(provider, app, latest)
            .await
            .map_err(L1Error::from)?;
        let wallet_config = match wallet_config {
            Some(name) => named(name).ok_or_else(|| {
                identity_error(format!(
                    "unknown wallet configuration {name:?} ({})",
                    WALLET_CONFIGS.join(", ")
                ))
            })?,
            None => served_config(sequencer_url).await?,
        };
        let wallet = WalletConfig::by_name(wallet_config).ok_or_else(|| {
            identity_error(format!("no wallet configuration named {wallet_config}"))
        })?;
        let portal = wallet.erc20_portal_address;
        let code = l1::code_at(provider, portal, latest)
            .await
            .map_err(L1Error::from)?;
        if code.is_empty() {
            return Err(identity_error(format!(
                "the {wallet_config} wallet configuration's ERC-20 portal {portal} has no code on chain {chain_id}"
            )));
        }
        Ok(Self {
            chain_id,
            app,
            input_box,
            wallet_config,
            erc20_portal: portal,
        })
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chain {}, application {}, InputBox {}, wallet configuration {}",
            self.chain_id, self.app, self.input_box, self.wallet_config
        )
    }
}

/// The static name of a named wallet configuration.
fn named(name: &str) -> Option<&'static str> {
    WALLET_CONFIGS.into_iter().find(|n| *n == name)
}

/// The named wallet configuration whose portal, token and sequencer address the snapshot
/// carries, if any.
pub fn config_of_snapshot(snapshot: &WalletSnapshot) -> Option<&'static str> {
    WALLET_CONFIGS.into_iter().find(|name| {
        WalletConfig::by_name(name).is_some_and(|c| {
            c.erc20_portal_address == snapshot.erc20_portal_address
                && c.supported_erc20_token == snapshot.supported_erc20_token
                && c.sequencer_address == snapshot.sequencer_address
        })
    })
}

/// The wallet configuration of the finalized state the sequencer at `url` serves.
async fn served_config(url: &str) -> Result<&'static str, DeployError> {
    let client = RedactedUrl::parse(url)
        .map_err(|e| identity_error(format!("the attached sequencer URL: {e}")))
        .and_then(|url| SequencerClient::new(url).map_err(|e| identity_error(format!("{e}"))))?;
    let state = client
        .download_state(STATE_CAP, None)
        .await
        .map_err(|e| identity_error(format!("reading the sequencer's finalized state: {e}")))?
        .modified()
        .ok_or_else(|| identity_error("the sequencer's finalized state: no body".into()))?;
    let snapshot = WalletSnapshot::decode(&state.bytes)
        .map_err(|e| identity_error(format!("the sequencer's finalized state: {e}")))?;
    config_of_snapshot(&snapshot).ok_or_else(|| {
        identity_error(format!(
            "the sequencer's wallet configuration (portal {}, token {}, sequencer {}) is none of {}; \
             there is no genesis machine for it",
            snapshot.erc20_portal_address,
            snapshot.supported_erc20_token,
            snapshot.sequencer_address,
            WALLET_CONFIGS.join(", ")
        ))
    })
}

/// The `CARTESI_WATCHDOG_*` exports for a deployment (spec `devnet.md` §5.6): its chain id,
/// application, InputBox and the genesis machine of its wallet configuration.
pub fn exports(
    state_dir: &Path,
    rpc_url: &str,
    sequencer_url: &str,
    identity: &Identity,
    snapshot_block: u64,
) -> BTreeMap<String, String> {
    [
        (
            "CARTESI_WATCHDOG_STATE_DIR",
            state_dir.display().to_string(),
        ),
        (
            "CARTESI_WATCHDOG_BLOCKCHAIN_ID",
            identity.chain_id.to_string(),
        ),
        ("CARTESI_WATCHDOG_SEQUENCER_URL", sequencer_url.to_owned()),
        (
            "CARTESI_WATCHDOG_APP_ADDRESS",
            format!("{:#x}", identity.app),
        ),
        (
            "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT",
            rpc_url.to_owned(),
        ),
        ("CARTESI_WATCHDOG_MACHINE_BACKEND", "native".to_owned()),
        (
            "CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS",
            format!("{:#x}", identity.input_box),
        ),
        ("CARTESI_WATCHDOG_CM_SNAPSHOT_DIR", identity.genesis()),
        (
            "CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK",
            snapshot_block.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn identity_error(message: String) -> DeployError {
    DeployError::Identity(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_names_its_configuration() {
        for name in WALLET_CONFIGS {
            let config = WalletConfig::by_name(name).unwrap();
            let genesis = WalletSnapshot::genesis(&config);
            assert_eq!(config_of_snapshot(&genesis), Some(name));
        }
        let mut other = WalletSnapshot::genesis(&WalletConfig::sepolia());
        other.sequencer_address = WalletConfig::devnet().sequencer_address;
        assert_eq!(config_of_snapshot(&other), None, "a mix is neither");
        assert_eq!(Identity::pinned(1, "sepolia").genesis(), "genesis:sepolia");
        assert_eq!(Identity::pinned(1, "mainnet").wallet_config, "devnet");
    }
}

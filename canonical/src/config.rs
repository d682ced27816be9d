//! Deployment configurations of the wallet application (`protocol.md` §1.1).

use alloy_primitives::{Address, address};
use serde::{Deserialize, Serialize};

/// `MAX_WAIT_BLOCKS`: the batch staleness and direct-input backstop window, in L1 blocks.
pub const MAX_WAIT_BLOCKS: u64 = 1200;

/// The ERC20Portal of Cartesi Rollups 3.0.0-alpha.10, at the same address on every chain.
pub const ERC20_PORTAL_ADDRESS: Address = address!("0x3332DE61a8BB9aC84893b2f552Fe81C9a6dC5419");

/// The configuration compiled into a wallet build. Any difference changes the genesis snapshot.
///
/// `sequencer_address` is both the batch submitter (whose inputs are batches) and the fee
/// recipient. `chain_id` names the chain the configuration is meant for; the fold itself takes
/// the chain id of each input from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WalletConfig {
    /// The ERC-20 portal whose deposits credit balances.
    pub erc20_portal_address: Address,
    /// The only token the wallet accepts.
    pub supported_erc20_token: Address,
    /// The batch submitter and fee recipient.
    pub sequencer_address: Address,
    /// The chain the configuration is deployed on.
    pub chain_id: u64,
}

impl WalletConfig {
    /// The local devnet: anvil (chain 31337), the MockERC20 token and anvil account 9.
    pub const fn devnet() -> Self {
        Self {
            erc20_portal_address: ERC20_PORTAL_ADDRESS,
            supported_erc20_token: address!("0x95d0c8A7d11342299807A2Fc19ac44C2321cCc68"),
            sequencer_address: address!("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
            chain_id: 31337,
        }
    }

    /// Sepolia, the reference default: Sepolia USDC.
    pub const fn sepolia() -> Self {
        Self {
            erc20_portal_address: ERC20_PORTAL_ADDRESS,
            supported_erc20_token: address!("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"),
            sequencer_address: address!("0x16d5FF3Fdd14e2a86FBA77cbcE6B3Cd9C32b8Ff3"),
            chain_id: 11_155_111,
        }
    }

    /// Looks a named configuration up: `devnet` or `sepolia`.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "devnet" => Some(Self::devnet()),
            "sepolia" => Some(Self::sepolia()),
            _ => None,
        }
    }
}

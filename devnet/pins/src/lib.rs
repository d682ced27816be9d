//! Every pinned fact of the devnet in one place: tool versions and their integrity, deterministic
//! contract addresses, well-known keys and the placeholder template hash.
//!
//! A unit test of `devnet-stack` (its `contracts` module) recomputes every address below from
//! the contract bytecode, without anvil.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use alloy_primitives::{Address, B256, address, b256};

/// A tool shipped as a prebuilt binary inside an npm registry package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolPin {
    /// Short tool name, used for the install directory (`<name>-<version>`).
    pub name: &'static str,
    /// The npm package that carries the binary.
    pub package: &'static str,
    /// The exact package version.
    pub version: &'static str,
    /// The registry's Subresource Integrity string of the package tarball (`sha512-<base64>`),
    /// checked against the downloaded tarball before anything is extracted.
    pub integrity: &'static str,
    /// The registry's SHA-1 of the tarball (hex), cross-checked against what `npm pack` reports.
    pub shasum: &'static str,
    /// Path of the executable inside the package (relative to the package root), if the tool
    /// is a binary; `None` for packages that only carry data.
    pub executable: Option<&'static str>,
}

/// anvil 1.7.1 for linux x86-64 (the package is the binary itself, not the npm wrapper).
pub const ANVIL: ToolPin = ToolPin {
    name: "anvil",
    package: "@foundry-rs/anvil-linux-amd64",
    version: "1.7.1",
    integrity: "sha512-+XmShybEaxfCrr0OUUZwYEy2OnYZt5pHH9TzBtLv3+VrK0O/ANuNSVEahqNhKHlgX7GRJ59383ofNhxkRWIYTg==",
    shasum: "04f584149ae6c5a93dd6943a06f0a91d90aed0d8",
    executable: Some("bin/anvil"),
};

/// The chain id anvil is started with (and the devnet wallet config uses).
pub const CHAIN_ID: u64 = 31337;

/// The Cartesi Rollups contracts release whose bytecode is deployed.
pub const ROLLUPS_VERSION: &str = "3.0.0-alpha.10";

/// The keyless CREATE2 deployer anvil installs at genesis.
pub const CREATE2_DEPLOYER: Address = address!("0x4e59b44847b379578588920ca78fbf26c0b4956c");

/// The CREATE2 salt every Rollups contract is deployed with.
pub const CREATE2_SALT: B256 = B256::ZERO;

/// Deterministic addresses of the Rollups contracts (CREATE2 through [`CREATE2_DEPLOYER`],
/// salt [`CREATE2_SALT`]) and of the devnet token and application.
pub mod addresses {
    use super::{Address, address};

    /// `InputBox`.
    pub const INPUT_BOX: Address = address!("0xEbE9f4Dfc04ae10bBeE663859c3dc5A23f94eA3C");
    /// `EtherPortal`.
    pub const ETHER_PORTAL: Address = address!("0x035b11Be55656c6cfC822D1CaE568C1Af2e497b0");
    /// `ERC20Portal` (the wallet config's `erc20_portal_address`).
    pub const ERC20_PORTAL: Address = address!("0x3332DE61a8BB9aC84893b2f552Fe81C9a6dC5419");
    /// `ERC721Portal`.
    pub const ERC721_PORTAL: Address = address!("0x397c352d18DFf47CC8a6143403142cf7afd5Ff7E");
    /// `ERC1155SinglePortal`.
    pub const ERC1155_SINGLE_PORTAL: Address =
        address!("0x585F56351A66f131E176a345662215C772f80451");
    /// `ERC1155BatchPortal`.
    pub const ERC1155_BATCH_PORTAL: Address =
        address!("0xee33550a22e3Cf6Cc265524dC9bcfD99D2307EBe");
    /// `SafeERC20Transfer`.
    pub const SAFE_ERC20_TRANSFER: Address = address!("0xBB7c5367B74544542F5cE553Ed0DF4B3efAfEEdD");
    /// `RefundOutputBuilder` (constructed with the five portals and `SafeERC20Transfer`).
    pub const REFUND_OUTPUT_BUILDER: Address =
        address!("0xff50b237b3e61cD810Bd1236644a887ec78762CF");
    /// `ApplicationFactory` (constructed with `RefundOutputBuilder`).
    pub const APPLICATION_FACTORY: Address = address!("0x35Cd91f13141Bb6A6FC69E1eeDD241bbA1Ddd45F");
    /// The `TestUsdc` token: first contract creation (nonce 0) of the token deployer (the wallet
    /// config's `supported_erc20_token`).
    pub const TOKEN: Address = address!("0x95d0c8A7d11342299807A2Fc19ac44C2321cCc68");
    /// The wallet application created through `ApplicationFactory` with
    /// [`TEMPLATE_HASH`](super::TEMPLATE_HASH), owner account 0, salt 0.
    pub const APPLICATION: Address = address!("0xee72fC427e6A8e8c1Be1B2921DBE9F8E4e20253c");
}

/// The placeholder template hash of the devnet application:
/// `keccak256("cartesi-watchdog-devnet/template-hash/v1")`.
pub const TEMPLATE_HASH: B256 =
    b256!("0xa9df860d2710db8463e021827f3c0cce76556484738ccc82bcfd08b5694f1b4b");

/// The preimage of [`TEMPLATE_HASH`].
pub const TEMPLATE_HASH_PREIMAGE: &[u8] = b"cartesi-watchdog-devnet/template-hash/v1";

/// The public key whose first contract creation is the devnet token (not an anvil default
/// account; funded by account 0 before deploying).
pub const TOKEN_DEPLOYER_KEY: B256 =
    b256!("0x59c6995e998f97a5a0044976f1d86dbce6c5bb4f80a8b5148f7f4f6d0d0c0abc");

/// The address of [`TOKEN_DEPLOYER_KEY`].
pub const TOKEN_DEPLOYER: Address = address!("0x6C061788808303271122E2BfC5882E391DFBD94D");

/// Wei sent from account 0 to [`TOKEN_DEPLOYER`] to pay for the token deployment.
pub const TOKEN_DEPLOYER_FUNDING_WEI: u128 = 1_000_000_000_000_000;

/// anvil's default accounts (mnemonic `test test … junk`, path `m/44'/60'/0'/0/i`): keys.
pub const ANVIL_KEYS: [B256; 10] = [
    b256!("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    b256!("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    b256!("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    b256!("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
    b256!("0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"),
    b256!("0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"),
    b256!("0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"),
    b256!("0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"),
    b256!("0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"),
    b256!("0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"),
];

/// anvil's default accounts: addresses, in the order of [`ANVIL_KEYS`].
pub const ANVIL_ADDRESSES: [Address; 10] = [
    address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
    address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
    address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
    address!("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
    address!("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
    address!("0x976EA74026E726554dB657fA54763abd0C3a0aa9"),
    address!("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"),
    address!("0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"),
    address!("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
];

/// Roles of the default accounts (indices into [`ANVIL_KEYS`]).
pub mod roles {
    /// Deploys the contracts, owns the application, funds the token deployer.
    pub const DEPLOYER: usize = 0;
    /// A depositing user.
    pub const ALICE: usize = 1;
    /// A second user.
    pub const BOB: usize = 2;
    /// Sends direct inputs (`addInput` outside the portals).
    pub const DIRECT_INPUTS: usize = 8;
    /// The batch submitter (= the wallet's `sequencer_address`); used for nothing else.
    pub const SUBMITTER: usize = 9;
}

//! Deployment of Cartesi Rollups 3.0.0-alpha.10, the devnet token and the wallet application.
//!
//! The Rollups contracts come from the bytecode of the `cartesi-rollups-contracts` crate and are
//! deployed through anvil's CREATE2 deployer with salt 0 from account 0, so their addresses are
//! the same on every chain and are computed offline ([`rollups_plan`]). The token (`TestUsdc`
//! from the same crate: 6 decimals, open `mint`) is the first contract creation of the public
//! token-deployer key. The application is created by `ApplicationFactory` with its InputBox as
//! data availability. Every address is checked against [`pins`](devnet_pins); a mismatch is an
//! [`AddressDrift`] error.

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall as _, SolConstructor as _};
use anyhow::{Context, Result, ensure};
use cartesi_rollups_contracts::{
    application_factory::ApplicationFactory, erc20_portal::Erc20Portal,
    erc721_portal::Erc721Portal, erc1155_batch_portal::Erc1155BatchPortal,
    erc1155_single_portal::Erc1155SinglePortal, ether_portal::EtherPortal,
    i_application::IApplication, input_box::InputBox, refund_output_builder::RefundOutputBuilder,
    safe_erc20_transfer::SafeErc20Transfer, test_usdc::TestUsdc,
};

use devnet_pins::{
    ANVIL_ADDRESSES, CREATE2_DEPLOYER, CREATE2_SALT, TEMPLATE_HASH, TOKEN_DEPLOYER,
    TOKEN_DEPLOYER_FUNDING_WEI, addresses, roles,
};

/// A deployed address differs from its pin.
#[derive(Debug, thiserror::Error)]
#[error("address drifted: {contract} is at {actual}, pinned at {expected}")]
pub struct AddressDrift {
    /// Contract name.
    pub contract: &'static str,
    /// The pinned address.
    pub expected: Address,
    /// The address the deployment produced.
    pub actual: Address,
}

/// One contract of the CREATE2 deployment plan.
#[derive(Clone, Debug)]
pub struct PlannedContract {
    /// Contract name.
    pub name: &'static str,
    /// Creation code with the ABI-encoded constructor arguments appended.
    pub init_code: Bytes,
    /// `CREATE2(deployer, salt, keccak256(init_code))`.
    pub address: Address,
}

/// Addresses of a deployed devnet (all equal to the pins), plus the block that created the
/// application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `InputBox`.
    pub input_box: Address,
    /// `EtherPortal`.
    pub ether_portal: Address,
    /// `ERC20Portal`.
    pub erc20_portal: Address,
    /// `ERC721Portal`.
    pub erc721_portal: Address,
    /// `ERC1155SinglePortal`.
    pub erc1155_single_portal: Address,
    /// `ERC1155BatchPortal`.
    pub erc1155_batch_portal: Address,
    /// `SafeERC20Transfer`.
    pub safe_erc20_transfer: Address,
    /// `RefundOutputBuilder`.
    pub refund_output_builder: Address,
    /// `ApplicationFactory`.
    pub application_factory: Address,
    /// The ERC-20 test token (`TestUsdc`).
    pub token: Address,
    /// The wallet application.
    pub application: Address,
    /// The block in which the application was created (a safe scan floor for its inputs).
    pub application_block: u64,
}

fn create2(name: &'static str, init_code: Bytes) -> PlannedContract {
    let address = CREATE2_DEPLOYER.create2_from_code(CREATE2_SALT, &init_code);
    PlannedContract {
        name,
        init_code,
        address,
    }
}

fn with_args(code: &Bytes, args: Vec<u8>) -> Bytes {
    let mut init = code.to_vec();
    init.extend_from_slice(&args);
    init.into()
}

/// The Rollups contracts in deployment order, with their offline-computed addresses.
pub fn rollups_plan() -> Vec<PlannedContract> {
    let input_box = create2("InputBox", InputBox::BYTECODE.clone());
    let ether = create2("EtherPortal", EtherPortal::BYTECODE.clone());
    let erc20 = create2("ERC20Portal", Erc20Portal::BYTECODE.clone());
    let erc721 = create2("ERC721Portal", Erc721Portal::BYTECODE.clone());
    let single = create2("ERC1155SinglePortal", Erc1155SinglePortal::BYTECODE.clone());
    let batch = create2("ERC1155BatchPortal", Erc1155BatchPortal::BYTECODE.clone());
    let safe = create2("SafeERC20Transfer", SafeErc20Transfer::BYTECODE.clone());
    let refund_args = RefundOutputBuilder::constructorCall {
        etherPortal: ether.address,
        erc20Portal: erc20.address,
        erc721Portal: erc721.address,
        erc1155SinglePortal: single.address,
        erc1155BatchPortal: batch.address,
        safeTransfer: safe.address,
    }
    .abi_encode();
    let refund = create2(
        "RefundOutputBuilder",
        with_args(&RefundOutputBuilder::BYTECODE, refund_args),
    );
    let factory_args = ApplicationFactory::constructorCall {
        refundOutputBuilder: refund.address,
    }
    .abi_encode();
    let factory = create2(
        "ApplicationFactory",
        with_args(&ApplicationFactory::BYTECODE, factory_args),
    );
    vec![
        input_box, ether, erc20, erc721, single, batch, safe, refund, factory,
    ]
}

/// The pinned address of a planned contract, by name.
pub fn pinned_address(name: &str) -> Option<Address> {
    Some(match name {
        "InputBox" => addresses::INPUT_BOX,
        "EtherPortal" => addresses::ETHER_PORTAL,
        "ERC20Portal" => addresses::ERC20_PORTAL,
        "ERC721Portal" => addresses::ERC721_PORTAL,
        "ERC1155SinglePortal" => addresses::ERC1155_SINGLE_PORTAL,
        "ERC1155BatchPortal" => addresses::ERC1155_BATCH_PORTAL,
        "SafeERC20Transfer" => addresses::SAFE_ERC20_TRANSFER,
        "RefundOutputBuilder" => addresses::REFUND_OUTPUT_BUILDER,
        "ApplicationFactory" => addresses::APPLICATION_FACTORY,
        "TestUsdc" => addresses::TOKEN,
        "Application" => addresses::APPLICATION,
        _ => return None,
    })
}

fn check_pin(contract: &'static str, actual: Address) -> Result<()> {
    let expected = pinned_address(contract).unwrap_or(actual);
    if expected != actual {
        return Err(AddressDrift {
            contract,
            expected,
            actual,
        }
        .into());
    }
    Ok(())
}

/// The application's withdrawal configuration: all zero (a zero guardian never forecloses).
fn zero_withdrawal_config() -> ApplicationFactory::WithdrawalConfig {
    ApplicationFactory::WithdrawalConfig {
        guardian: Address::ZERO,
        log2LeavesPerAccount: 0,
        log2MaxNumOfAccounts: 0,
        accountsDriveStartIndex: 0,
        withdrawalOutputBuilder: Address::ZERO,
    }
}

/// Deploys everything (skipping contracts whose code is already there) and checks every
/// address against the pins. `provider` must sign for account 0 and the token deployer, and
/// the node must mine transactions (automine or interval mining).
pub async fn deploy(provider: &DynProvider) -> Result<Deployment> {
    let deployer = ANVIL_ADDRESSES[roles::DEPLOYER];
    for contract in rollups_plan() {
        check_pin(contract.name, contract.address)?;
        if has_code(provider, contract.address).await? {
            continue;
        }
        let mut data = CREATE2_SALT.to_vec();
        data.extend_from_slice(&contract.init_code);
        let tx = TransactionRequest::default()
            .with_from(deployer)
            .with_to(CREATE2_DEPLOYER)
            .with_input(data);
        send(provider, tx, contract.name).await?;
        ensure!(
            has_code(provider, contract.address).await?,
            "no code at {} after deploying {}",
            contract.address,
            contract.name
        );
    }
    deploy_token(provider).await?;
    let application_block = create_application(provider).await?;
    Ok(Deployment::pinned(application_block))
}

impl Deployment {
    /// The pinned addresses ([`devnet_pins::addresses`]) with the application created in
    /// `application_block`: what [`deploy`] returns, for a chain deployed earlier.
    pub fn pinned(application_block: u64) -> Self {
        Self {
            input_box: addresses::INPUT_BOX,
            ether_portal: addresses::ETHER_PORTAL,
            erc20_portal: addresses::ERC20_PORTAL,
            erc721_portal: addresses::ERC721_PORTAL,
            erc1155_single_portal: addresses::ERC1155_SINGLE_PORTAL,
            erc1155_batch_portal: addresses::ERC1155_BATCH_PORTAL,
            safe_erc20_transfer: addresses::SAFE_ERC20_TRANSFER,
            refund_output_builder: addresses::REFUND_OUTPUT_BUILDER,
            application_factory: addresses::APPLICATION_FACTORY,
            token: addresses::TOKEN,
            application: addresses::APPLICATION,
            application_block,
        }
    }
}

/// Funds the token deployer from account 0 and deploys `TestUsdc` as its first creation.
async fn deploy_token(provider: &DynProvider) -> Result<()> {
    check_pin("TestUsdc", TOKEN_DEPLOYER.create(0))?;
    if has_code(provider, addresses::TOKEN).await? {
        return Ok(());
    }
    let nonce = provider
        .get_transaction_count(TOKEN_DEPLOYER)
        .await
        .context("token deployer nonce")?;
    ensure!(
        nonce == 0,
        "the token deployer already used nonce {nonce} and the token is missing"
    );
    let fund = TransactionRequest::default()
        .with_from(ANVIL_ADDRESSES[roles::DEPLOYER])
        .with_to(TOKEN_DEPLOYER)
        .with_value(U256::from(TOKEN_DEPLOYER_FUNDING_WEI));
    send(provider, fund, "funding the token deployer").await?;
    let deploy = TransactionRequest::default()
        .with_from(TOKEN_DEPLOYER)
        .with_deploy_code(TestUsdc::BYTECODE.clone());
    let receipt = send(provider, deploy, "TestUsdc").await?;
    let actual = receipt.contract_address.unwrap_or_default();
    check_pin("TestUsdc", actual)
}

/// Creates the application (salted `newApplication`, salt 0) and returns its creation block.
async fn create_application(provider: &DynProvider) -> Result<u64> {
    let owner = ANVIL_ADDRESSES[roles::DEPLOYER];
    let salt = B256::ZERO;
    let factory = ApplicationFactory::new(addresses::APPLICATION_FACTORY, provider);
    let predicted = factory
        .calculateApplicationAddress(
            Address::ZERO,
            owner,
            TEMPLATE_HASH,
            addresses::INPUT_BOX,
            zero_withdrawal_config(),
            salt,
        )
        .call()
        .await
        .context("ApplicationFactory.calculateApplicationAddress")?;
    check_pin("Application", predicted)?;
    if !has_code(provider, predicted).await? {
        let call = ApplicationFactory::newApplication_1Call {
            outputsMerkleRootValidator: Address::ZERO,
            appOwner: owner,
            templateHash: TEMPLATE_HASH,
            inputBox: addresses::INPUT_BOX,
            withdrawalConfig: zero_withdrawal_config(),
            salt,
        };
        let tx = TransactionRequest::default()
            .with_from(owner)
            .with_to(addresses::APPLICATION_FACTORY)
            .with_input(call.abi_encode());
        send(provider, tx, "ApplicationFactory.newApplication").await?;
    }
    ensure!(
        has_code(provider, predicted).await?,
        "no application code at {predicted}"
    );
    let app = IApplication::new(predicted, provider);
    let input_box = app
        .getInputBox()
        .call()
        .await
        .context("Application.getInputBox")?;
    ensure!(
        input_box == addresses::INPUT_BOX,
        "the application reads inputs from {input_box}, expected {}",
        addresses::INPUT_BOX
    );
    let block = app
        .getDeploymentBlockNumber()
        .call()
        .await
        .context("Application.getDeploymentBlockNumber")?;
    u64::try_from(block).context("application deployment block does not fit in u64")
}

async fn has_code(provider: &DynProvider, address: Address) -> Result<bool> {
    let code = provider
        .get_code_at(address)
        .await
        .with_context(|| format!("eth_getCode {address}"))?;
    Ok(!code.is_empty())
}

/// Sends a transaction, waits for its receipt and requires success.
pub(crate) async fn send(
    provider: &DynProvider,
    tx: TransactionRequest,
    what: &str,
) -> Result<TransactionReceipt> {
    let receipt = provider
        .send_transaction(tx)
        .await
        .with_context(|| format!("sending {what}"))?
        .get_receipt()
        .await
        .with_context(|| format!("waiting for the receipt of {what}"))?;
    ensure!(
        receipt.status(),
        "{what} reverted (tx {})",
        receipt.transaction_hash
    );
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_reproduces_every_pinned_address() {
        let plan = rollups_plan();
        assert_eq!(plan.len(), 9);
        for contract in &plan {
            assert_eq!(
                Some(contract.address),
                pinned_address(contract.name),
                "{} drifted",
                contract.name
            );
        }
        assert_eq!(TOKEN_DEPLOYER.create(0), addresses::TOKEN);
    }

    #[test]
    fn a_drift_is_reported_with_both_addresses() {
        let err = check_pin("InputBox", Address::ZERO).unwrap_err();
        let drift = err.downcast_ref::<AddressDrift>().unwrap();
        assert_eq!(drift.expected, addresses::INPUT_BOX);
        assert!(err.to_string().starts_with("address drifted: InputBox"));
    }
}

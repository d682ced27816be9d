//! Contract deployment at the pinned, deterministic addresses.

use alloy::primitives::Address;
use alloy::providers::Provider as _;
use canonical::WalletConfig;
use cartesi_rollups_contracts::{
    i_application::IApplication, input_box::InputBox, test_usdc::TestUsdc,
};
use devnet_pins::{ANVIL_ADDRESSES, TEMPLATE_HASH, TEMPLATE_HASH_PREIMAGE, addresses};
use devnet_stack::{Deployment, Devnet, rollups_plan};

fn pinned() -> [(&'static str, Address); 11] {
    [
        ("InputBox", addresses::INPUT_BOX),
        ("EtherPortal", addresses::ETHER_PORTAL),
        ("ERC20Portal", addresses::ERC20_PORTAL),
        ("ERC721Portal", addresses::ERC721_PORTAL),
        ("ERC1155SinglePortal", addresses::ERC1155_SINGLE_PORTAL),
        ("ERC1155BatchPortal", addresses::ERC1155_BATCH_PORTAL),
        ("SafeERC20Transfer", addresses::SAFE_ERC20_TRANSFER),
        ("RefundOutputBuilder", addresses::REFUND_OUTPUT_BUILDER),
        ("ApplicationFactory", addresses::APPLICATION_FACTORY),
        ("TestUsdc", addresses::TOKEN),
        ("Application", addresses::APPLICATION),
    ]
}

fn deployed(d: &Deployment) -> [Address; 11] {
    [
        d.input_box,
        d.ether_portal,
        d.erc20_portal,
        d.erc721_portal,
        d.erc1155_single_portal,
        d.erc1155_batch_portal,
        d.safe_erc20_transfer,
        d.refund_output_builder,
        d.application_factory,
        d.token,
        d.application,
    ]
}

#[tokio::test]
async fn contracts_land_at_the_pinned_addresses_on_every_run() {
    let (a, b) = tokio::join!(Devnet::start(), Devnet::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.deployment(),
        b.deployment(),
        "deployments differ between runs"
    );
    let d = a.deployment();
    let provider = a.provider();
    for ((name, pin), actual) in pinned().into_iter().zip(deployed(d)) {
        assert_eq!(actual, pin, "{name}");
        assert!(
            !provider.get_code_at(actual).await.unwrap().is_empty(),
            "no code for {name}"
        );
    }
    // The plan the deployment followed is the offline one.
    for contract in rollups_plan() {
        assert!(
            pinned().contains(&(contract.name, contract.address)),
            "{}",
            contract.name
        );
    }

    // The wallet's devnet configuration names exactly this portal and token.
    let config = WalletConfig::devnet();
    assert_eq!(config.erc20_portal_address, d.erc20_portal);
    assert_eq!(config.supported_erc20_token, d.token);
    assert_eq!(config.sequencer_address, ANVIL_ADDRESSES[9]);
    assert_eq!(config.chain_id, a.anvil().chain_id());

    let input_box = InputBox::new(d.input_box, provider);
    let version = input_box.version().call().await.unwrap();
    assert_eq!((version.major, version.minor, version.patch), (3, 0, 0));
    assert_eq!(version.preRelease, "alpha.10");
    assert_eq!(
        input_box
            .getNumberOfInputs(d.application)
            .call()
            .await
            .unwrap(),
        0
    );

    let app = IApplication::new(d.application, provider);
    assert_eq!(app.getInputBox().call().await.unwrap(), d.input_box);
    assert_eq!(app.getTemplateHash().call().await.unwrap(), TEMPLATE_HASH);
    assert_eq!(
        alloy::primitives::keccak256(TEMPLATE_HASH_PREIMAGE),
        TEMPLATE_HASH
    );
    assert_eq!(app.owner().call().await.unwrap(), ANVIL_ADDRESSES[0]);
    assert!(!app.isForeclosed().call().await.unwrap());
    assert_eq!(
        app.getDeploymentBlockNumber().call().await.unwrap(),
        d.application_block
    );
    assert!(d.application_block <= a.block_number().await.unwrap());

    let token = TestUsdc::new(d.token, provider);
    assert_eq!(token.decimals().call().await.unwrap(), 6);
    assert_eq!(token.totalSupply().call().await.unwrap(), 0);
}

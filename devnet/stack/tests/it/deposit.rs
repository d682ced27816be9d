//! Deposits through the ERC-20 portal and direct inputs decode as the canonical machine sees them.

use alloy::primitives::{Bytes, U256};
use canonical::{Erc20Deposit, EvmAdvance};
use devnet_pins::{ANVIL_ADDRESSES, CHAIN_ID, roles};
use devnet_stack::Devnet;

#[tokio::test]
async fn a_portal_deposit_becomes_an_evm_advance_with_the_packed_deposit() {
    let devnet = Devnet::start().await.unwrap();
    let d = *devnet.deployment();
    let alice = ANVIL_ADDRESSES[roles::ALICE];
    let amount = U256::from(600_000u64);

    let added = devnet
        .l1()
        .deposit_erc20(alice, amount, Bytes::new())
        .await
        .unwrap();
    assert_eq!(added.index, 0);
    let advance = EvmAdvance::decode(&added.input).unwrap();
    assert_eq!(advance.chain_id, CHAIN_ID);
    assert_eq!(advance.app_contract, d.application);
    assert_eq!(advance.msg_sender, d.erc20_portal);
    assert_eq!(advance.block_number, added.block_number);
    assert_eq!(advance.index, U256::ZERO);
    assert_eq!(
        advance.encode(),
        added.input.to_vec(),
        "re-encoding is byte-identical"
    );
    let deposit = Erc20Deposit::decode(&advance.payload).unwrap();
    assert_eq!(deposit.token, d.token);
    assert_eq!(deposit.depositor, alice);
    assert_eq!(deposit.value, amount);
    assert!(deposit.exec_layer_data.is_empty());

    // The tokens moved to the application.
    assert_eq!(
        devnet.l1().token_balance(d.application).await.unwrap(),
        amount
    );
    assert_eq!(devnet.l1().token_balance(alice).await.unwrap(), U256::ZERO);

    // A second deposit with exec-layer data, then a direct input: indices continue.
    let data = Bytes::from_static(b"\x01\x02\x03");
    let second = devnet
        .l1()
        .deposit_erc20(alice, U256::from(7u64), data.clone())
        .await
        .unwrap();
    assert_eq!(second.index, 1);
    let deposit =
        Erc20Deposit::decode(&EvmAdvance::decode(&second.input).unwrap().payload).unwrap();
    assert_eq!(
        (deposit.value, deposit.exec_layer_data),
        (U256::from(7u64), data)
    );

    let sender = ANVIL_ADDRESSES[roles::DIRECT_INPUTS];
    let direct = devnet
        .l1()
        .add_input(sender, Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(direct.index, 2);
    let advance = EvmAdvance::decode(&direct.input).unwrap();
    assert_eq!(advance.msg_sender, sender);
    assert_eq!(advance.payload, Bytes::from_static(b"hello"));
    assert!(advance.block_number > added.block_number);
    assert_eq!(devnet.l1().input_count().await.unwrap(), 3);
}

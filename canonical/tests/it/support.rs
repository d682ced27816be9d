//! Builders for inputs the fold consumes.

use alloy_primitives::{Address, B256, U256, address, b256};
use canonical::{Batch, Frame, InputBuilder, Method, WalletConfig, WireUserOp, address_of};

pub(crate) const APP: Address = address!("0xab7528bb862fB57E8A2BCd567a2e929a0Be56a5e");
pub(crate) const CHAIN: u64 = 31337;
/// Anvil accounts 1 and 2.
pub(crate) const ALICE_KEY: B256 =
    b256!("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
pub(crate) const BOB_KEY: B256 =
    b256!("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

pub(crate) fn alice() -> Address {
    address_of(&ALICE_KEY).unwrap()
}

pub(crate) fn bob() -> Address {
    address_of(&BOB_KEY).unwrap()
}

pub(crate) fn config() -> WalletConfig {
    WalletConfig::devnet()
}

fn builder() -> InputBuilder {
    InputBuilder::new(config(), APP)
}

/// Raw `EvmAdvance` calldata for an input from `sender` at `block`.
pub(crate) fn input(sender: Address, block: u64, index: u64, payload: Vec<u8>) -> Vec<u8> {
    builder().advance(sender, block, index, payload)
}

pub(crate) fn deposit(depositor: Address, value: u64, block: u64, index: u64) -> Vec<u8> {
    builder().deposit(depositor, U256::from(value), block, index)
}

pub(crate) fn signed(key: &B256, nonce: u32, max_fee: u16, method: Method) -> WireUserOp {
    builder().sign(key, nonce, max_fee, &method).unwrap()
}

pub(crate) fn transfer(key: &B256, nonce: u32, amount: u64, to: Address) -> WireUserOp {
    signed(
        key,
        nonce,
        2000,
        Method::Transfer {
            amount: U256::from(amount),
            to,
        },
    )
}

pub(crate) fn frame(safe_block: u64, fee_price: u16, user_ops: Vec<WireUserOp>) -> Frame {
    Frame {
        user_ops,
        safe_block,
        fee_price,
    }
}

pub(crate) fn batch(nonce: u64, block: u64, index: u64, frames: Vec<Frame>) -> Vec<u8> {
    builder().batch(&Batch { nonce, frames }, block, index)
}

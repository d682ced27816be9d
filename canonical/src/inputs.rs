//! Builders for the raw inputs the fold consumes, for workloads, vectors and tests.

use alloy_primitives::{Address, B256, Bytes, U256};

use crate::advance::{Erc20Deposit, EvmAdvance};
use crate::batch::{Batch, WireUserOp};
use crate::config::WalletConfig;
use crate::eip712::{UserOp, sign_user_op};
use crate::method::Method;

/// Builds `EvmAdvance` calldata for one application on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputBuilder {
    /// The wallet configuration (portal, token, sequencer).
    pub config: WalletConfig,
    /// The chain id written into every advance and the EIP-712 domain.
    pub chain_id: u64,
    /// The application contract.
    pub app: Address,
}

impl InputBuilder {
    /// A builder for `app` under `config` on `config.chain_id`.
    pub fn new(config: WalletConfig, app: Address) -> Self {
        Self {
            config,
            chain_id: config.chain_id,
            app,
        }
    }

    /// The calldata of an input from `sender` with `payload`, included at `block` as `index`.
    /// The timestamp is `12 · block`.
    pub fn advance(&self, sender: Address, block: u64, index: u64, payload: Vec<u8>) -> Vec<u8> {
        EvmAdvance {
            chain_id: self.chain_id,
            app_contract: self.app,
            msg_sender: sender,
            block_number: block,
            block_timestamp: U256::from(block).saturating_mul(U256::from(12)),
            prev_randao: U256::ZERO,
            index: U256::from(index),
            payload: payload.into(),
        }
        .encode()
    }

    /// A portal deposit of `value` of the supported token by `depositor`.
    pub fn deposit(&self, depositor: Address, value: U256, block: u64, index: u64) -> Vec<u8> {
        let payload = Erc20Deposit {
            token: self.config.supported_erc20_token,
            depositor,
            value,
            exec_layer_data: Bytes::new(),
        }
        .encode();
        self.advance(self.config.erc20_portal_address, block, index, payload)
    }

    /// A batch posted by the configured sequencer.
    pub fn batch(&self, batch: &Batch, block: u64, index: u64) -> Vec<u8> {
        self.advance(self.config.sequencer_address, block, index, batch.encode())
    }

    /// A user op signed with `secret` for this application and chain; `None` for a bad key.
    pub fn sign(
        &self,
        secret: &B256,
        nonce: u32,
        max_fee: u16,
        method: &Method,
    ) -> Option<WireUserOp> {
        let op = UserOp {
            nonce,
            max_fee,
            data: method.encode().into(),
        };
        let signature = sign_user_op(secret, self.chain_id, self.app, &op)?;
        Some(WireUserOp {
            nonce,
            max_fee,
            data: op.data,
            signature: signature.to_vec().into(),
        })
    }
}

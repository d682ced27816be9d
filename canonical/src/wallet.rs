//! The wallet application: balances, nonces, validation and execution (`protocol.md` §3).

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};

use crate::advance::Erc20Deposit;
use crate::config::WalletConfig;
use crate::eip712::UserOp;
use crate::fee::{MAX_EXPONENT, try_fee_to_linear};
use crate::method::Method;
use crate::output::Output;
use crate::snapshot::{SnapshotBalance, SnapshotNonce, WalletSnapshot};

/// Why a user operation is rejected (no state change at all). `Display` is the exact message
/// the sequencer returns in HTTP 422 bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The op's fee ceiling is below the frame fee.
    #[error("max fee {max_fee} below base fee {base_fee}")]
    InvalidMaxFee {
        /// The op's `max_fee`.
        max_fee: u16,
        /// The frame fee exponent.
        base_fee: u16,
    },
    /// The op's nonce is not the sender's next nonce.
    #[error("bad nonce: expected {expected}, got {got}")]
    InvalidNonce {
        /// The sender's next nonce.
        expected: u32,
        /// The op's nonce.
        got: u32,
    },
    /// The sender's nonce is `u32::MAX` and cannot be bumped.
    #[error("nonce exhausted")]
    NonceExhausted,
    /// The sender cannot pay the frame fee.
    #[error("insufficient balance for fee: required {required}, available {available}")]
    InsufficientFeeBalance {
        /// `fee_to_linear(F)`.
        required: U256,
        /// The sender's balance.
        available: U256,
    },
    /// The frame fee exponent is above [`MAX_EXPONENT`]: fatal in the canonical machine.
    #[error("fee exponent {0} above the maximum {MAX_EXPONENT}")]
    FeeExponentOutOfRange(u16),
}

/// A condition under which the canonical guest panics: the machine halts for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fatal {
    /// The input is not a decodable `EvmAdvance` (or its chain id or block overflow 64 bits).
    #[error("undecodable advance: {0}")]
    BadAdvance(#[from] crate::DecodeError),
    /// A frame fee exponent above [`MAX_EXPONENT`] reached fee evaluation.
    #[error("fee exponent {0} above the maximum")]
    FeeExponent(u16),
    /// A balance would exceed 2^256 - 1.
    #[error("balance overflow for {0}")]
    BalanceOverflow(Address),
    /// `executed_input_count` would overflow.
    #[error("executed input count overflow")]
    CountOverflow,
    /// The batch nonce would overflow.
    #[error("batch nonce overflow")]
    BatchNonceOverflow,
}

/// Wallet state with its configuration. Maps are ordered, so every export is deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    config: WalletConfig,
    balances: BTreeMap<Address, U256>,
    nonces: BTreeMap<Address, u32>,
    executed_input_count: u64,
    last_executed_safe_block: u64,
}

impl Wallet {
    /// The empty wallet of a configuration.
    pub fn new(config: WalletConfig) -> Self {
        Self {
            config,
            balances: BTreeMap::new(),
            nonces: BTreeMap::new(),
            executed_input_count: 0,
            last_executed_safe_block: 0,
        }
    }

    /// Rebuilds a wallet from a snapshot; `chain_id` completes the configuration.
    ///
    /// Returns `None` if the snapshot has duplicate addresses (a decoded snapshot never does).
    pub fn from_snapshot(snapshot: &WalletSnapshot, chain_id: u64) -> Option<Self> {
        let config = WalletConfig {
            erc20_portal_address: snapshot.erc20_portal_address,
            supported_erc20_token: snapshot.supported_erc20_token,
            sequencer_address: snapshot.sequencer_address,
            chain_id,
        };
        let balances: BTreeMap<_, _> = snapshot
            .balances
            .iter()
            .map(|entry| (entry.address, entry.balance))
            .collect();
        let nonces: BTreeMap<_, _> = snapshot
            .nonces
            .iter()
            .map(|entry| (entry.address, entry.nonce))
            .collect();
        if balances.len() != snapshot.balances.len() || nonces.len() != snapshot.nonces.len() {
            return None;
        }
        Some(Self {
            config,
            balances,
            nonces,
            executed_input_count: snapshot.executed_input_count,
            last_executed_safe_block: snapshot.last_executed_safe_block,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &WalletConfig {
        &self.config
    }

    /// The canonical snapshot of the current state.
    pub fn snapshot(&self) -> WalletSnapshot {
        WalletSnapshot {
            erc20_portal_address: self.config.erc20_portal_address,
            supported_erc20_token: self.config.supported_erc20_token,
            sequencer_address: self.config.sequencer_address,
            balances: self
                .balances
                .iter()
                .map(|(&address, &balance)| SnapshotBalance { address, balance })
                .collect(),
            nonces: self
                .nonces
                .iter()
                .map(|(&address, &nonce)| SnapshotNonce { address, nonce })
                .collect(),
            executed_input_count: self.executed_input_count,
            last_executed_safe_block: self.last_executed_safe_block,
        }
    }

    /// Balance of `address` (absent = 0).
    pub fn balance(&self, address: Address) -> U256 {
        self.balances.get(&address).copied().unwrap_or_default()
    }

    /// Next nonce of `address` (absent = 0).
    pub fn nonce(&self, address: Address) -> u32 {
        self.nonces.get(&address).copied().unwrap_or_default()
    }

    /// Number of executed application inputs.
    pub fn executed_input_count(&self) -> u64 {
        self.executed_input_count
    }

    /// Highest safe block of an executed input.
    pub fn last_executed_safe_block(&self) -> u64 {
        self.last_executed_safe_block
    }

    /// Validates `op` from `sender` against frame fee `fee_price`, in the order of §3.5.
    /// Returns the fee in token units.
    pub fn validate(
        &self,
        sender: Address,
        op: &UserOp,
        fee_price: u16,
    ) -> Result<U256, Rejection> {
        self.validate_fields(
            sender,
            op.nonce,
            op.max_fee,
            fee_price,
            try_fee_to_linear(fee_price),
        )
    }

    /// [`validate`](Self::validate) of an op given by its nonce and fee ceiling, with the
    /// frame fee's token units already evaluated (`required`: `None` above [`MAX_EXPONENT`]),
    /// so that a frame evaluates its fee once for all its ops.
    pub(crate) fn validate_fields(
        &self,
        sender: Address,
        nonce: u32,
        max_fee: u16,
        fee_price: u16,
        required: Option<U256>,
    ) -> Result<U256, Rejection> {
        if max_fee < fee_price {
            return Err(Rejection::InvalidMaxFee {
                max_fee,
                base_fee: fee_price,
            });
        }
        let expected = self.nonce(sender);
        if nonce != expected {
            return Err(Rejection::InvalidNonce {
                expected,
                got: nonce,
            });
        }
        if expected == u32::MAX {
            return Err(Rejection::NonceExhausted);
        }
        let required = required.ok_or(Rejection::FeeExponentOutOfRange(fee_price))?;
        let available = self.balance(sender);
        if available < required {
            return Err(Rejection::InsufficientFeeBalance {
                required,
                available,
            });
        }
        Ok(required)
    }

    /// Executes a validated op (§3.6): bump the nonce, charge `fee`, run the method, progress
    /// with clock `safe_block`. Outputs are appended to `outputs`.
    pub fn execute(
        &mut self,
        sender: Address,
        op: &UserOp,
        fee: U256,
        safe_block: u64,
        outputs: &mut Vec<Output>,
    ) -> Result<(), Fatal> {
        self.execute_data(sender, &op.data, fee, safe_block, outputs)
    }

    /// [`execute`](Self::execute) of an op given by its method bytes.
    ///
    /// Each step reads and writes its balance in one map lookup; an absent entry is read as 0
    /// and written back, exactly as a read followed by an insert would.
    pub(crate) fn execute_data(
        &mut self,
        sender: Address,
        data: &[u8],
        fee: U256,
        safe_block: u64,
        outputs: &mut Vec<Output>,
    ) -> Result<(), Fatal> {
        let nonce = self.nonces.entry(sender).or_default();
        *nonce = nonce.wrapping_add(1);
        let balance = self.balances.entry(sender).or_default();
        *balance = balance.saturating_sub(fee);
        self.credit(self.config.sequencer_address, fee)?;

        // The guards debit the sender when its balance covers the amount.
        match Method::decode(data) {
            Ok(Method::Transfer { amount, to }) if self.debit(sender, amount) => {
                self.credit(to, amount)?;
                outputs.push(Output::transfer_notice(sender, to, amount));
            }
            Ok(Method::Withdrawal { amount }) if self.debit(sender, amount) => {
                outputs.push(Output::withdrawal_voucher(
                    self.config.supported_erc20_token,
                    sender,
                    amount,
                ));
            }
            // Insufficient balance for the amount, or undecodable data: a business no-op.
            _ => {}
        }
        self.progress(safe_block)
    }

    /// Takes `amount` from `address` if its balance (absent: 0) covers it; `false`, and nothing
    /// changed, if not.
    fn debit(&mut self, address: Address, amount: U256) -> bool {
        match self.balances.get_mut(&address) {
            Some(balance) if *balance >= amount => {
                *balance -= amount;
                true
            }
            Some(_) => false,
            None if amount.is_zero() => {
                self.balances.insert(address, U256::ZERO);
                true
            }
            None => false,
        }
    }

    /// Executes a direct input from `sender` included at L1 block `block` (§3.7).
    pub fn execute_direct(
        &mut self,
        sender: Address,
        payload: &[u8],
        block: u64,
        outputs: &mut Vec<Output>,
    ) -> Result<(), Fatal> {
        let deposit = Erc20Deposit::decode(payload).ok().filter(|deposit| {
            sender == self.config.erc20_portal_address
                && deposit.token == self.config.supported_erc20_token
        });
        if let Some(deposit) = deposit {
            self.credit(deposit.depositor, deposit.value)?;
            outputs.push(Output::deposit_notice(
                deposit.token,
                deposit.depositor,
                deposit.value,
            ));
        }
        self.progress(block)
    }

    fn credit(&mut self, address: Address, amount: U256) -> Result<(), Fatal> {
        let balance = self.balances.entry(address).or_default();
        *balance = balance
            .checked_add(amount)
            .ok_or(Fatal::BalanceOverflow(address))?;
        Ok(())
    }

    fn progress(&mut self, block: u64) -> Result<(), Fatal> {
        self.executed_input_count = self
            .executed_input_count
            .checked_add(1)
            .ok_or(Fatal::CountOverflow)?;
        self.last_executed_safe_block = self.last_executed_safe_block.max(block);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Bytes;

    use super::*;
    use crate::fee::fee_to_linear;

    fn funded(sender: Address, amount: u64) -> Wallet {
        let config = WalletConfig::devnet();
        let mut wallet = Wallet::new(config);
        let deposit = Erc20Deposit {
            token: config.supported_erc20_token,
            depositor: sender,
            value: U256::from(amount),
            exec_layer_data: Bytes::new(),
        };
        let mut outputs = Vec::new();
        wallet
            .execute_direct(
                config.erc20_portal_address,
                &deposit.encode(),
                5,
                &mut outputs,
            )
            .unwrap();
        assert_eq!(outputs.len(), 1);
        wallet
    }

    #[test]
    fn validation_order_and_messages() {
        let alice = Address::repeat_byte(0xa1);
        let wallet = funded(alice, 10);
        let op = |nonce, max_fee| UserOp {
            nonce,
            max_fee,
            data: Bytes::new(),
        };
        let err = wallet.validate(alice, &op(9, 1), 2).unwrap_err();
        assert_eq!(err.to_string(), "max fee 1 below base fee 2");
        let err = wallet.validate(alice, &op(9, 2), 2).unwrap_err();
        assert_eq!(err.to_string(), "bad nonce: expected 0, got 9");
        let err = wallet.validate(alice, &op(0, 1356), 1356).unwrap_err();
        assert_eq!(
            err.to_string(),
            "insufficient balance for fee: required 38276, available 10"
        );
        assert_eq!(wallet.validate(alice, &op(0, 5), 0), Ok(U256::from(1)));
        assert_eq!(
            wallet.validate(alice, &op(0, u16::MAX), MAX_EXPONENT + 1),
            Err(Rejection::FeeExponentOutOfRange(MAX_EXPONENT + 1))
        );
    }

    #[test]
    fn transfer_charges_the_frame_fee_and_moves_funds() {
        let alice = Address::repeat_byte(0xa1);
        let bob = Address::repeat_byte(0xb0);
        let mut wallet = funded(alice, 100_000);
        let data = Method::Transfer {
            amount: U256::from(1000),
            to: bob,
        }
        .encode();
        let op = UserOp {
            nonce: 0,
            max_fee: 2000,
            data: data.into(),
        };
        let fee = wallet.validate(alice, &op, 1356).unwrap();
        assert_eq!(fee, fee_to_linear(1356));
        let mut outputs = Vec::new();
        wallet.execute(alice, &op, fee, 42, &mut outputs).unwrap();
        assert_eq!(wallet.balance(alice), U256::from(100_000 - 38276 - 1000));
        assert_eq!(wallet.balance(bob), U256::from(1000));
        assert_eq!(wallet.balance(wallet.config().sequencer_address), fee);
        assert_eq!(wallet.nonce(alice), 1);
        assert_eq!(wallet.executed_input_count(), 2);
        assert_eq!(wallet.last_executed_safe_block(), 42);
        assert_eq!(
            outputs,
            vec![Output::transfer_notice(alice, bob, U256::from(1000))]
        );
    }

    #[test]
    fn business_no_op_keeps_nonce_and_fee() {
        let alice = Address::repeat_byte(0xa1);
        let bob = Address::repeat_byte(0xb0);
        let mut wallet = funded(alice, 10);
        let data = Method::Transfer {
            amount: U256::from(1000),
            to: bob,
        }
        .encode();
        let op = UserOp {
            nonce: 0,
            max_fee: 0,
            data: data.into(),
        };
        let fee = wallet.validate(alice, &op, 0).unwrap();
        let mut outputs = Vec::new();
        wallet.execute(alice, &op, fee, 7, &mut outputs).unwrap();
        assert!(outputs.is_empty());
        assert_eq!(wallet.balance(alice), U256::from(9));
        assert_eq!(wallet.nonce(alice), 1);
        assert!(
            !wallet
                .snapshot()
                .balances
                .iter()
                .any(|entry| entry.address == bob)
        );
    }

    #[test]
    fn ignored_directs_still_progress() {
        let mut wallet = Wallet::new(WalletConfig::devnet());
        let mut outputs = Vec::new();
        wallet
            .execute_direct(Address::repeat_byte(7), b"hello", 9, &mut outputs)
            .unwrap();
        assert!(outputs.is_empty());
        assert_eq!(wallet.executed_input_count(), 1);
        assert_eq!(wallet.last_executed_safe_block(), 9);
        assert!(wallet.snapshot().balances.is_empty());
    }
}

//! The sequencer tests' L1: the library's synthetic L1 ([`SyntheticL1`]: blocks by tag or
//! number with safe = latest − 1, `InputAdded` logs, `getNumberOfInputs` at a block, the
//! submitter's `eth_sendTransaction` of `addInput`, transaction lookups) with manual mining,
//! behind the few controls the tests use: mining by hand, queued portal deposits and direct
//! inputs, a forgetful pool.

use alloy::primitives::{Address, U256};
use synthetic_l1::SyntheticL1;

/// The InputBox of the chain (the pinned devnet address).
pub(crate) use devnet_pins::addresses::INPUT_BOX;

/// The application of the chain (the pinned devnet address).
pub(crate) use devnet_pins::addresses::APPLICATION as APP;

/// The L1; dropping it stops the server.
pub(crate) struct FakeL1(SyntheticL1);

impl FakeL1 {
    /// A chain with `blocks` empty blocks after genesis, manual mining.
    pub(crate) async fn start(blocks: u64) -> Self {
        Self(SyntheticL1::builder().blocks(blocks).start().await.unwrap())
    }

    pub(crate) fn url(&self) -> String {
        self.0.url()
    }

    pub(crate) fn mine(&self, blocks: u64) {
        self.0.mine(blocks);
    }

    pub(crate) fn latest(&self) -> u64 {
        self.0.latest()
    }

    /// Forgets every unmined transaction, as a node restart or `anvil_dropAllTransactions`.
    pub(crate) fn drop_pending(&self) -> usize {
        self.0.drop_pending()
    }

    /// `eth_sendTransaction` calls received.
    pub(crate) fn sends(&self) -> u64 {
        self.0.sends()
    }

    /// Queues an ERC-20 portal deposit (lands in the next mined block).
    pub(crate) fn deposit(&self, depositor: Address, value: u64) {
        self.0.queue_deposit(depositor, U256::from(value));
    }

    /// Queues a direct input from `sender`.
    pub(crate) fn direct(&self, sender: Address, payload: &[u8]) {
        self.0.queue_direct(sender, payload.to_vec());
    }

    /// The `EvmAdvance` calldata of every input in blocks `..= block`, in index order.
    pub(crate) fn inputs_up_to(&self, block: u64) -> Vec<Vec<u8>> {
        self.0
            .inputs_up_to(block)
            .into_iter()
            .map(|input| input.raw.to_vec())
            .collect()
    }
}

//! The funds check before an op is sent: the wallet executes an op whose sender cannot pay the
//! amount as a no-op that still charges the fee and takes the nonce, so `devnet tx` refuses
//! one it cannot prove affordable from the finalized state.

use alloy::primitives::U256;
use anyhow::{Result, anyhow, bail};
use canonical::{WalletSnapshot, fee_to_linear};

use super::{Account, Target};

/// The largest finalized state read for the check.
const MAX_STATE_BYTES: u64 = 1 << 26;

impl Target {
    /// Refuses an op of `amount` signed with `nonce` and `max_fee` unless the finalized state
    /// shows no op of `from` still pending and a balance covering the amount plus the highest
    /// fee the op can be charged.
    pub(super) async fn check_funds(
        &self,
        from: Account,
        amount: U256,
        nonce: u32,
        max_fee: u16,
    ) -> Result<()> {
        let state = self
            .sequencer
            .download_state(MAX_STATE_BYTES, None)
            .await?
            .modified()
            .ok_or_else(|| anyhow!("the sequencer served no finalized state"))?;
        let snapshot = WalletSnapshot::decode(&state.bytes)
            .map_err(|e| anyhow!("decoding the finalized state: {e}"))?;
        afford(&snapshot, from, amount, nonce, max_fee)
    }
}

fn afford(
    snapshot: &WalletSnapshot,
    from: Account,
    amount: U256,
    nonce: u32,
    max_fee: u16,
) -> Result<()> {
    let finalized_nonce = snapshot.nonce_of(from.address).unwrap_or(0);
    if nonce > finalized_nonce {
        bail!(
            "{} has {} op(s) not finalized yet, so the balance left for this one is not known: wait for them (`--wait finalized`) or pass --skip-balance-check; nothing was sent",
            from.address,
            nonce - finalized_nonce
        );
    }
    let balance = snapshot.balance_of(from.address).unwrap_or_default();
    let needed = amount.saturating_add(fee_to_linear(max_fee));
    if balance < needed {
        bail!(
            "insufficient balance: {} has {balance} finalized, this op needs {needed} (amount {amount} + fee up to {}); a pending deposit counts once finalized (`tx deposit --wait finalized`); nothing was sent",
            from.address,
            fee_to_linear(max_fee)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use canonical::WalletConfig;

    use super::*;

    #[test]
    fn only_provably_affordable_ops_pass() {
        let alice: Account = "alice".parse().unwrap();
        let genesis = WalletSnapshot::genesis(&WalletConfig::devnet());
        let err = afford(&genesis, alice, U256::from(1), 0, 1356).unwrap_err();
        assert!(err.to_string().starts_with("insufficient balance"), "{err}");
        let err = afford(&genesis, alice, U256::from(1), 2, 1356).unwrap_err();
        assert!(err.to_string().contains("2 op(s) not finalized"), "{err}");
    }
}

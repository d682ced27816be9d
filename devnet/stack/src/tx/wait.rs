//! Waiting for what `devnet tx` sent: an L1 input's block, then a finalized checkpoint that
//! executed it; an op's finalized checkpoint (the sender's nonce in the finalized state). Every
//! wait polls with a deadline and ends as soon as the devnet stops.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use canonical::WalletSnapshot;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Account, Target, Wait};

/// The poll period of a wait.
const STEP: Duration = Duration::from_millis(200);
/// The largest finalized state read while waiting.
const MAX_STATE_BYTES: u64 = 1 << 26;

/// A refused op, said plainly: a nonce another op took meanwhile, an unaffordable op, or the
/// sequencer's own words. Nothing was applied in either case.
pub(super) fn rejection(
    error: sequencer_client::Error,
    from: Account,
    nonce: u32,
) -> anyhow::Error {
    let Some(api) = error.api_error() else {
        return anyhow::Error::new(error).context("POST /tx");
    };
    let message = api.message.clone();
    if message.starts_with("bad nonce") {
        anyhow!(
            "nonce race: {} signed nonce {nonce} but another op took it first ({message}); nothing was applied, send it again",
            from.address
        )
    } else if message.contains("insufficient balance") {
        anyhow!(
            "insufficient balance: {} cannot pay this op ({message}); nothing was applied (a deposit is spendable once the sequencer has read it from L1)",
            from.address
        )
    } else {
        anyhow!("the sequencer refused the op ({api}); nothing was applied")
    }
}

impl Target {
    /// Waits for an L1 input: its block (`soft`), then a finalized checkpoint that executed it
    /// (`finalized`).
    pub(super) async fn wait_l1_input(
        &self,
        line: &mut Value,
        wait: Wait,
        deadline: Instant,
    ) -> Result<()> {
        let hash = line["l1_tx"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .context("no L1 transaction hash")?;
        let landed = tokio::select! {
            landed = self.l1.landed_input(hash, "the input") => landed.map_err(|e| self.or_stopped(e))?,
            stopped = self.until_stopped(deadline, "the input to be mined") => return Err(stopped),
        };
        line["input_index"] = json!(landed.index);
        line["inclusion_block"] = json!(landed.block_number);
        if wait == Wait::Finalized {
            // The fold executes direct inputs in L1 order, and an executed input's block (or a
            // frame's safe block past it) becomes the state's `last_executed_safe_block`.
            let block = landed.block_number;
            let finalized = self
                .wait_finalized(deadline, "the input to be finalized", |state| {
                    state.last_executed_safe_block >= block
                })
                .await?;
            line["finalized_block"] = json!(finalized);
        }
        Ok(())
    }

    /// Waits until the finalized state holds the op `nonce` of `from`; returns the
    /// checkpoint's block.
    pub(super) async fn wait_op_finalized(
        &self,
        from: Account,
        nonce: u32,
        deadline: Instant,
    ) -> Result<u64> {
        self.wait_finalized(deadline, "the op to be finalized", |state| {
            state.nonce_of(from.address).unwrap_or(0) > nonce
        })
        .await
    }

    /// Polls the finalized checkpoint until its state satisfies `done`; returns its block.
    async fn wait_finalized(
        &self,
        deadline: Instant,
        what: &str,
        done: impl Fn(&WalletSnapshot) -> bool,
    ) -> Result<u64> {
        let mut seen = None;
        loop {
            if let Ok(point) = self.sequencer.inclusion_block().await
                && seen != Some(point.inclusion_block)
            {
                let state = self.sequencer.download_state(MAX_STATE_BYTES, None).await;
                if let Ok(Some(state)) = state.map(|s| s.modified()) {
                    let snapshot = WalletSnapshot::decode(&state.bytes)
                        .map_err(|e| anyhow!("decoding the finalized state: {e}"))?;
                    if done(&snapshot) {
                        return Ok(point.inclusion_block);
                    }
                    seen = Some(point.inclusion_block);
                }
            }
            self.next_poll(deadline, what).await?;
        }
    }

    /// `error`, or the devnet's stop when that is what caused it.
    fn or_stopped(&self, error: anyhow::Error) -> anyhow::Error {
        match self.still_up() {
            Ok(()) => error,
            Err(stopped) => stopped,
        }
    }

    /// Sleeps one step; fails when the devnet stopped or the deadline passed.
    async fn next_poll(&self, deadline: Instant, what: &str) -> Result<()> {
        self.still_up()?;
        if Instant::now() >= deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(STEP).await;
        Ok(())
    }

    /// Resolves (to an error) once the devnet stops or the deadline passes.
    async fn until_stopped(&self, deadline: Instant, what: &str) -> anyhow::Error {
        loop {
            if let Err(e) = self.next_poll(deadline, what).await {
                return e;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sequencer_client::{ApiError, Error, Route};

    use super::*;

    fn refused(message: &str) -> String {
        let error = Error::Rejected {
            route: Route::Tx,
            status: 422,
            api: ApiError {
                code: "EXECUTION_REJECTED".to_owned(),
                message: message.to_owned(),
            },
        };
        let from: Account = "alice".parse().unwrap();
        rejection(error, from, 3).to_string()
    }

    #[test]
    fn refusals_are_said_plainly() {
        let race = refused("bad nonce: expected 4, got 3");
        assert!(race.starts_with("nonce race:"), "{race}");
        assert!(race.contains("nothing was applied"), "{race}");
        let poor = refused("insufficient balance for fee: required 38276, available 0");
        assert!(poor.starts_with("insufficient balance:"), "{poor}");
        let other = refused("max fee 1 below base fee 1356");
        assert!(other.contains("EXECUTION_REJECTED"), "{other}");
    }
}

//! Finality lag: is the sequencer still finalizing what lands on L1?
//!
//! Every tick past the lock learns, besides its compare, the L1 head-tag block `H`, the
//! application's input count there, the sequencer's finalized inclusion block `P` with the
//! input count at `P` (free: `P` is the head's or the new anchor's block), and the L1 block of
//! the oldest input the sequencer has not finalized (input number `count(P)`, the first one
//! after `P`). The cost is two cheap L1 requests (`eth_getBlockByNumber(tag)` and
//! `getNumberOfInputs` at `H`, sent while the sequencer is polled) plus, only when inputs are
//! pending and the previous tick did not already find that input, one `eth_getLogs` filtered
//! on the input's index, which answers one log.
//!
//! The finality lag is `H − block(oldest pending input)`, 0 when nothing is pending. Past
//! `--max-finality-lag-blocks` the tick ends `failed`, class `liveness`, reason
//! `sequencer_stalled` (exit 1, never 2: a stall is not a divergence).

use l1::{HeadTag, InputReader, L1Provider};
use serde::{Deserialize, Serialize};

use crate::{Class, Error, Reason, Result};

/// Default `--max-finality-lag-blocks`: the protocol's direct-input backstop window
/// (`MAX_WAIT_BLOCKS` = 1200) plus a 300-block margin. A faithful sequencer must land a batch
/// draining a direct input before the input is 1200 blocks old and then finalize it once the
/// landing block is under the head tag; the margin (an hour at 12 s blocks, the same 300
/// blocks the reference sequencer keeps on the other side of the window) absorbs its L1
/// polling and an hourly or faster tick schedule, so a healthy sequencer never trips it and a
/// stalled one is reported within an hour of the backstop firing.
pub const DEFAULT_MAX_FINALITY_LAG_BLOCKS: u64 = 1500;

/// The largest accepted `--max-finality-lag-blocks` (about two weeks at 12 s blocks); a larger
/// threshold would never fire before the backstop has long rewritten the history.
pub const MAX_FINALITY_LAG_BLOCKS_LIMIT: u64 = 100_000;

/// Checks a `--max-finality-lag-blocks` value: 1 ..= [`MAX_FINALITY_LAG_BLOCKS_LIMIT`].
pub fn check_max_finality_lag(blocks: u64) -> std::result::Result<u64, String> {
    if (1..=MAX_FINALITY_LAG_BLOCKS_LIMIT).contains(&blocks) {
        Ok(blocks)
    } else {
        Err(format!(
            "--max-finality-lag-blocks must be between 1 and {MAX_FINALITY_LAG_BLOCKS_LIMIT}, got {blocks}"
        ))
    }
}

/// What a tick learned about the sequencer's finality (the `liveness` object of
/// `last_tick.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    /// The L1 head-tag block `H`.
    pub l1_head_block: u64,
    /// `getNumberOfInputs(app)` at `H`.
    pub l1_input_count: u64,
    /// The sequencer's finalized inclusion block `P`.
    pub sequencer_inclusion_block: u64,
    /// The application's input count at `P`: the inputs the sequencer has finalized.
    pub sequencer_input_count: u64,
    /// Inputs at or below `H` the sequencer has not finalized.
    pub pending_inputs: u64,
    /// The L1 block of the oldest of them.
    pub oldest_pending_block: Option<u64>,
    /// `H − oldest_pending_block`, 0 when nothing is pending.
    pub finality_lag_blocks: u64,
    /// The threshold the tick applied.
    pub max_finality_lag_blocks: u64,
}

impl Liveness {
    /// Whether the oldest pending input is older than the threshold.
    pub fn stalled(&self) -> bool {
        self.finality_lag_blocks > self.max_finality_lag_blocks
    }

    /// The failure of a stalled tick.
    pub(crate) fn stall_error(&self) -> Error {
        Error::Failed {
            class: Class::Liveness,
            reason: Reason::SEQUENCER_STALLED,
            message: format!(
                "the sequencer has not finalized input {} (L1 block {}) for {} blocks, over the limit of {}: its finalized block is {}, the L1 head-tag block {} holds {} pending inputs",
                self.sequencer_input_count,
                self.oldest_pending_block.unwrap_or_default(),
                self.finality_lag_blocks,
                self.max_finality_lag_blocks,
                self.sequencer_inclusion_block,
                self.l1_head_block,
                self.pending_inputs
            ),
        }
    }
}

/// The L1 side learned while the sequencer is polled: `H` and the input count there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct L1Head {
    pub block: u64,
    pub input_count: u64,
}

/// `eth_getBlockByNumber(tag)`, then `getNumberOfInputs(app)` at that block's hash.
pub(crate) async fn l1_head(reader: &InputReader<L1Provider>, tag: HeadTag) -> Result<L1Head> {
    let head = l1::block_by_tag(reader.provider(), tag).await?;
    let input_count = reader.input_count_at(head.hash).await?;
    Ok(L1Head {
        block: head.number,
        input_count,
    })
}

/// Completes the picture once the finalized point `(P, count(P))` is known; `previous` is
/// the last tick's record, whose oldest pending block is reused while it is still the same
/// input, and whose head bounds the search when nothing was pending then.
pub(crate) async fn measure(
    reader: &InputReader<L1Provider>,
    head: L1Head,
    finalized: (u64, u64),
    max_lag: u64,
    previous: Option<&Liveness>,
) -> Result<Liveness> {
    let (p_block, p_count) = finalized;
    let pending = head.input_count.saturating_sub(p_count);
    let mut oldest = None;
    if pending > 0 {
        let same_point = previous.filter(|prev| {
            prev.sequencer_inclusion_block == p_block && prev.sequencer_input_count == p_count
        });
        oldest = same_point
            .and_then(|prev| prev.oldest_pending_block)
            .filter(|block| *block > p_block && *block <= head.block);
        if oldest.is_none() {
            // Nothing was pending at the previous head: the input landed after it (unless the
            // head tag reorganized since, hence the second look from P).
            let after = same_point
                .filter(|prev| prev.pending_inputs == 0 && prev.l1_head_block > p_block)
                .map(|prev| prev.l1_head_block);
            let from = after.unwrap_or(p_block).saturating_add(1);
            let mut found = reader.find_input(p_count, from, head.block).await?;
            if found.is_none()
                && let Some(after) = after
            {
                found = reader
                    .find_input(p_count, p_block.saturating_add(1), after.min(head.block))
                    .await?;
            }
            let from = p_block.saturating_add(1);
            let Some(input) = found else {
                return Err(Error::fail(
                    Class::Transient,
                    "l1_incomplete",
                    format!(
                        "getNumberOfInputs says {} inputs at block {}, but input {p_count} is not in blocks {from}..={}",
                        head.input_count, head.block, head.block
                    ),
                ));
            };
            oldest = Some(input.block_number);
        }
    }
    Ok(Liveness {
        l1_head_block: head.block,
        l1_input_count: head.input_count,
        sequencer_inclusion_block: p_block,
        sequencer_input_count: p_count,
        pending_inputs: pending,
        oldest_pending_block: oldest,
        finality_lag_blocks: oldest.map_or(0, |block| head.block.saturating_sub(block)),
        max_finality_lag_blocks: max_lag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lag: u64, max: u64) -> Liveness {
        Liveness {
            l1_head_block: 2000,
            l1_input_count: 9,
            sequencer_inclusion_block: 100,
            sequencer_input_count: 7,
            pending_inputs: 2,
            oldest_pending_block: Some(2000 - lag),
            finality_lag_blocks: lag,
            max_finality_lag_blocks: max,
        }
    }

    #[test]
    fn stalled_only_past_the_threshold() {
        assert!(!sample(1500, 1500).stalled());
        assert!(sample(1501, 1500).stalled());
        let error = sample(1501, 1500).stall_error();
        assert_eq!(error.class(), Class::Liveness);
        assert_eq!(error.reason(), Reason::SEQUENCER_STALLED);
        assert!(
            error.message().contains("input 7 (L1 block 499)"),
            "{error}"
        );
    }

    #[test]
    fn thresholds_of_zero_or_absurd_size_are_refused() {
        assert!(check_max_finality_lag(0).is_err());
        assert!(check_max_finality_lag(MAX_FINALITY_LAG_BLOCKS_LIMIT + 1).is_err());
        assert!(check_max_finality_lag(u64::MAX).is_err());
        assert_eq!(check_max_finality_lag(1), Ok(1));
        const { assert!(DEFAULT_MAX_FINALITY_LAG_BLOCKS > 1200) };
        assert_eq!(
            check_max_finality_lag(DEFAULT_MAX_FINALITY_LAG_BLOCKS),
            Ok(1500)
        );
    }
}

//! Finding one input by its index: a single `eth_getLogs` with the index as topic2, used to
//! learn the L1 block of the oldest input a sequencer has not finalized.

use alloy::providers::Provider;

use crate::block::rpc_error;
use crate::classify::{Verdict, classify};
use crate::error::{Error, Result};
use crate::log::{Expect, Input, LogFilter, RawLog, check};
use crate::range::BlockRange;
use crate::reader::InputReader;

const GET_LOGS: &str = "eth_getLogs";

impl<P: Provider> InputReader<P> {
    /// Input `index` if it was added in `[from, to]`, with one `eth_getLogs` request filtered
    /// on topic2; `None` when it is not there (or `from > to`, which requests nothing).
    ///
    /// The answer holds at most one log; it goes through the same per-log checks as a scan.
    /// A range the provider refuses as too large is halved, the left half asked first (the
    /// input is the oldest one wanted, so the first hit ends the search); a one-block range
    /// that is still refused is [`Error::RangeSingleBlock`], and the request budget bounds
    /// the rest.
    pub async fn find_input(&self, index: u64, from: u64, to: u64) -> Result<Option<Input>> {
        let Some(range) = BlockRange::new(from, to) else {
            return Ok(None);
        };
        let mut stack = vec![range];
        while let Some(range) = stack.pop() {
            let filter = LogFilter {
                input_box: self.input_box(),
                app: self.app(),
                range,
                index: Some(index),
            };
            let answer = self.provider().client().request(GET_LOGS, (filter,)).await;
            let logs: Vec<RawLog> = match answer {
                Ok(logs) => logs,
                Err(err) => match classify(&err, self.plan().codes()) {
                    Verdict::RangeTooLarge(_) if range.is_single() => {
                        return Err(Error::RangeSingleBlock {
                            block: range.from,
                            source: err,
                        });
                    }
                    Verdict::RangeTooLarge(_) => {
                        let (left, right) = range.split_after(range.half());
                        stack.push(right);
                        stack.push(left);
                        continue;
                    }
                    _ => return Err(rpc_error(GET_LOGS, err)),
                },
            };
            if let Some(input) = self.one_input(logs, range, index)? {
                return Ok(Some(input));
            }
        }
        Ok(None)
    }

    /// Checks the answer of an index-filtered `eth_getLogs`: no log, or exactly one valid one.
    fn one_input(&self, logs: Vec<RawLog>, range: BlockRange, index: u64) -> Result<Option<Input>> {
        let want = Expect {
            input_box: self.input_box(),
            app: self.app(),
            range,
            index,
        };
        let mut logs = logs.into_iter();
        let Some(log) = logs.next() else {
            return Ok(None);
        };
        if logs.next().is_some() {
            return Err(Error::BadResponse {
                method: GET_LOGS,
                detail: format!("more than one log for input {index}"),
            });
        }
        let (block, log_index) = (log.block(), log.log_index());
        let input = check(log, &want).map_err(|problem| Error::InvalidLog {
            block,
            log_index,
            problem,
        })?;
        if input.advance.chain_id != self.chain_id() {
            return Err(Error::InputChainMismatch {
                index,
                expected: self.chain_id(),
                found: input.advance.chain_id,
            });
        }
        Ok(Some(input))
    }
}

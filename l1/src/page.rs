//! One `eth_getLogs` page: each log decoded as its bytes arrive, then put in L1 order and given
//! its index.
//!
//! A log's own checks ([`decode`]) run as soon as it is read, so the page holds decoded inputs,
//! never the logs' JSON. What needs the logs before it (the expected index, L1 order across
//! pages, the chain id) runs once the page is complete and sorted, in the order one pass over
//! the sorted logs would run them: a log refused while reading is reported only if no log
//! before it in L1 order fails first, and among the logs that passed the first checks the first
//! failure in L1 order is reported. The outcome is the one of sorting the whole response first
//! and checking it afterwards.

use std::collections::VecDeque;

use crate::error::{Error, LogProblem, Result};
use crate::log::{Decoded, Expect, Input, RawLog, decode};

/// A log refused by its own checks, kept until the page is sorted.
#[derive(Debug)]
struct Refused {
    /// L1 sort key, then position in the response.
    at: ((u64, u64, u64), usize),
    block: u64,
    log_index: Option<u64>,
    problem: LogProblem,
}

/// The logs of one response, decoded as they are read.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// Decoded logs with their position in the response.
    logs: Vec<(Decoded, usize)>,
    /// The refused log that comes first in L1 order.
    refused: Option<Refused>,
}

impl Page {
    /// An empty page.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Reads log number `seq` of the response from its JSON and runs its own checks against
    /// `want` (whose index is not read). JSON that is not a log object is an error of the
    /// whole response.
    pub(crate) fn push(
        &mut self,
        json: &[u8],
        seq: usize,
        want: &Expect,
    ) -> std::result::Result<(), serde_json::Error> {
        let log: RawLog = serde_json::from_slice(json)?;
        let key = log.sort_key();
        let (block, log_index) = (log.block(), log.log_index());
        match decode(log, want) {
            Ok(decoded) => self.logs.push((decoded, seq)),
            Err(problem) => {
                if self.refused.as_ref().is_none_or(|r| (key, seq) < r.at) {
                    self.refused = Some(Refused {
                        at: (key, seq),
                        block,
                        log_index,
                        problem,
                    });
                }
            }
        }
        Ok(())
    }

    /// Sorts the page into L1 order and gives each input its index, from `want.index` on:
    /// returns the inputs and the next index. `last` is the L1 position of the last input
    /// handed out before this page, updated to this page's last; inputs must carry `chain_id`.
    pub(crate) fn into_inputs(
        mut self,
        want: &Expect,
        chain_id: u64,
        last: &mut Option<(u64, u64, u64)>,
    ) -> Result<(VecDeque<Input>, u64)> {
        // Stable: equal keys keep the response's order, as sorting the whole response would.
        self.logs.sort_by_key(|(log, _)| log.l1_position());
        let mut index = want.index;
        let mut position = *last;
        let mut refused = self.refused;
        for (log, seq) in &self.logs {
            let key = log.l1_position();
            if let Some(r) = refused.take_if(|r| r.at < (key, *seq)) {
                return Err(invalid(r.block, r.log_index, r.problem));
            }
            let (block, log_index) = (key.0, log.input().log_index);
            log.check_index(index)
                .map_err(|problem| invalid(block, log_index, problem))?;
            if position.is_some_and(|last| key < last) {
                return Err(invalid(block, log_index, LogProblem::OutOfOrder));
            }
            let found = log.input().advance.chain_id;
            if found != chain_id {
                return Err(Error::InputChainMismatch {
                    index,
                    expected: chain_id,
                    found,
                });
            }
            position = Some(key);
            index = index.checked_add(1).ok_or(Error::BadResponse {
                method: "eth_getLogs",
                detail: "input index overflows u64".into(),
            })?;
        }
        if let Some(r) = refused {
            return Err(invalid(r.block, r.log_index, r.problem));
        }
        *last = position;
        // Collected in place: the page's buffer becomes the inputs' buffer.
        let inputs: Vec<Input> = self
            .logs
            .into_iter()
            .zip(want.index..)
            .map(|((log, _), index)| log.into_input(index))
            .collect();
        Ok((VecDeque::from(inputs), index))
    }
}

fn invalid(block: u64, log_index: Option<u64>, problem: LogProblem) -> Error {
    Error::InvalidLog {
        block,
        log_index,
        problem,
    }
}

#[cfg(test)]
mod tests;

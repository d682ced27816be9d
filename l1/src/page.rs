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

use alloy::rpc::json_rpc::{Id, RpcError};
use alloy::transports::TransportError;
use alloy_primitives::Address;

use crate::error::{Error, LogProblem, Result};
use crate::log::{Decoded, Expect, Input, RawLog, decode};
use crate::range::BlockRange;
use crate::response::{Envelope, Fed, Malformed, ResponseReader};
use crate::transport::truncated;

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
        self.push_log(serde_json::from_slice(json)?, seq, want);
        Ok(())
    }

    /// [`push`](Self::push) for a log already parsed.
    pub(crate) fn push_log(&mut self, log: RawLog, seq: usize, want: &Expect) {
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
        // Equal keys keep the response's order, as a stable sort of the whole response would;
        // sorting in place needs no scratch buffer.
        self.logs
            .sort_unstable_by_key(|(log, seq)| (log.l1_position(), *seq));
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
            .enumerate()
            // No overflow: every index was checked above.
            .map(|(i, (log, _))| log.into_input(want.index + i as u64))
            .collect();
        Ok((VecDeque::from(inputs), index))
    }
}

/// A [`Page`] read from a response body as its bytes arrive.
#[derive(Debug)]
pub(crate) struct PageReader<'w> {
    reader: ResponseReader,
    page: Page,
    want: &'w Expect,
}

impl<'w> PageReader<'w> {
    /// A reader of a response whose logs are checked against `want` (its index is not read).
    pub(crate) fn new(want: &'w Expect) -> Self {
        Self {
            reader: ResponseReader::new(),
            page: Page::new(),
            want,
        }
    }

    /// Reads the next bytes of the body. Errors are the ones alloy's path gives for the same
    /// body: a deserialization error for JSON that is not a response or a log.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let (page, want) = (&mut self.page, self.want);
        let mut element = |json: &[u8], seq: usize| {
            page.push(json, seq, want)
                .map_err(|e| TransportError::deser_err(e, truncated(json)))
        };
        self.reader
            .feed(bytes, &mut element)
            .map_err(|fed| match fed {
                Fed::Malformed(m) => malformed(m),
                Fed::Element(e) => e,
            })
    }

    /// The envelope and the page once the body has ended.
    pub(crate) fn finish(self) -> Result<(Envelope, Page), TransportError> {
        let envelope = self.reader.finish().map_err(malformed)?;
        Ok((envelope, self.page))
    }
}

fn malformed(m: Malformed) -> TransportError {
    TransportError::deser_err(
        <serde_json::Error as serde::de::Error>::custom(m),
        String::new(),
    )
}

/// Reads one `eth_getLogs` answer, its body delivered in `chunks`, as a scan reads it: each log
/// decoded as it arrives, then the page put in L1 order and checked against `input_box`, `app`,
/// `range`, the first index `start_index` and `chain_id`. The request's id is taken to be 1.
///
/// Never panics, whatever the bytes and however they are cut; this is the entry point of the
/// `response` fuzz target. A body that is not a response with id 1 is
/// [`Error::BadResponse`]; a JSON-RPC error object is [`Error::Unavailable`] with it as source.
pub fn read_logs_response<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
    input_box: Address,
    app: Address,
    range: BlockRange,
    start_index: u64,
    chain_id: u64,
) -> Result<Vec<Input>> {
    let want = Expect {
        input_box,
        app,
        range,
        index: start_index,
    };
    let bad = |detail: String| Error::BadResponse {
        method: "eth_getLogs",
        detail,
    };
    let mut reader = PageReader::new(&want);
    chunks
        .into_iter()
        .try_for_each(|chunk| reader.feed(chunk))
        .map_err(|e| bad(e.to_string()))?;
    let (envelope, page) = reader.finish().map_err(|e| bad(e.to_string()))?;
    if envelope.id != Id::Number(1) {
        return Err(bad(format!("response id {} is not 1", envelope.id)));
    }
    if let Some(error) = envelope.error {
        return Err(Error::Unavailable {
            method: "eth_getLogs",
            range: Some(range),
            source: RpcError::ErrorResp(error),
        });
    }
    let (inputs, _) = page.into_inputs(&want, chain_id, &mut None)?;
    Ok(inputs.into())
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

//! The InputBox reader: every application input the watchdog replays enters through this crate.
//!
//! # The plan
//!
//! A scan of `[from, to]` reads `InputAdded(app, index, input)` logs with `eth_getLogs`
//! (filter: the InputBox address, topic0 [`INPUT_ADDED_TOPIC`], topic1 the application;
//! quantities in minimal hex). Ranges are worked by an explicit, bounded loop over a stack:
//!
//! 1. `[from, to]` is cut into windows of the known span ([`RangePlan::with_span`]), or one
//!    window when no span is known; `from > to` makes no request.
//! 2. Each range is requested once. On an error classified as *range too large* (the structured
//!    JSON-RPC code is in [`RangePlan::codes`], default [`DEFAULT_RANGE_ERROR_CODES`]; else a
//!    known provider message fragment; else a response over the size cap), the range is split
//!    and its left part is requested first:
//!    - at the range the provider suggests (`[0xA, 0xB]`, `retry with the range A-B`) or the
//!      maximum it names (`up to a N block range`, …), which also becomes the window size of
//!      every following window of the scan;
//!    - else, while no range has succeeded yet, at the midpoint, the right half being requested
//!      whole later (the reference's bisection);
//!    - else between the largest range that succeeded and the smallest that failed, the rest of
//!      the range being cut into windows of that size as the search narrows: a limit the
//!      provider only signals by a code is found by a binary search of the sizes.
//!
//!    A one-block range that still fails is [`Error::RangeSingleBlock`]; rate limits, head
//!    overruns and every other error abort the scan, so a failing left part stops the scan
//!    before its right part.
//! 3. Each successful response is read as it arrives: every log is decoded at once into the
//!    [`Input`] the caller gets (not removed, emitted by the InputBox with the expected topics,
//!    payload block = log block, app), then the page is sorted by `(block, tx index, log
//!    index)` and each input checked for the next expected index (index = topic2 = payload
//!    index) and the chain id; the inputs are handed out before the next request. Over the
//!    provider [`connect`] builds, memory holds one page of decoded inputs and one log's JSON,
//!    whatever the range, never the response's body (see *Requests*).
//! 4. The [`ScanReport`] lists the covered ranges and the largest range that succeeded;
//!    [`ScanReport::learned_span`] is the span to persist and start later scans with.
//!
//! Completeness is proven separately: [`InputReader::verify_count`] compares the scan's next
//! index with `getNumberOfInputs(app)` read at the target block's hash (EIP-1898).
//!
//! # Streaming
//!
//! [`InputReader::cursor`] returns an [`InputCursor`], a pull-based stream whose
//! [`next`](InputCursor::next) is awaited between inputs, so callers can do async work per
//! input, and whose [`next_page`](InputCursor::next_page) hands out one provider response at a
//! time, so callers can read the next page while they work through the current one;
//! [`InputReader::scan`] wraps it for a synchronous callback.
//!
//! # Requests
//!
//! [`connect`] builds the provider once per command: a reqwest client with connect and total
//! timeouts, a transport that stops reading at 32 MiB, a bounded retry layer (connect errors,
//! 5xx, 429 with `Retry-After`) and a [`RequestBudget`] layer under it, so every attempt counts
//! and a spent budget is [`Error::BudgetExhausted`].
//!
//! `eth_getLogs` has its own request path over that stack: the same client, budget, retry
//! policy, size cap, id check and error objects, but its body is parsed as it streams (a JSON-RPC
//! envelope reader hands each element of `result` to the log decoder), so it is never held
//! whole nor copied into a JSON tree or a list of logs. Over any other transport
//! ([`provider_with_transport`]: alloy's mock, in-process fakes), the request goes through alloy,
//! which holds the answer whole, and its logs get the same decoding and checks.
//! [`read_logs_response`] is the streamed reading of a body in pieces (the `response` fuzz
//! target).
//!
//! Every error has a [`Class`] and a spec `reason` ([`Error::class`], [`Error::reason`]).

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod application;
mod block;
mod budget;
mod classify;
mod error;
mod hint;
mod inputbox;
mod log;
mod lookup;
mod page;
mod plan;
mod range;
mod reader;
mod redact;
mod report;
mod response;
mod retry;
mod scan;
mod transport;

pub use application::{
    GET_DEPLOYMENT_BLOCK_NUMBER, GET_TEMPLATE_HASH, deployment_block, template_hash,
};
pub use block::{
    BlockParam, BlockRef, HeadTag, block_by_number, block_by_tag, chain_id, code_at,
    ensure_chain_id,
};
pub use budget::RequestBudget;
pub use error::{Class, DiscoveryProblem, Error, LogProblem, Result};
pub use inputbox::{
    DA_INPUT_BOX, DA_INPUT_BOX_AND_ESPRESSO, GET_DATA_AVAILABILITY, GET_INPUT_BOX,
    GET_NUMBER_OF_INPUTS, discover_input_box, ensure_input_box, input_count,
};
pub use log::{INPUT_ADDED_TOPIC, Input, check_log_json, input_added_data};
pub use page::read_logs_response;
pub use plan::{DEFAULT_RANGE_ERROR_CODES, RangePlan};
pub use range::BlockRange;
pub use reader::InputReader;
pub use report::ScanReport;
pub use scan::InputCursor;
pub use transport::{L1Provider, RpcConfig, connect, provider_with_transport};

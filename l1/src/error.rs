//! Typed errors of the L1 reader, each with a [`Class`] and a stable reason.

use alloy::transports::TransportError;
use alloy_primitives::{Address, B256, U256};

use crate::range::BlockRange;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who has to act on a failure (spec `watchdog.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Retrying later may succeed (provider unavailable, head lagging, inputs incomplete).
    Transient,
    /// The configuration or deployment is wrong; an operator must act.
    Operator,
    /// A bug in the caller or in this crate.
    Internal,
}

impl Class {
    /// The lowercase name used in summary lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Operator => "operator",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong while reading L1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider failed or refused a request for a reason that is not a range limit.
    #[error("{method}{} failed: {source}", in_range(range))]
    Unavailable {
        /// JSON-RPC method.
        method: &'static str,
        /// Block range of an `eth_getLogs` request.
        range: Option<BlockRange>,
        /// The transport or JSON-RPC error.
        #[source]
        source: TransportError,
    },
    /// The provider's head is below the requested blocks.
    #[error("{method} {range}: the provider's head is behind the requested blocks: {message}")]
    HeadLags {
        /// JSON-RPC method.
        method: &'static str,
        /// Requested range.
        range: BlockRange,
        /// The provider's message.
        message: String,
    },
    /// A one-block `eth_getLogs` range still failed with a range-too-large error.
    #[error(
        "eth_getLogs for the single block {block} still exceeds the provider's limits: {source}"
    )]
    RangeSingleBlock {
        /// The block.
        block: u64,
        /// The provider's error.
        #[source]
        source: TransportError,
    },
    /// The per-command request budget is spent (retries included).
    #[error("the request budget of {limit} requests is exhausted")]
    BudgetExhausted {
        /// The budget.
        limit: u64,
    },
    /// A response that is not what the method returns.
    #[error("{method}: malformed response: {detail}")]
    BadResponse {
        /// JSON-RPC method.
        method: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// An `InputAdded` log failed a per-log check.
    #[error(
        "InputAdded log at block {block} (log index {}): {problem}",
        opt(log_index)
    )]
    InvalidLog {
        /// The log's block (0 when missing).
        block: u64,
        /// The log's index in its block, if present.
        log_index: Option<u64>,
        /// The failed check.
        problem: LogProblem,
    },
    /// An input's `EvmAdvance.chainId` differs from the configured chain.
    #[error("input {index} carries chain id {found}, expected {expected}")]
    InputChainMismatch {
        /// Input index.
        index: u64,
        /// Configured chain id.
        expected: u64,
        /// Chain id in the payload.
        found: u64,
    },
    /// The scan ended at another index than `getNumberOfInputs(app)` reports.
    #[error(
        "getNumberOfInputs at {block_hash} is {on_chain}, but the scan ended at index {scanned}"
    )]
    CountMismatch {
        /// Block the count was read at.
        block_hash: B256,
        /// `getNumberOfInputs(app)`.
        on_chain: u64,
        /// The next index after the scan.
        scanned: u64,
    },
    /// `eth_chainId` differs from the configured chain id.
    #[error("the provider serves chain {found}, expected {expected}")]
    ChainIdMismatch {
        /// Configured chain id.
        expected: u64,
        /// `eth_chainId`.
        found: u64,
    },
    /// The provider does not know the block.
    #[error("block {block} is unknown to the provider")]
    BlockNotFound {
        /// The block as requested (number, tag or hash).
        block: String,
    },
    /// The InputBox address holds no code where the count is read.
    #[error("no contract code at the InputBox {address} at block {block}")]
    NoCode {
        /// The InputBox address.
        address: Address,
        /// The block as requested.
        block: String,
    },
    /// The application does not name a usable InputBox.
    #[error("cannot discover the InputBox of {app}: {problem}")]
    Discovery {
        /// The application.
        app: Address,
        /// What went wrong.
        problem: DiscoveryProblem,
    },
    /// The configured InputBox differs from the one the application names.
    #[error("configured InputBox {configured} differs from the application's {discovered}")]
    InputBoxMismatch {
        /// Configured address.
        configured: Address,
        /// Address read from the application.
        discovered: Address,
    },
    /// The RPC endpoint or client cannot be set up.
    #[error("invalid L1 RPC configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// [`crate::InputCursor::next`] was called after it returned an error.
    #[error("the scan already failed; start a new one")]
    Poisoned,
}

fn in_range(range: &Option<BlockRange>) -> String {
    range.map(|r| format!(" {r}")).unwrap_or_default()
}

fn opt(value: &Option<u64>) -> String {
    value.map_or_else(|| "missing".to_owned(), |v| v.to_string())
}

impl Error {
    /// Who has to act.
    pub const fn class(&self) -> Class {
        match self {
            Self::InputChainMismatch { .. }
            | Self::ChainIdMismatch { .. }
            | Self::NoCode { .. }
            | Self::Discovery { .. }
            | Self::InputBoxMismatch { .. }
            | Self::Config { .. } => Class::Operator,
            Self::Poisoned => Class::Internal,
            Self::Unavailable { .. }
            | Self::HeadLags { .. }
            | Self::RangeSingleBlock { .. }
            | Self::BudgetExhausted { .. }
            | Self::BadResponse { .. }
            | Self::InvalidLog { .. }
            | Self::CountMismatch { .. }
            | Self::BlockNotFound { .. } => Class::Transient,
        }
    }

    /// The summary `reason` (spec `watchdog.md` §7). Callers may refine it by context, e.g. an
    /// unknown anchor block is `l1_anchor_unavailable`, which is the default here.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } | Self::BadResponse { .. } => "l1_unavailable",
            Self::HeadLags { .. } => "l1_head_lags",
            Self::RangeSingleBlock { .. } => "l1_range_error_single_block",
            Self::BudgetExhausted { .. } => "rpc_budget_exhausted",
            Self::InvalidLog { .. } | Self::CountMismatch { .. } => "l1_incomplete",
            Self::InputChainMismatch { .. } => "input_chain_mismatch",
            Self::ChainIdMismatch { .. } => "chain_id_mismatch",
            Self::BlockNotFound { .. } => "l1_anchor_unavailable",
            Self::NoCode { .. } | Self::Discovery { .. } | Self::Config { .. } => "config_invalid",
            Self::InputBoxMismatch { .. } => "identity_mismatch",
            Self::Poisoned => "scan_poisoned",
        }
    }
}

/// A failed per-log check (spec `watchdog.md` §5 step 10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogProblem {
    /// The provider flagged the log as removed by a reorg.
    #[error("the log is marked removed")]
    Removed,
    /// A field the reader needs is absent.
    #[error("the field {0} is missing")]
    MissingField(&'static str),
    /// Emitted by another contract than the InputBox.
    #[error("emitted by {0}, not by the InputBox")]
    WrongAddress(Address),
    /// Topics are not `[InputAdded, app, index]`.
    #[error("the topics are not [InputAdded, app, index]")]
    WrongTopics,
    /// The data is not the ABI encoding of one `bytes`.
    #[error("the data is not an ABI-encoded bytes value: {0}")]
    BadData(&'static str),
    /// The input is not a valid `EvmAdvance`.
    #[error("the input is not a valid EvmAdvance: {0}")]
    Decode(canonical::DecodeError),
    /// `EvmAdvance.blockNumber` differs from the log's block.
    #[error("EvmAdvance.blockNumber is {payload_block}")]
    BlockMismatch {
        /// Block in the payload.
        payload_block: u64,
    },
    /// The index is not the next expected one (gap, duplicate or disagreement with topic2).
    #[error("expected index {expected}, topic2 says {topic}, EvmAdvance.index says {payload}")]
    IndexMismatch {
        /// The next expected index.
        expected: u64,
        /// Index in topic2.
        topic: U256,
        /// Index in the payload.
        payload: U256,
    },
    /// `EvmAdvance.appContract` is not the application.
    #[error("EvmAdvance.appContract is {0}")]
    AppMismatch(Address),
    /// The log's block lies outside the requested range.
    #[error("the log lies outside the requested range {0}")]
    OutsideRange(BlockRange),
    /// The log sorts below the previous input.
    #[error("the log sorts below the previous input")]
    OutOfOrder,
}

/// Why the InputBox cannot be read from the application (protocol §2.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryProblem {
    /// Neither `getInputBox()` nor `getDataAvailability()` answered.
    #[error("neither getInputBox() nor getDataAvailability() is available")]
    Unsupported,
    /// The data availability is `InputBoxAndEspresso`, which the watchdog cannot follow.
    #[error("the data availability is InputBoxAndEspresso, which is not supported")]
    Espresso,
    /// The data availability descriptor has an unknown selector.
    #[error("unknown data availability selector 0x{0}")]
    UnknownDescriptor(String),
    /// A returned value is malformed.
    #[error("malformed {0} return value")]
    Malformed(&'static str),
    /// The two methods name different InputBoxes.
    #[error(
        "getInputBox() returns {input_box} but getDataAvailability() names {data_availability}"
    )]
    Disagree {
        /// From `getInputBox()`.
        input_box: Address,
        /// From `getDataAvailability()`.
        data_availability: Address,
    },
}

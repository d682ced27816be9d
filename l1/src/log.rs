//! The `InputAdded` log: the `eth_getLogs` filter, the wire shape of a log, and the per-log
//! checks that turn it into an [`Input`] (spec `watchdog.md` §5 step 10, protocol §2.1).

use alloy_primitives::{Address, B256, Bytes, U64, U256, b256};
use canonical::EvmAdvance;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::LogProblem;
use crate::range::BlockRange;

/// topic0 of `InputAdded(address indexed appContract, uint256 indexed index, bytes input)`.
pub const INPUT_ADDED_TOPIC: B256 =
    b256!("c05d337121a6e8605c6ec0b72aa29c4210ffe6e5b9cefdd6a7058188a8f66f98");

/// One application input read from L1, checked, in L1 order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The per-application input index (topic2 = `EvmAdvance.index`).
    pub index: u64,
    /// The including block (= `EvmAdvance.blockNumber`).
    pub block_number: u64,
    /// The including block's hash.
    pub block_hash: B256,
    /// The transaction that added the input.
    pub tx_hash: B256,
    /// Position of the transaction in its block, if the provider reported it.
    pub tx_index: Option<u64>,
    /// Position of the log in its block, if the provider reported it.
    pub log_index: Option<u64>,
    /// The decoded envelope.
    pub advance: EvmAdvance,
    /// The exact `EvmAdvance` calldata, to be fed to the machine unchanged.
    pub raw: Bytes,
}

impl Input {
    /// The L1 sort key `(block, tx index, log index)`, a missing index counting as 0.
    pub fn l1_position(&self) -> (u64, u64, u64) {
        (
            self.block_number,
            self.tx_index.unwrap_or(0),
            self.log_index.unwrap_or(0),
        )
    }
}

/// A block number as a minimal lowercase hex quantity (`0x0`, `0xa`).
pub(crate) fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// The `eth_getLogs` filter: the InputBox, `InputAdded`, the application as topic1 and, for a
/// lookup of one input, its index as topic2.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogFilter {
    pub(crate) input_box: Address,
    pub(crate) app: Address,
    pub(crate) range: BlockRange,
    pub(crate) index: Option<u64>,
}

impl Serialize for LogFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Filter", 4)?;
        s.serialize_field("address", &format!("{:#x}", self.input_box))?;
        s.serialize_field("fromBlock", &quantity(self.range.from))?;
        s.serialize_field("toBlock", &quantity(self.range.to))?;
        let mut topics = vec![
            format!("{INPUT_ADDED_TOPIC:#x}"),
            format!("{:#x}", self.app.into_word()),
        ];
        if let Some(index) = self.index {
            topics.push(format!("{:#x}", B256::from(U256::from(index))));
        }
        s.serialize_field("topics", &topics)?;
        s.end()
    }
}

/// A log as providers send it; every field optional so that a hostile or odd response becomes
/// a typed check failure rather than a parse error.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawLog {
    #[serde(default)]
    address: Option<Address>,
    #[serde(default)]
    topics: Option<Vec<B256>>,
    #[serde(default)]
    data: Option<Bytes>,
    #[serde(default)]
    block_number: Option<U64>,
    #[serde(default)]
    block_hash: Option<B256>,
    #[serde(default)]
    transaction_hash: Option<B256>,
    #[serde(default)]
    transaction_index: Option<U64>,
    #[serde(default)]
    log_index: Option<U64>,
    #[serde(default)]
    removed: Option<bool>,
}

impl RawLog {
    /// The L1 sort key, missing fields counting as 0.
    pub(crate) fn sort_key(&self) -> (u64, u64, u64) {
        let n = |v: Option<U64>| v.map_or(0, |v| v.to::<u64>());
        (
            n(self.block_number),
            n(self.transaction_index),
            n(self.log_index),
        )
    }

    pub(crate) fn block(&self) -> u64 {
        self.block_number.map_or(0, |v| v.to::<u64>())
    }

    pub(crate) fn log_index(&self) -> Option<u64> {
        self.log_index.map(|v| v.to::<u64>())
    }
}

/// What a log is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect {
    pub(crate) input_box: Address,
    pub(crate) app: Address,
    pub(crate) range: BlockRange,
    pub(crate) index: u64,
}

/// Parses one `eth_getLogs` entry (JSON) and runs the reader's per-log checks on it: an
/// `InputAdded` log of `app` emitted by `input_box` in blocks `from..=to`, carrying input
/// `index`. Never panics, whatever the bytes; this is the entry point of the `log` fuzz target.
pub fn check_log_json(
    json: &[u8],
    input_box: Address,
    app: Address,
    from: u64,
    to: u64,
    index: u64,
) -> Result<Input, LogProblem> {
    let log: RawLog =
        serde_json::from_slice(json).map_err(|_| LogProblem::BadData("not a JSON log object"))?;
    let want = Expect {
        input_box,
        app,
        range: BlockRange { from, to },
        index,
    };
    check(log, &want)
}

/// Runs the per-log checks, except the chain id, which the caller checks on the returned input
/// because a mismatch is an operator error rather than an incomplete read.
pub(crate) fn check(log: RawLog, want: &Expect) -> Result<Input, LogProblem> {
    decode(log, want)?.claim(want.index)
}

/// A log that passed the checks that do not depend on its place in L1 order: everything but its
/// index, which [`Decoded::claim`] checks once the logs before it are known.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The input, its `index` not yet set.
    input: Input,
    /// topic2.
    topic: U256,
    /// A check that fails after the index check (so it is reported after it, as one pass
    /// over the checks would).
    later: Option<Later>,
}

/// A failed check that comes after the index check.
#[derive(Debug, Clone, Copy)]
enum Later {
    App(Address),
    Missing(&'static str),
}

impl Decoded {
    /// The L1 sort key `(block, tx index, log index)`.
    pub(crate) fn l1_position(&self) -> (u64, u64, u64) {
        self.input.l1_position()
    }

    /// The input so far (its `index` is not set).
    pub(crate) fn input(&self) -> &Input {
        &self.input
    }

    /// The checks that need the expected `index`.
    pub(crate) fn check_index(&self, index: u64) -> Result<(), LogProblem> {
        let expected = U256::from(index);
        let advance = &self.input.advance;
        if self.topic != expected || advance.index != expected {
            return Err(LogProblem::IndexMismatch {
                expected: index,
                topic: self.topic,
                payload: advance.index,
            });
        }
        match self.later {
            Some(Later::App(app)) => Err(LogProblem::AppMismatch(app)),
            Some(Later::Missing(field)) => Err(LogProblem::MissingField(field)),
            None => Ok(()),
        }
    }

    /// The input, as input `index`; call it only once [`check_index`](Self::check_index)
    /// passed.
    pub(crate) fn into_input(self, index: u64) -> Input {
        Input {
            index,
            ..self.input
        }
    }

    /// [`check_index`](Self::check_index), then the input.
    pub(crate) fn claim(self, index: u64) -> Result<Input, LogProblem> {
        self.check_index(index)?;
        Ok(self.into_input(index))
    }
}

/// The checks of [`check`] that do not need the expected index (`want.index` is not read).
pub(crate) fn decode(log: RawLog, want: &Expect) -> Result<Decoded, LogProblem> {
    if log.removed == Some(true) {
        return Err(LogProblem::Removed);
    }
    let block_number = log
        .block_number
        .ok_or(LogProblem::MissingField("blockNumber"))?
        .to();
    if !want.range.contains(block_number) {
        return Err(LogProblem::OutsideRange(want.range));
    }
    let address = log.address.ok_or(LogProblem::MissingField("address"))?;
    if address != want.input_box {
        return Err(LogProblem::WrongAddress(address));
    }
    let topics = log.topics.unwrap_or_default();
    let [topic0, topic1, topic2] = topics.as_slice() else {
        return Err(LogProblem::WrongTopics);
    };
    if *topic0 != INPUT_ADDED_TOPIC || *topic1 != want.app.into_word() {
        return Err(LogProblem::WrongTopics);
    }
    let raw = abi_bytes(
        log.data
            .as_deref()
            .ok_or(LogProblem::MissingField("data"))?,
    )?;
    let advance = EvmAdvance::decode(&raw).map_err(LogProblem::Decode)?;
    if advance.block_number != block_number {
        return Err(LogProblem::BlockMismatch {
            payload_block: advance.block_number,
        });
    }
    let later = if advance.app_contract != want.app {
        Some(Later::App(advance.app_contract))
    } else if log.block_hash.is_none() {
        Some(Later::Missing("blockHash"))
    } else if log.transaction_hash.is_none() {
        Some(Later::Missing("transactionHash"))
    } else {
        None
    };
    Ok(Decoded {
        input: Input {
            index: 0,
            block_number,
            block_hash: log.block_hash.unwrap_or_default(),
            tx_hash: log.transaction_hash.unwrap_or_default(),
            tx_index: log.transaction_index.map(|v| v.to()),
            log_index: log.log_index.map(|v| v.to()),
            advance,
            raw: Bytes::from(raw),
        },
        topic: U256::from_be_bytes(topic2.0),
        later,
    })
}

/// The `data` of an `InputAdded` log carrying `input`: the ABI encoding of one `bytes` value
/// (offset word 0x20, length word, `input` padded with zeros to a multiple of 32), which
/// [`check_log_json`] decodes. For test doubles and synthetic chains.
pub fn input_added_data(input: &[u8]) -> Vec<u8> {
    let mut data = U256::from(32).to_be_bytes::<32>().to_vec();
    data.extend_from_slice(&U256::from(input.len()).to_be_bytes::<32>());
    data.extend_from_slice(input);
    data.resize(64 + input.len().div_ceil(32) * 32, 0);
    data
}

/// Decodes the ABI encoding of one `bytes` value: offset word 0x20, length word, content padded
/// with zeros to a multiple of 32, and nothing after it.
fn abi_bytes(data: &[u8]) -> Result<Vec<u8>, LogProblem> {
    if data.len() < 64 {
        return Err(LogProblem::BadData("shorter than two words"));
    }
    if U256::from_be_slice(&data[..32]) != U256::from(32) {
        return Err(LogProblem::BadData("offset is not 0x20"));
    }
    let len = usize::try_from(U256::from_be_slice(&data[32..64]))
        .map_err(|_| LogProblem::BadData("length overflows"))?;
    let padded = len
        .div_ceil(32)
        .checked_mul(32)
        .ok_or(LogProblem::BadData("length overflows"))?;
    if data.len() - 64 != padded {
        return Err(LogProblem::BadData("length disagrees with the data size"));
    }
    if data[64 + len..].iter().any(|&b| b != 0) {
        return Err(LogProblem::BadData("non-zero padding"));
    }
    Ok(data[64..64 + len].to_vec())
}

#[cfg(test)]
pub(crate) mod tests;

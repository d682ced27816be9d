//! Provider-style `eth_getLogs` caps and the errors hosted providers answer with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::range::BlockRange;

/// The error shapes of hosted providers for an `eth_getLogs` request that is too large.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RangeErrorProfile {
    /// `-32005 query returned more than 10000 results` (+ `. Try with this block range
    /// [0x…, 0x…].` when suggesting).
    #[default]
    Infura,
    /// `-32602 Log response size exceeded. … this block range should work: [0x…, 0x…]`.
    Alchemy,
    /// `-32614 eth_getLogs is limited to a 10,000 range`.
    QuickNode,
    /// `-32600 block range is too wide`.
    Ankr,
    /// `-32602 query exceeds max results N, retry with the range A-B`.
    Reth,
}

impl RangeErrorProfile {
    /// The JSON-RPC error code and message for a refused request; `limit` is the cap that was
    /// exceeded and `suggestion` a range the provider would accept.
    pub fn error(self, limit: u64, suggestion: Option<BlockRange>) -> (i64, String) {
        match self {
            Self::Infura => {
                let mut message = String::from("query returned more than 10000 results");
                if let Some(r) = suggestion {
                    message.push_str(&format!(
                        ". Try with this block range [{:#x}, {:#x}].",
                        r.from, r.to
                    ));
                }
                (-32005, message)
            }
            Self::Alchemy => {
                let mut message = String::from(
                    "Log response size exceeded. You can make eth_getLogs requests with up to a \
                     2K block range and no limit on the response size, or you can request any \
                     block range with a cap of 10K logs in the response.",
                );
                if let Some(r) = suggestion {
                    message.push_str(&format!(
                        " Based on your parameters, this block range should work: [{:#x}, {:#x}]",
                        r.from, r.to
                    ));
                }
                (-32602, message)
            }
            Self::QuickNode => (-32614, "eth_getLogs is limited to a 10,000 range".into()),
            Self::Ankr => (-32600, "block range is too wide".into()),
            Self::Reth => {
                let mut message = format!("query exceeds max results {limit}");
                if let Some(r) = suggestion {
                    message.push_str(&format!(", retry with the range {}-{}", r.from, r.to));
                }
                (-32602, message)
            }
        }
    }
}

/// A provider-style cap on `eth_getLogs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GetLogsCap {
    /// Largest accepted span in blocks (`to − from + 1`); wider requests never reach the node.
    pub max_range: Option<u64>,
    /// Largest accepted number of logs in one answer.
    pub max_results: Option<usize>,
    /// The error shape.
    pub profile: RangeErrorProfile,
    /// Whether the error names a range that would be accepted.
    pub suggest: bool,
}

impl GetLogsCap {
    /// Refuses spans wider than `blocks`.
    pub fn max_range(blocks: u64) -> Self {
        Self {
            max_range: Some(blocks),
            ..Self::default()
        }
    }

    /// Refuses answers with more than `logs` logs.
    pub fn max_results(logs: usize) -> Self {
        Self {
            max_results: Some(logs),
            ..Self::default()
        }
    }

    /// Uses this error shape.
    pub fn profile(mut self, profile: RangeErrorProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Names an acceptable range in the error.
    pub fn suggesting(mut self) -> Self {
        self.suggest = true;
        self
    }
}

/// The largest prefix `[range.from, x]` of `range` whose logs number at most `max`.
pub(super) fn fitting_prefix(range: BlockRange, logs: &[Value], max: usize) -> Option<BlockRange> {
    let mut blocks: Vec<u64> = logs
        .iter()
        .filter_map(|log| log.get("blockNumber")?.as_str()?.strip_prefix("0x"))
        .filter_map(|hex| u64::from_str_radix(hex, 16).ok())
        .collect();
    blocks.sort_unstable();
    let first_excess = *blocks.get(max)?;
    (first_excess > range.from).then(|| BlockRange::new(range.from, first_excess - 1))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn profiles_carry_the_provider_codes() {
        let suggestion = Some(BlockRange::new(16, 31));
        let (code, message) = RangeErrorProfile::Infura.error(10_000, suggestion);
        assert_eq!(code, -32005);
        assert_eq!(
            message,
            "query returned more than 10000 results. Try with this block range [0x10, 0x1f]."
        );
        assert_eq!(
            RangeErrorProfile::Infura.error(1, None).1,
            "query returned more than 10000 results"
        );
        assert_eq!(RangeErrorProfile::QuickNode.error(1, None).0, -32614);
        assert_eq!(
            RangeErrorProfile::Ankr.error(1, None),
            (-32600, "block range is too wide".into())
        );
        assert_eq!(
            RangeErrorProfile::Reth.error(100, suggestion).1,
            "query exceeds max results 100, retry with the range 16-31"
        );
        assert!(
            RangeErrorProfile::Alchemy
                .error(1, suggestion)
                .1
                .ends_with("[0x10, 0x1f]")
        );
    }

    #[test]
    fn fitting_prefix_stops_before_the_first_excess_log() {
        let logs: Vec<Value> = [5u64, 5, 6, 7, 7, 7]
            .iter()
            .map(|b| json!({"blockNumber": format!("{b:#x}")}))
            .collect();
        let range = BlockRange::new(5, 9);
        assert_eq!(fitting_prefix(range, &logs, 3), Some(BlockRange::new(5, 6)));
        assert_eq!(fitting_prefix(range, &logs, 1), None); // block 5 alone is too large
        assert_eq!(fitting_prefix(range, &logs, 6), None); // nothing to cut
    }
}

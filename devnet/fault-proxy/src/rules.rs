//! The rule language of the fault proxies: ordered rules, first match wins.
//!
//! A rule set is JSON (a rules file, `--rules F`, `--proxy EDGE=RULES`):
//!
//! ```json
//! {
//!   "seed": 7,
//!   "rules": [
//!     {"when": {"method": "eth_getLogs", "get_logs_range": {"span_gt": 1000}},
//!      "action": {"error": {"code": -32005, "message": "query returned more than 10000 results"}}},
//!     {"when": {"method": "eth_blockNumber"}, "scope": {"nth": 3}, "action": "hang"},
//!     {"when": {"method": "eth_getLogs"}, "scope": {"probability": 0.5}, "action": {"drop_log": {}}},
//!     {"when": {"path": "/finalized_state"}, "scope": {"first": 2},
//!      "action": {"http": {"status": 503, "retry_after": 1}}},
//!     {"action": {"rate_limit": {"rps": 10.0, "burst": 20, "as": {"http": {"status": 429}}}}}
//!   ]
//! }
//! ```
//!
//! A bare array of rules is accepted too (seed 0). `when` holds the conditions that must all
//! hold (absent means "any"); `scope` (default `"always"`) says which of the matching requests
//! the rule takes; `action` says what the proxy does with them. Requests no rule takes pass.
//! An action without fields is a string (`"hang"`); one with fields is an object, `{}` taking
//! every default (`{"drop_log": {}}`).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::actions::{
    Action, ErrorAction, HttpAction, Limited, LogPick, RateLimit, StaleHead, TagLags,
};

/// Why a rule set could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The text is not a rule set.
    #[error("invalid proxy rules: {0}")]
    Parse(#[from] serde_json::Error),
    /// The rules file could not be read.
    #[error("reading proxy rules from {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A rule uses an action the proxy's mode cannot apply.
    #[error("rule {index}: action `{action}` is not available in {mode} mode")]
    Unsupported {
        /// The rule's position, from 0.
        index: usize,
        /// The action's name.
        action: &'static str,
        /// The proxy mode.
        mode: &'static str,
    },
    /// A probability outside `[0, 1]`.
    #[error("rule {index}: probability {p} is not within [0, 1]")]
    Probability {
        /// The rule's position, from 0.
        index: usize,
        /// The probability given.
        p: f64,
    },
}

/// An ordered list of rules plus the seed of their `probability` scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Seed of the ChaCha20 streams that decide `probability` scopes (one stream per rule).
    #[serde(default)]
    pub seed: u64,
    /// The rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses a rule set: an object `{"seed", "rules"}` or a bare array of rules.
    pub fn from_json(text: &str) -> Result<Self, RulesError> {
        let value: Value = serde_json::from_str(text)?;
        let set = if value.is_array() {
            RuleSet {
                seed: 0,
                rules: serde_json::from_value(value)?,
            }
        } else {
            serde_json::from_value(value)?
        };
        set.check_probabilities()?;
        Ok(set)
    }

    /// Reads and parses a rules file.
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Checks that every action can be applied by a proxy in HTTP mode.
    pub fn check_http(&self) -> Result<(), RulesError> {
        self.check_mode("http", Action::in_http_mode)
    }

    /// Checks that every action can be applied by a proxy in JSON-RPC mode.
    pub fn check_rpc(&self) -> Result<(), RulesError> {
        self.check_mode("rpc", Action::in_rpc_mode)
    }

    /// Checks the probabilities, then that `applies` holds for every action (else the first
    /// that fails is refused in `mode`).
    fn check_mode(
        &self,
        mode: &'static str,
        applies: fn(&Action) -> bool,
    ) -> Result<(), RulesError> {
        self.check_probabilities()?;
        let mut rules = self.rules.iter().enumerate();
        match rules.find(|(_, rule)| !applies(&rule.action)) {
            Some((index, rule)) => Err(RulesError::Unsupported {
                index,
                action: rule.action.name(),
                mode,
            }),
            None => Ok(()),
        }
    }

    fn check_probabilities(&self) -> Result<(), RulesError> {
        for (index, rule) in self.rules.iter().enumerate() {
            if let Scope::Probability(p) = rule.scope
                && !(0.0..=1.0).contains(&p.0)
            {
                return Err(RulesError::Probability { index, p: p.0 });
            }
        }
        Ok(())
    }
}

/// One rule: which requests, which of them, and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Conditions a request must meet (all of them).
    #[serde(default)]
    pub when: When,
    /// Which of the matching requests the rule takes.
    #[serde(default)]
    pub scope: Scope,
    /// What the proxy does with a request the rule takes.
    pub action: Action,
}

impl Rule {
    /// A rule taking every request that meets `when`.
    pub fn new(when: When, action: Action) -> Self {
        Self {
            when,
            scope: Scope::Always,
            action,
        }
    }

    /// The same rule with another scope.
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
}

/// Conditions on a request; an absent condition always holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// JSON-RPC mode: the method equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP mode: the path equals this, or starts with it when it ends in `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `eth_getLogs` only: comparisons on the requested range (tags resolved upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_logs_range: Option<RangeCondition>,
    /// The params hold this block tag (`latest`, `safe`, `finalized`, `pending`, `earliest`)
    /// as a value or as `fromBlock`/`toBlock`/`blockNumber` of a filter object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_tag: Option<String>,
}

impl When {
    /// Requests for this JSON-RPC method.
    pub fn method(method: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            ..Self::default()
        }
    }

    /// Requests for this HTTP path (a trailing `*` matches a prefix).
    pub fn path(path: &str) -> Self {
        Self {
            path: Some(path.to_owned()),
            ..Self::default()
        }
    }
}

/// Comparisons on an `eth_getLogs` range `[from, to]`; all given ones must hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeCondition {
    /// Span (`to − from + 1`) greater than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_gt: Option<u64>,
    /// Span at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_ge: Option<u64>,
    /// Span less than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_lt: Option<u64>,
    /// Span at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_le: Option<u64>,
    /// `from` at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ge: Option<u64>,
    /// `to` at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_le: Option<u64>,
}

impl RangeCondition {
    /// Whether `[from, to]` meets every comparison.
    pub fn holds(&self, from: u64, to: u64) -> bool {
        let span = if to < from { 0 } else { to - from + 1 };
        self.span_gt.is_none_or(|n| span > n)
            && self.span_ge.is_none_or(|n| span >= n)
            && self.span_lt.is_none_or(|n| span < n)
            && self.span_le.is_none_or(|n| span <= n)
            && self.from_ge.is_none_or(|n| from >= n)
            && self.to_le.is_none_or(|n| to <= n)
    }
}

/// Which of the requests meeting `when` a rule takes. Counts start at 1 and include every
/// request meeting `when`, also those an earlier rule took; `times` counts the requests the
/// rule itself took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every one.
    #[default]
    Always,
    /// Only the n-th.
    Nth(u64),
    /// The first n.
    First(u64),
    /// Every one after the first n.
    After(u64),
    /// The n-th, 2n-th, 3n-th, …
    Every(u64),
    /// Until the rule has taken n requests.
    Times(u64),
    /// Each with probability p, drawn from the rule's seeded ChaCha20 stream.
    Probability(Probability),
}

/// A probability in `[0, 1]`, compared bit for bit.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Probability(pub f64);

impl PartialEq for Probability {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Probability {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("rules.rs")
            .split("```json\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap()
            .lines()
            .map(|line| line.trim_start_matches("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        let set = RuleSet::from_json(&text).unwrap();
        assert_eq!(set.seed, 7);
        assert_eq!(set.rules.len(), 5);
        assert_eq!(set.rules[1].scope, Scope::Nth(3));
        assert_eq!(set.rules[1].action, Action::Hang);
        assert_eq!(set.rules[2].scope, Scope::Probability(Probability(0.5)));
        assert!(matches!(set.rules[4].action, Action::RateLimit(ref r) if r.burst == 20));
        assert!(set.check_rpc().is_ok());
        assert!(set.check_http().is_err(), "`error` is a JSON-RPC answer");
    }

    #[test]
    fn bare_arrays_defaults_and_bad_input() {
        let set = RuleSet::from_json(r#"[{"action": "pass"}]"#).unwrap();
        assert_eq!(set.rules, [Rule::new(When::default(), Action::Pass)]);
        let set = RuleSet::from_json(
            r#"{"rules": [{"action": {"get_logs_cap": {"max_range": 5, "profile": "alchemy"}}}]}"#,
        )
        .unwrap();
        let Action::GetLogsCap(cap) = &set.rules[0].action else {
            panic!("not a cap: {set:?}");
        };
        assert_eq!(cap.max_range, Some(5));
        assert!(RuleSet::from_json(r#"[{"action": "explode"}]"#).is_err());
        assert!(RuleSet::from_json(r#"[{"action": "pass", "typo": 1}]"#).is_err());
        assert!(RuleSet::from_json("not json").is_err());
        assert!(matches!(
            RuleSet::from_json(r#"[{"scope": {"probability": 1.5}, "action": "pass"}]"#),
            Err(RulesError::Probability { index: 0, .. })
        ));
        let http = RuleSet::from_json(r#"[{"action": {"chain_id": {"v": 1}}}]"#).unwrap();
        assert!(matches!(
            http.check_http(),
            Err(RulesError::Unsupported {
                action: "chain_id",
                ..
            })
        ));
        assert!(http.check_rpc().is_ok());
    }

    #[test]
    fn range_conditions_compare_spans_and_ends() {
        let c = RangeCondition {
            span_gt: Some(3),
            to_le: Some(100),
            ..RangeCondition::default()
        };
        assert!(c.holds(1, 4));
        assert!(!c.holds(1, 3));
        assert!(!c.holds(90, 101));
        assert!(RangeCondition::default().holds(5, 4));
    }
}

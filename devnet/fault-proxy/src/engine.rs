//! Rule selection: conditions, scopes (with seeded probability draws), token buckets and the
//! frozen heads of `stale_head{freeze}`.

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use serde_json::Value;

use super::rules::{Action, RateLimit, Rule, RuleSet, Scope, When};
use crate::range::BlockRange;

/// What rules may look at in a request.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Facts<'a> {
    /// JSON-RPC method (rpc mode) or HTTP method (http mode).
    pub(crate) method: Option<&'a str>,
    /// HTTP path without the query (http mode).
    pub(crate) path: Option<&'a str>,
    /// The resolved `eth_getLogs` range.
    pub(crate) range: Option<BlockRange>,
    /// JSON-RPC params.
    pub(crate) params: Option<&'a Value>,
}

/// The rules of a running proxy with their counters.
#[derive(Debug)]
pub(crate) struct Engine {
    rules: Vec<Rule>,
    state: Vec<RuleState>,
}

#[derive(Debug)]
struct RuleState {
    seen: u64,
    fired: u64,
    rng: ChaCha20Rng,
    bucket: Option<Bucket>,
    frozen: Option<u64>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Engine {
    /// Fresh counters for `set`.
    pub(crate) fn new(set: &RuleSet) -> Self {
        let state = (0..set.rules.len())
            .map(|index| {
                let mut rng = ChaCha20Rng::seed_from_u64(set.seed);
                rng.set_stream(index as u64);
                RuleState {
                    seen: 0,
                    fired: 0,
                    rng,
                    bucket: None,
                    frozen: None,
                }
            })
            .collect();
        Self {
            rules: set.rules.clone(),
            state,
        }
    }

    /// Whether some rule for `method` needs the resolved `eth_getLogs` range to decide.
    pub(crate) fn needs_range(&self, method: &str) -> bool {
        self.rules.iter().any(|rule| {
            rule.when.method.as_deref().is_none_or(|m| m == method)
                && (rule.when.get_logs_range.is_some()
                    || matches!(rule.action, Action::GetLogsCap(_)))
        })
    }

    /// The first rule that takes the request: its index and action. Every rule whose `when`
    /// holds counts the request, also those after the one that takes it.
    pub(crate) fn select(&mut self, facts: &Facts<'_>) -> Option<(usize, Action)> {
        let mut chosen = None;
        for (index, (rule, state)) in self.rules.iter().zip(&mut self.state).enumerate() {
            if !matches(&rule.when, facts) {
                continue;
            }
            state.seen += 1;
            if chosen.is_some() {
                continue;
            }
            let takes = match rule.scope {
                Scope::Always => true,
                Scope::Nth(n) => state.seen == n,
                Scope::First(n) => state.seen <= n,
                Scope::After(n) => state.seen > n,
                Scope::Every(n) => n > 0 && state.seen.is_multiple_of(n),
                Scope::Times(n) => state.fired < n,
                Scope::Probability(p) => unit(state.rng.next_u64()) < p.0,
            };
            if takes {
                state.fired += 1;
                chosen = Some((index, rule.action.clone()));
            }
        }
        chosen
    }

    /// Takes a token from rule `index`'s bucket; `false` when it is empty.
    pub(crate) fn take_token(&mut self, index: usize, limit: &RateLimit, now: Instant) -> bool {
        let Some(state) = self.state.get_mut(index) else {
            return true;
        };
        let burst = f64::from(limit.burst);
        let bucket = state.bucket.get_or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.rps.max(0.0)).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The head rule `index` froze at, freezing it at `current` the first time.
    pub(crate) fn frozen_head(&mut self, index: usize, current: u64) -> u64 {
        match self.state.get_mut(index) {
            Some(state) => *state.frozen.get_or_insert(current),
            None => current,
        }
    }
}

/// A uniform draw in `[0, 1)` from 53 random bits.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

fn matches(when: &When, facts: &Facts<'_>) -> bool {
    if let Some(method) = &when.method
        && facts.method != Some(method.as_str())
    {
        return false;
    }
    if let Some(pattern) = &when.path {
        let Some(path) = facts.path else {
            return false;
        };
        let hit = match pattern.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == pattern,
        };
        if !hit {
            return false;
        }
    }
    if let Some(condition) = &when.get_logs_range {
        match facts.range {
            Some(r) if facts.method == Some("eth_getLogs") => {
                if !condition.holds(r.from, r.to) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    if let Some(tag) = &when.block_tag
        && !facts.params.is_some_and(|p| holds_tag(p, tag))
    {
        return false;
    }
    true
}

/// Whether `params` name `tag` directly or as a filter's block bound.
fn holds_tag(params: &Value, tag: &str) -> bool {
    let Some(items) = params.as_array() else {
        return false;
    };
    items.iter().any(|item| match item {
        Value::String(s) => s == tag,
        Value::Object(filter) => ["fromBlock", "toBlock", "blockNumber"]
            .iter()
            .any(|key| filter.get(*key).and_then(Value::as_str) == Some(tag)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::{Limited, Probability};

    fn engine(rules: Vec<Rule>, seed: u64) -> Engine {
        Engine::new(&RuleSet { seed, rules })
    }

    fn taken(engine: &mut Engine, method: &str, n: usize) -> Vec<Option<usize>> {
        let facts = Facts {
            method: Some(method),
            ..Facts::default()
        };
        (0..n)
            .map(|_| engine.select(&facts).map(|(i, _)| i))
            .collect()
    }

    fn rule(scope: Scope) -> Rule {
        Rule::new(When::method("m"), Action::Hang).scoped(scope)
    }

    #[test]
    fn scopes_pick_the_documented_requests() {
        let picks = |scope| {
            let mut e = engine(vec![rule(scope)], 0);
            taken(&mut e, "m", 7)
                .iter()
                .enumerate()
                .filter(|(_, t)| t.is_some())
                .map(|(i, _)| i + 1)
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(Scope::Always), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(picks(Scope::Nth(3)), [3]);
        assert_eq!(picks(Scope::First(2)), [1, 2]);
        assert_eq!(picks(Scope::After(5)), [6, 7]);
        assert_eq!(picks(Scope::Every(3)), [3, 6]);
        assert_eq!(picks(Scope::Every(0)), Vec::<usize>::new());
        assert_eq!(picks(Scope::Times(4)), [1, 2, 3, 4]);
        assert_eq!(
            picks(Scope::Probability(Probability(0.0))),
            Vec::<usize>::new()
        );
        assert_eq!(picks(Scope::Probability(Probability(1.0))).len(), 7);
    }

    #[test]
    fn counts_include_requests_earlier_rules_took_but_times_does_not() {
        let mut e = engine(vec![rule(Scope::First(2)), rule(Scope::Nth(2))], 0);
        assert_eq!(taken(&mut e, "m", 3), [Some(0), Some(0), None]);
        let mut e = engine(vec![rule(Scope::First(2)), rule(Scope::Times(2))], 0);
        assert_eq!(
            taken(&mut e, "m", 5),
            [Some(0), Some(0), Some(1), Some(1), None]
        );
        assert_eq!(taken(&mut e, "other", 1), [None]);
    }

    #[test]
    fn probability_draws_repeat_for_a_seed_and_differ_across_seeds() {
        let draws = |seed| {
            let mut e = engine(vec![rule(Scope::Probability(Probability(0.5)))], seed);
            taken(&mut e, "m", 64)
        };
        assert_eq!(draws(1), draws(1));
        assert_ne!(draws(1), draws(2));
        let hits = draws(1).iter().flatten().count();
        assert!((16..=48).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn the_bucket_holds_burst_tokens_and_refills_at_rps() {
        let limit = RateLimit {
            rps: 2.0,
            burst: 3,
            answer: Limited::default(),
        };
        let mut e = engine(vec![rule(Scope::Always)], 0);
        let t0 = Instant::now();
        let takes: Vec<bool> = (0..4).map(|_| e.take_token(0, &limit, t0)).collect();
        assert_eq!(takes, [true, true, true, false]);
        let half = t0 + std::time::Duration::from_millis(500);
        assert!(
            e.take_token(0, &limit, half),
            "one token after 0.5 s at 2 rps"
        );
        assert!(!e.take_token(0, &limit, half));
        let later = t0 + std::time::Duration::from_secs(60);
        let takes: Vec<bool> = (0..4).map(|_| e.take_token(0, &limit, later)).collect();
        assert_eq!(takes, [true, true, true, false], "never more than burst");
    }

    #[test]
    fn conditions_on_ranges_tags_and_paths() {
        let when = When {
            method: Some("eth_getLogs".into()),
            get_logs_range: Some(super::super::rules::RangeCondition {
                span_gt: Some(10),
                ..Default::default()
            }),
            block_tag: Some("latest".into()),
            ..When::default()
        };
        let params = json!([{"fromBlock": "0x0", "toBlock": "latest"}]);
        let facts = |range| Facts {
            method: Some("eth_getLogs"),
            range,
            params: Some(&params),
            path: None,
        };
        assert!(matches(&when, &facts(Some(BlockRange::new(0, 10)))));
        assert!(!matches(&when, &facts(Some(BlockRange::new(0, 9)))));
        assert!(!matches(&when, &facts(None)));
        let plain = json!(["safe", false]);
        assert!(holds_tag(&plain, "safe"));
        assert!(!holds_tag(&plain, "latest"));
        let prefix = When::path("/v1/*");
        let at = |path| Facts {
            path: Some(path),
            ..Facts::default()
        };
        assert!(matches(&prefix, &at("/v1/x")));
        assert!(!matches(&prefix, &at("/v2/x")));
        assert!(!matches(&When::path("/a"), &Facts::default()));
    }
}

//! What `status.prom` exports, checked against its consumers: the reference watchdog's
//! textfiles (`../shared/upstream-fixtures/watchdog_status_{ok,failed}.prom`, read in place)
//! for drop-in compatibility, and the Grafana dashboard under `deploy/grafana/`, whose every
//! query must name a series the binary writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use watchdog::liveness::Liveness;
use watchdog::state::prom::Metrics;

/// A file of the reference's fixtures, found in `shared/` beside the workspace or above it.
fn upstream_fixture(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.ancestors()
        .map(|dir| dir.join("shared/upstream-fixtures").join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{name}: no shared/upstream-fixtures beside the workspace"))
}

/// Series name → the label-name sets its samples carry.
type Series = BTreeMap<String, BTreeSet<Vec<String>>>;

/// Parses a Prometheus textfile's samples into series names and label-name sets.
fn series(text: &str) -> Series {
    let mut out = Series::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, rest) = line.split_once('{').expect("a labelled sample");
        let labels = rest.rsplit_once('}').expect("closing brace").0;
        let mut keys: Vec<String> = labels
            .split("\",")
            .map(|kv| kv.split('=').next().unwrap().to_owned())
            .collect();
        keys.sort();
        out.entry(name.to_owned()).or_default().insert(keys);
    }
    out
}

/// The `state` label values of `cartesi_watchdog_status` in a textfile.
fn states(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("cartesi_watchdog_status{"))
        .map(|l| {
            l.split("state=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .map(str::to_owned)
        .collect()
}

/// Every `# HELP` family of a textfile.
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

fn liveness() -> Liveness {
    Liveness {
        l1_head_block: 2000,
        l1_input_count: 9,
        sequencer_inclusion_block: 123,
        sequencer_input_count: 7,
        pending_inputs: 2,
        oldest_pending_block: Some(400),
        finality_lag_blocks: 1600,
        max_finality_lag_blocks: 1500,
    }
}

/// What the binary writes after a tick with exit `exit_code`, every optional family present.
fn ours(exit_code: u8) -> String {
    Metrics {
        app_address: Some("0x4ce633ca2f0dd4b4ce6d2a1bcf0b8bd0db0f0ba0".into()),
        chain_id: Some(11_155_111),
        exit_code,
        divergence_kind: (exit_code == 2).then(|| "state_mismatch".to_owned()),
        head_block: Some(123),
        target_block: Some(123),
        liveness: Some(liveness()),
        last_tick_unix: 1_790_000_000,
        duration_ms: 1,
        inputs_replayed_total: 1,
        rpc_requests_total: [1, 0, 1],
        tick_inputs_replayed: 1,
        tick_rpc_requests: [1, 0, 1],
    }
    .render()
}

/// Every family the binary can write: the union over its outcomes.
fn exported() -> BTreeSet<String> {
    [0, 1, 2]
        .into_iter()
        .flat_map(|code| families(&ours(code)))
        .collect()
}

#[test]
fn the_reference_textfiles_series_and_labels_are_all_ours() {
    for (name, code) in [
        ("watchdog_status_ok.prom", 0),
        ("watchdog_status_failed.prom", 2),
    ] {
        let reference = std::fs::read_to_string(upstream_fixture(name)).unwrap();
        let ours = ours(code);
        let (theirs, mine) = (series(&reference), series(&ours));
        assert!(!theirs.is_empty(), "{name}: no samples");
        for (series_name, label_sets) in &theirs {
            let found = mine
                .get(series_name)
                .unwrap_or_else(|| panic!("{name}: we do not export {series_name}"));
            assert_eq!(found, label_sets, "{name}: label names of {series_name}");
        }
        assert_eq!(states(&reference), states(&ours), "{name}: status states");
        // The current state is the same line in both.
        let current = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("cartesi_watchdog_status{") && l.ends_with(" 1"))
                .map(|l| l.split("state=\"").nth(1).unwrap().to_owned())
        };
        assert_eq!(current(&reference), current(&ours), "{name}");
    }
}

#[test]
fn the_reference_checked_block_is_the_compared_block() {
    let ours = ours(0);
    let value = |family: &str| {
        ours.lines()
            .find(|l| l.starts_with(&format!("{family}{{")))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(value("cartesi_watchdog_checked_block"), Some("123".into()));
    assert_eq!(
        value("cartesi_watchdog_checked_block"),
        value("cartesi_watchdog_head_block")
    );
}

fn dashboard_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/sequencer-watchdog.json")
}

/// Every PromQL expression of the dashboard: panel targets and template-variable queries.
fn queries(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            out.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        if let Some(query) = variable["query"]["query"].as_str() {
            out.push(query.to_owned());
        }
    }
    out
}

/// The `cartesi_watchdog_*` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("cartesi_watchdog_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_dashboard_query_names_an_exported_series() {
    let dashboard: Value =
        serde_json::from_slice(&std::fs::read(dashboard_path()).unwrap()).expect("valid JSON");
    let exported = exported();
    let queries = queries(&dashboard);
    assert!(queries.len() >= 10, "{queries:?}");
    let mut used = BTreeSet::new();
    for query in &queries {
        let names = metric_names(query);
        assert!(!names.is_empty(), "query names no watchdog series: {query}");
        for name in names {
            assert!(
                exported.contains(&name),
                "{query}: {name} is not written by the binary (it writes {exported:?})"
            );
            used.insert(name);
        }
    }
    // The panels the operators asked for are there.
    for wanted in [
        "cartesi_watchdog_status",
        "cartesi_watchdog_checked_block",
        "cartesi_watchdog_l1_head_block",
        "cartesi_watchdog_sequencer_inclusion_block",
        "cartesi_watchdog_finality_lag_blocks",
        "cartesi_watchdog_pending_inputs",
        "cartesi_watchdog_tick_duration_seconds",
        "cartesi_watchdog_last_tick_inputs_replayed",
        "cartesi_watchdog_last_tick_rpc_requests",
        "cartesi_watchdog_divergence_info",
    ] {
        assert!(used.contains(wanted), "no panel over {wanted}");
    }
}

#[test]
fn the_name_scanner_finds_every_series() {
    assert_eq!(
        metric_names("increase(cartesi_watchdog_a_total{x=\"1\"}[5m]) / cartesi_watchdog_b"),
        ["cartesi_watchdog_a_total", "cartesi_watchdog_b"]
    );
    // A renamed series would be caught.
    assert!(!exported().contains("cartesi_watchdog_checked_blocks"));
}

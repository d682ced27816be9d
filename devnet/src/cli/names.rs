//! Named devnets: `--name NAME` picks `<root>/<NAME>/` (root: `--root`, else
//! `<workspace>/.cache/devnet`), and `devnet list` shows every devnet under the root. Nothing
//! here removes anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use devnet_stack::state_file::{RunState, StateFile, now_ms, supervisor_alive};
use devnet_stack::workspace_root;
use serde_json::{Value, json};

use super::{Exit, emit};

/// The name of the devnet when none is given.
pub const DEFAULT_NAME: &str = "default";

/// The default root of named devnets: `<workspace>/.cache/devnet`.
pub fn default_root() -> PathBuf {
    workspace_root().join(".cache").join("devnet")
}

/// Checks a devnet name: 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        bail!(
            "bad devnet name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-', not starting \
             with '.' or '-'"
        );
    }
    Ok(())
}

/// `devnet list` options.
#[derive(Debug, Args)]
pub struct ListArgs {}

/// What one devnet directory holds, as `list` shows it.
pub(super) fn describe(name: &str, dir: &Path) -> Result<Value> {
    let running = supervisor_alive(dir)?;
    let state = match StateFile::read(dir) {
        Ok(state) => state,
        Err(e) => {
            return Ok(json!({
                "name": name, "state_dir": dir, "state": "unreadable", "running": running,
                "error": format!("{e:#}"),
            }));
        }
    };
    let Some(state) = state else {
        return Ok(json!({
            "name": name, "state_dir": dir,
            "state": if running { "starting" } else { "absent" },
            "running": running,
        }));
    };
    let claimed = matches!(
        state.state,
        RunState::Starting | RunState::Ready | RunState::Degraded | RunState::Stopping
    );
    let shown = if claimed && !running {
        "dead".to_owned()
    } else {
        serde_json::to_value(state.state)?
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    Ok(json!({
        "name": name,
        "state_dir": dir,
        "state": shown,
        "running": running,
        "pid": running.then_some(state.supervisor.pid),
        "endpoints": state.endpoints,
        "mining": state.mining,
        "started_at_ms": state.started_at_ms,
        "age_secs": now_ms().saturating_sub(state.started_at_ms) / 1000,
        "reason": state.reason,
    }))
}

/// Lists the devnets under `root`, by name.
pub(super) fn list(root: &Path, out: &mut dyn Write) -> Result<Exit> {
    let mut devnets = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => Some(entries),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("listing {}", root.display())),
    };
    let mut names: Vec<(String, PathBuf)> = entries
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            (entry.file_type().ok()?.is_dir() && check_name(&name).is_ok())
                .then(|| (name, entry.path()))
        })
        .collect();
    names.sort();
    for (name, dir) in names {
        devnets.push(describe(&name, &dir)?);
    }
    emit(out, &json!({"root": root, "devnets": devnets}))?;
    Ok(Exit::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_path_components() {
        for good in ["default", "a", "ci-1", "x.y_z", &"n".repeat(64)] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-x",
            "a/b",
            "a b",
            "ü",
            &"n".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn list_shows_every_named_dir_and_touches_nothing() {
        let root = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        list(&root.path().join("missing"), &mut out).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["devnets"], json!([]));
        std::fs::create_dir(root.path().join("b")).unwrap();
        std::fs::create_dir(root.path().join("a")).unwrap();
        std::fs::create_dir(root.path().join(".tmp")).unwrap();
        let mut out = Vec::new();
        list(root.path(), &mut out).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        let names: Vec<_> = value["devnets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["name"].as_str().unwrap(), d["state"].as_str().unwrap()))
            .collect();
        assert_eq!(names, [("a", "absent"), ("b", "absent")]);
        assert!(root.path().join("a").is_dir() && root.path().join(".tmp").is_dir());
    }
}

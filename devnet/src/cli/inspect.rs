//! `devnet status`, `devnet env` and `devnet doctor`: read-only commands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use anyhow::{Context as _, Result};
use clap::Args;
use devnet_pins as pins;
use devnet_stack::disk::DiskUsage;
use devnet_stack::state_file::{Component, RunState, StateFile, supervisor_alive};
use devnet_stack::{ControlClient, DevnetError, persist, process};
use serde_json::{Value, json};

use super::{API_TIMEOUT, Exit, emit};
use crate::exports::{EnvFormat, exports, render};

/// `devnet status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON (the only format; accepted for scripts that ask for it).
    #[arg(long)]
    pub json: bool,
}

/// `devnet env` options.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// `sh` (`export NAME='value'`), `fish` or `json`.
    #[arg(long, default_value = "sh", value_name = "FORMAT")]
    pub format: EnvFormat,
}

/// `devnet doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also fail when `sequencer-watchdog` is not found.
    #[arg(long)]
    pub strict: bool,
}

fn component_json(component: &Component) -> Value {
    let mut value = serde_json::to_value(component).unwrap_or(Value::Null);
    let alive = component.process.is_some_and(|p| match p.start_time {
        Some(start) => process::is_same_process(p.pid, start),
        None => process::is_running(p.pid),
    });
    if let Some(object) = value.as_object_mut() {
        object.insert("alive".to_owned(), Value::Bool(alive));
    }
    value
}

/// The state of the devnet in `dir` and where it came from: the running supervisor's control
/// API (`control_api`), else `devnet.json`.
pub(super) async fn current_state(dir: &Path) -> Result<(Option<StateFile>, &'static str)> {
    if let Some(client) = ControlClient::connect(dir)? {
        match client.get_json("/v1/status", API_TIMEOUT).await {
            Ok(value) => {
                let state = serde_json::from_value(value).context("parsing the API's status")?;
                return Ok((Some(state), "control_api"));
            }
            Err(e) => {
                tracing::debug!(target: "devnet::status", error = %format!("{e:#}"), "the control API did not answer; reading devnet.json");
            }
        }
    }
    Ok((StateFile::read(dir)?, "devnet.json"))
}

/// The status of the devnet in `dir` (from the control API when the supervisor runs, else
/// `devnet.json`) plus `running` (the supervisor lock is held), `source`, per-component
/// `alive`, `disk` (bytes below the state directory, by part) and `kept` (the chain
/// `down --keep` kept, if any). A record claiming to run without a live supervisor is reported
/// as `dead`.
pub(super) async fn status(dir: &Path, _args: &StatusArgs, out: &mut dyn Write) -> Result<Exit> {
    let (state, source) = current_state(dir).await?;
    let running = supervisor_alive(dir)?;
    let disk = DiskUsage::of(dir);
    let kept = persist::Kept::read(dir).unwrap_or_else(|e| {
        tracing::warn!(target: "devnet::status", error = %format!("{e:#}"), "unreadable kept.json");
        None
    });
    let Some(state) = state else {
        emit(
            out,
            &json!({"state": "absent", "running": running, "state_dir": dir, "disk": disk, "kept": kept}),
        )?;
        return Ok(Exit::Failed);
    };
    let mut value = serde_json::to_value(&state).context("encoding the state")?;
    let claimed = matches!(
        state.state,
        RunState::Starting | RunState::Ready | RunState::Degraded | RunState::Stopping
    );
    if let Some(object) = value.as_object_mut() {
        object.insert("running".to_owned(), Value::Bool(running));
        object.insert("source".to_owned(), Value::from(source));
        if claimed && !running {
            object.insert("state".to_owned(), Value::String("dead".to_owned()));
        }
        object.insert("disk".to_owned(), json!(disk));
        object.insert("kept".to_owned(), json!(kept));
        object.insert(
            "components".to_owned(),
            json!({
                "anvil": component_json(&state.components.anvil),
                "sequencer": component_json(&state.components.sequencer),
            }),
        );
    }
    emit(out, &value)?;
    Ok(if running && state.state == RunState::Ready {
        Exit::Passed
    } else {
        Exit::Failed
    })
}

/// The exports of the running devnet in `dir`.
pub(super) async fn env(dir: &Path, args: &EnvArgs, out: &mut dyn Write) -> Result<Exit> {
    let not_running = || DevnetError::NotRunning(dir.to_owned());
    if !supervisor_alive(dir)? {
        return Err(not_running().into());
    }
    let state = current_state(dir).await?.0.ok_or_else(not_running)?;
    // Degraded (a chain halt) still has its endpoints.
    if !matches!(state.state, RunState::Ready | RunState::Degraded) {
        return Err(anyhow::Error::new(not_running())
            .context(format!("the devnet is {:?}, not ready", state.state)));
    }
    out.write_all(render(&exports(&state)?, args.format).as_bytes())?;
    out.flush()?;
    Ok(Exit::Passed)
}

/// `<exe> --version`'s first line.
fn version_of(exe: &Path) -> Option<String> {
    let output = Process::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    output
        .status
        .success()
        .then(|| text.lines().next().unwrap_or_default().trim().to_owned())
}

fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(name);
    path.is_file().then_some(path)
}

/// Checks the tools (installing anvil if needed) and prints the pins.
pub(super) async fn doctor(args: &DoctorArgs, out: &mut dyn Write) -> Result<Exit> {
    let anvil = tokio::task::spawn_blocking(devnet_stack::anvil_binary)
        .await
        .context("the anvil installer task failed")?;
    let (anvil_json, anvil_ok) = match &anvil {
        Ok(path) => {
            let version = version_of(path);
            let ok = version
                .as_deref()
                .is_some_and(|v| v.contains(pins::ANVIL.version));
            (json!({"path": path, "version": version, "ok": ok}), ok)
        }
        Err(e) => (json!({"error": format!("{e:#}"), "ok": false}), false),
    };
    let sequencer = devnet_stack::sequencer_command();
    let sequencer_json = match &sequencer {
        Ok((path, args)) => json!({"path": path, "args": args, "ok": true}),
        Err(e) => json!({"error": format!("{e:#}"), "ok": false}),
    };
    let watchdog = sibling("sequencer-watchdog");
    let watchdog_json = match &watchdog {
        Some(path) => json!({"path": path, "version": version_of(path), "ok": true}),
        None => json!({"path": null, "ok": false}),
    };
    let eip55 = |a: alloy::primitives::Address| a.to_checksum(None);
    emit(
        out,
        &json!({
            "anvil": anvil_json,
            "devnet_sequencer": sequencer_json,
            "sequencer_watchdog": watchdog_json,
            "pins": {
                "anvil": pins::ANVIL.version,
                "rollups": pins::ROLLUPS_VERSION,
                "chain_id": pins::CHAIN_ID,
                "input_box": eip55(pins::addresses::INPUT_BOX),
                "erc20_portal": eip55(pins::addresses::ERC20_PORTAL),
                "application_factory": eip55(pins::addresses::APPLICATION_FACTORY),
                "token": eip55(pins::addresses::TOKEN),
                "application": eip55(pins::addresses::APPLICATION),
                "template_hash": pins::TEMPLATE_HASH,
            },
        }),
    )?;
    let ok = anvil_ok && sequencer.is_ok() && (!args.strict || watchdog.is_some());
    Ok(if ok { Exit::Passed } else { Exit::Environment })
}

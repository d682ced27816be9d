//! The devnet's scenarios: what a scenario runs ([`topology`]), the deployers that provision it
//! on a backend ([`deploy`], each behind one [`L1Node`](deploy::L1Node) control), the
//! `sequencer-watchdog` driver ([`driver`]), and the named scenarios and drills with their
//! harness, checks, seeds and reports.
//!
//! Named scenarios and drills (spec `devnet.md` §8–9): each deploys a fresh stack on a
//! [`Backend`] (`local`: anvil and the real contracts; `in-process`: the synthetic L1;
//! `attach`: an L1 and a sequencer running elsewhere, an [`AttachTarget`]; `compose`: anvil,
//! the sequencer and each watchdog command in containers on private networks), drives
//! a workload and faults, runs `sequencer-watchdog` commands, checks what the watchdog did
//! (plus `log_hygiene` over anvil's log and every watchdog stderr), and leaves a [`Verdict`]
//! with the evidence for the report. `devnet run <name> --backend B` runs them from the
//! command line; each is also a test.
//!
//! Every scenario declares the capabilities it needs ([`ScenarioInfo::needs`]); on a backend
//! that lacks one it is `skipped(<cap>)` without running, never passed (`--strict`: failed).
//! The capabilities of `attach` come from probing the target ([`AttachDeployer::probe`](crate::deploy::AttachDeployer::probe)).
//!
//! Every run has a [`Seed`] (`--seed`, `$DEVNET_SEED`, else `0x5eed`): the seeded workloads
//! and faults draw from ChaCha20 streams keyed by `(seed, label)`, and every failure names the
//! seed and the command that repeats it (`devnet run <name> --seed <s> --keep`).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod attach;
mod checks;
pub mod container;
pub mod deploy;
pub mod driver;
mod harness;
mod named;
mod report;
pub mod seed;
pub mod topology;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;

use crate::deploy::{Backend, Caps, ComposeDeployer, InProcessDeployer, LocalDeployer};

pub use attach::{
    ATTACH_APP_ENV, ATTACH_CONTROL_ENV, ATTACH_L1_ENV, ATTACH_SEQUENCER_ENV,
    ATTACH_WALLET_CONFIG_ENV, AttachTarget,
};
pub use checks::{Allow, Check, Checks, LogText, describe, log_hygiene};
pub use harness::{Harness, NeedsCap, StackOptions};
pub use named::{SCENARIOS, ScenarioInfo, find};
pub use report::{
    Evidence, LOG_TAIL_LINES, PROXY_TAIL_ENTRIES, RunReport, STDERR_TAIL_LINES, Status, Verdict,
    WatchdogRecord, table,
};
pub use seed::{SEED_ENV, Seed};

/// Environment variable choosing when `devnet run` keeps temporary directories: `1` always,
/// `failure` (the default) when the scenario failed, `0` never.
pub const KEEP_ENV: &str = "DEVNET_KEEP";

/// Environment variable choosing the backend of `devnet run` (`--backend` wins).
pub const BACKEND_ENV: &str = "DEVNET_BACKEND";

/// The capabilities of a deployment on `backend` (`None` for `attach`: they come from
/// probing the target), without `Image`, which the environment decides on every backend
/// ([`container::image_unavailable`]; on `compose`, every scenario needs it:
/// [`deploy::compose_unavailable`]).
pub fn backend_caps(backend: Backend) -> Option<Caps> {
    match backend {
        Backend::Local => Some(LocalDeployer::CAPS),
        Backend::InProcess => Some(InProcessDeployer::CAPS),
        Backend::Attach => None,
        Backend::Compose => Some(ComposeDeployer::CAPS),
    }
}

/// What scenario `info` needs on `backend`: on `compose` everything runs in containers, so
/// every scenario also needs `Image` (the engine and the anvil, sequencer and watchdog
/// images).
pub fn needs_on(info: &ScenarioInfo, backend: Backend) -> Caps {
    match backend {
        Backend::Compose => info.needs | Caps::IMAGE,
        _ => info.needs,
    }
}

/// When a scenario's temporary directory (logs, watchdog state) survives the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    /// Always (`--keep`, `DEVNET_KEEP=1`).
    Always,
    /// When the scenario failed (`DEVNET_KEEP=failure`, the default).
    #[default]
    OnFailure,
    /// Never (`DEVNET_KEEP=0`).
    Never,
}

impl Keep {
    /// `$DEVNET_KEEP`, else [`Keep::OnFailure`]; an unknown value is an error.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var(KEEP_ENV).as_deref() {
            Err(_) | Ok("failure") => Ok(Self::OnFailure),
            Ok("1") => Ok(Self::Always),
            Ok("0") => Ok(Self::Never),
            Ok(other) => anyhow::bail!("{KEEP_ENV}={other:?}: expected 1, failure or 0"),
        }
    }

    fn keeps(self, failed: bool) -> bool {
        match self {
            Self::Always => true,
            Self::OnFailure => failed,
            Self::Never => false,
        }
    }
}

/// How scenarios run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The backend (default `local`).
    pub backend: Backend,
    /// The run seed.
    pub seed: Seed,
    /// When temporary directories are kept.
    pub keep: Keep,
    /// What the `attach` backend attaches to (required there, ignored elsewhere).
    pub attach: Option<AttachTarget>,
}

impl RunOptions {
    /// Backend, seed, keep policy and attach target from `$DEVNET_BACKEND`, `$DEVNET_SEED`,
    /// `$DEVNET_KEEP` and `$DEVNET_ATTACH_*` (else their defaults).
    pub fn from_env() -> anyhow::Result<Self> {
        let backend = match std::env::var(BACKEND_ENV) {
            Ok(name) => name.parse()?,
            Err(_) => Backend::default(),
        };
        Ok(Self {
            backend,
            seed: Seed::from_env()?,
            keep: Keep::from_env()?,
            attach: AttachTarget::from_env()?,
        })
    }
}

/// Runs the scenario `name` on a fresh stack on `backend` with `seed` (keeping its directory
/// on failure); `None` if there is no such scenario.
pub async fn run(name: &str, backend: Backend, seed: Seed) -> Option<Verdict> {
    let options = RunOptions {
        backend,
        seed,
        keep: Keep::OnFailure,
        attach: None,
    };
    run_with(name, &options).await
}

/// Runs the scenario `name` on a fresh stack; `None` if there is no such scenario. On a
/// backend lacking a capability the scenario needs, it does not run: the verdict is
/// `skipped(<cap>)`. On `attach` the capabilities are probed first, and every URL in an
/// error message is shown as `scheme://host[:port]` only.
pub async fn run_with(name: &str, options: &RunOptions) -> Option<Verdict> {
    let info = find(name)?;
    let started = Instant::now();
    let mut checks = Checks::default();
    let mut stack = named::options(info.name);
    stack.seed = options.seed;
    stack.backend = options.backend;
    stack.attach = options.attach.clone();
    let needs = needs_on(info, options.backend);
    let (error, evidence, kept) = match caps(options, needs).await {
        Err(e) => (Some(format!("setup: {e:#}")), Evidence::default(), None),
        Ok((caps, why)) if !caps.missing(needs).is_empty() => {
            return Some(Verdict {
                name: info.name,
                backend: options.backend.to_string(),
                seed: options.seed,
                expected: info.expected,
                checks: Vec::new(),
                error: None,
                skipped: Some(caps.missing(needs).to_string()),
                duration: started.elapsed(),
                evidence: Evidence {
                    notes: why.into_iter().collect(),
                    ..Evidence::default()
                },
                kept: None,
            });
        }
        Ok(_) => run_stack(info, stack, options.keep, &mut checks).await,
    };
    let error = match options.backend {
        Backend::Attach => error.as_deref().map(attach::redact_urls),
        _ => error,
    };
    Some(Verdict {
        name: info.name,
        backend: options.backend.to_string(),
        seed: options.seed,
        expected: info.expected,
        checks: checks.0,
        error,
        skipped: None,
        duration: started.elapsed(),
        evidence,
        kept,
    })
}

/// What a deployment on `options.backend` can do: fixed for `local` and `in-process`, probed
/// for `attach` (which needs a target); plus `Image` when a scenario that `needs` it finds the
/// watchdog image on an engine that answers, else why not.
async fn caps(options: &RunOptions, needs: Caps) -> anyhow::Result<(Caps, Option<String>)> {
    let caps = match backend_caps(options.backend) {
        Some(caps) => caps,
        None => {
            let target = options
                .attach
                .as_ref()
                .context("the attach backend needs an L1 and a sequencer URL")?;
            target
                .deployer()
                .probe()
                .await
                .context("probing the attached L1")?
        }
    };
    if !needs.contains(Caps::IMAGE) {
        return Ok((caps, None));
    }
    let unavailable = match options.backend {
        Backend::Compose => deploy::compose_unavailable().await,
        _ => container::image_unavailable().await,
    };
    Ok(match unavailable {
        None => (caps | Caps::IMAGE, None),
        Some(why) => (caps, Some(why)),
    })
}

/// Starts the stack, runs scenario `info` on it and tears it down: the error, if any, the
/// evidence and the kept directory.
async fn run_stack(
    info: &ScenarioInfo,
    stack: StackOptions,
    keep: Keep,
    checks: &mut Checks,
) -> (Option<String>, Evidence, Option<PathBuf>) {
    let mut h = match Harness::start(stack).await {
        Ok(h) => h,
        Err(e) => return (Some(format!("setup: {e:#}")), Evidence::default(), None),
    };
    let mut error = named::scenario(info.name, &mut h, checks)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    log_hygiene(checks, &h.logs(), info.allow);
    let evidence = h.evidence().await;
    let mut kept = None;
    if keep.keeps(error.is_some() || !checks.passed()) {
        h.set_keep(true);
        kept = Some(h.dir().to_owned());
    }
    if let Err(e) = h.shutdown().await
        && error.is_none()
    {
        error = Some(format!("teardown: {e:#}"));
    }
    (error, evidence, kept)
}

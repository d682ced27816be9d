//! [`LocalStackBuilder`]: options, bring-up order and the L1 (re-)provisioning recipe.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use alloy::providers::ext::AnvilApi as _;
use anyhow::{Context as _, Result};
use devnet_sequencer::SequencerConfig;

use super::{LocalStack, Mining, SequencerMode, StackDirs, wipe};
use crate::devnet::{Devnet, DevnetBuilder};
use crate::process::{self, RUN_ID_ENV};
use crate::sequencer_child::{ChildSetup, sequencer_command};

type Tweak = Box<dyn FnOnce(&mut SequencerConfig) + Send>;

/// Options for [`LocalStack::start`].
#[derive(Default)]
pub struct LocalStackBuilder {
    anvil_bin: Option<PathBuf>,
    ready_timeout: Option<Duration>,
    mining: Mining,
    sequencer: SequencerMode,
    tweaks: Vec<Tweak>,
    dir: Option<PathBuf>,
    keep: bool,
    run_id: Option<String>,
    state_history: Option<Option<usize>>,
    resume: Option<PathBuf>,
    log_policy: crate::logs::LogPolicy,
    chain_id: Option<u64>,
}

impl fmt::Debug for LocalStackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStackBuilder")
            .field("mining", &self.mining)
            .field("sequencer", &self.sequencer)
            .field("dir", &self.dir)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl LocalStackBuilder {
    /// Uses this anvil binary instead of `$DEVNET_ANVIL_BIN` or the pinned install.
    pub fn anvil_bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.anvil_bin = Some(bin.into());
        self
    }

    /// The readiness deadline of each component (default 10 s for anvil, 30 s for the
    /// sequencer).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// How the L1 mines after deployment (default [`Mining::Auto`]).
    pub fn mining(mut self, mining: Mining) -> Self {
        self.mining = mining;
        self
    }

    /// Where the sequencer runs (default [`SequencerMode::Task`]).
    pub fn sequencer(mut self, mode: SequencerMode) -> Self {
        self.sequencer = mode;
        self
    }

    /// Adjusts the sequencer configuration (applied in order, after the stack's defaults:
    /// the devnet wallet, this L1, the application, the InputBox, the data dir).
    pub fn configure_sequencer(
        mut self,
        tweak: impl FnOnce(&mut SequencerConfig) + Send + 'static,
    ) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Keeps logs and data here instead of a temporary directory.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Keeps the temporary directory after teardown.
    pub fn keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// Historical states anvil keeps in memory (default
    /// [`DEFAULT_STATE_HISTORY`](crate::DEFAULT_STATE_HISTORY); `None`: anvil's own default,
    /// which also writes evicted states to disk, into `anvil/cache/`).
    pub fn state_history(mut self, states: Option<usize>) -> Self {
        self.state_history = Some(states);
        self
    }

    /// Resumes the chain dumped at `path` ([`persist`](crate::persist)) instead of starting at
    /// genesis, and keeps the sequencer's data (it recovers from the resumed L1).
    pub fn resume(mut self, path: impl Into<PathBuf>) -> Self {
        self.resume = Some(path.into());
        self
    }

    /// How logs are bounded when the stack replaces a child (default
    /// [`LogPolicy::default`](crate::logs::LogPolicy)): the replaced anvil's log is kept as
    /// one of `files` rotated files.
    pub fn log_policy(mut self, policy: crate::logs::LogPolicy) -> Self {
        self.log_policy = policy;
        self
    }

    /// Runs the L1 with this chain id instead of the devnet's 31337 (the contracts land at the
    /// same addresses); the sequencer is configured for it.
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// The run id children carry in `DEVNET_RUN_ID` (default: a fresh one).
    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// Starts anvil, deploys, switches the mining mode and starts the sequencer; ready when
    /// the sequencer answers `/readyz`. Anything started is stopped again on failure.
    pub async fn start(self) -> Result<LocalStack> {
        let (dirs, temp) = match &self.dir {
            Some(dir) => (StackDirs::under(dir), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("devnet-stack-")
                    .tempdir()
                    .context("creating the stack directory")?;
                (StackDirs::under(temp.path()), Some(temp))
            }
        };
        std::fs::create_dir_all(&dirs.logs)
            .with_context(|| format!("creating {}", dirs.logs.display()))?;
        let run_id = self.run_id.unwrap_or_else(process::new_run_id);
        let child_setup = match &self.sequencer {
            SequencerMode::Task => None,
            SequencerMode::Child { bin, upstream } => {
                let (bin, bin_args) = match bin {
                    Some(bin) => (bin.clone(), Vec::new()),
                    None => sequencer_command()?,
                };
                Some(ChildSetup {
                    bin,
                    bin_args,
                    log_path: dirs.logs.join("sequencer.log"),
                    stdout_path: dirs.logs.join("sequencer.stdout"),
                    env: child_env(&run_id),
                    upstream: upstream.clone(),
                    ready_timeout: self.ready_timeout.unwrap_or(Duration::from_secs(30)),
                })
            }
        };
        let l1 = L1Setup {
            anvil_bin: self.anvil_bin,
            ready_timeout: self.ready_timeout,
            mining: self.mining,
            log: dirs.logs.join("anvil.log"),
            run_id: run_id.clone(),
            cache_dir: dirs.anvil_cache.clone(),
            chain_id: self.chain_id,
            state_history: self
                .state_history
                .unwrap_or(Some(crate::DEFAULT_STATE_HISTORY)),
        };
        wipe(&dirs.anvil_cache)?;
        let devnet = match &self.resume {
            Some(state) => l1.resume(state).await?,
            None => l1.provision().await?,
        };
        let d = *devnet.deployment();
        let mut config = SequencerConfig::devnet(devnet.rpc_url(), d.application);
        config.input_box = Some(d.input_box);
        config.chain_id = devnet.anvil().chain_id();
        config.state_dir = Some(dirs.sequencer_data.clone());
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        if self.resume.is_none() {
            wipe(&dirs.sequencer_data)?;
        }
        let mut stack = LocalStack {
            sequencer: None,
            devnet,
            l1,
            config,
            child_setup,
            run_id,
            dirs,
            generation: 0,
            spawned: Vec::new(),
            seq_url: String::new(),
            seq_control_url: None,
            http: http_client()?,
            temp,
            keep: self.keep,
            log_policy: self.log_policy,
        };
        stack.spawned.push(stack.devnet.anvil().pid());
        stack.start_sequencer(false).await?;
        Ok(stack)
    }
}

/// What it takes to (re-)provision the L1.
#[derive(Clone, Debug)]
pub(super) struct L1Setup {
    pub(super) anvil_bin: Option<PathBuf>,
    pub(super) ready_timeout: Option<Duration>,
    pub(super) mining: Mining,
    pub(super) log: PathBuf,
    pub(super) run_id: String,
    pub(super) cache_dir: PathBuf,
    pub(super) state_history: Option<usize>,
    pub(super) chain_id: Option<u64>,
}

/// The readiness deadline of an anvil that loads a dump (a long chain takes a while).
const RESUME_READY_TIMEOUT: Duration = Duration::from_secs(120);

impl L1Setup {
    /// A fresh L1 at genesis with the deployment.
    pub(super) async fn provision(&self) -> Result<Devnet> {
        self.start(self.builder()).await
    }

    /// The L1 of a state dump (the deployment found in place).
    pub(super) async fn resume(&self, state: &std::path::Path) -> Result<Devnet> {
        self.resume_logging_to(state, &self.log).await
    }

    /// The L1 of a state dump, its output in `log` instead of the usual log.
    pub(super) async fn resume_logging_to(
        &self,
        state: &std::path::Path,
        log: &std::path::Path,
    ) -> Result<Devnet> {
        let timeout = self
            .ready_timeout
            .unwrap_or_default()
            .max(RESUME_READY_TIMEOUT);
        let builder = self
            .builder()
            .anvil_log(log)
            .load_state(state)
            .ready_timeout(timeout);
        self.start(builder)
            .await
            .with_context(|| format!("resuming the chain of {}", state.display()))
    }

    fn builder(&self) -> DevnetBuilder {
        let mut builder: DevnetBuilder = Devnet::builder()
            .anvil_log(&self.log)
            .anvil_env(RUN_ID_ENV, &self.run_id)
            .anvil_cache_dir(&self.cache_dir)
            .state_history(self.state_history);
        if let Some(chain_id) = self.chain_id {
            builder = builder.chain_id(chain_id);
        }
        if let Some(bin) = &self.anvil_bin {
            builder = builder.anvil_bin(bin);
        }
        if let Some(timeout) = self.ready_timeout {
            builder = builder.ready_timeout(timeout);
        }
        builder
    }

    async fn start(&self, builder: DevnetBuilder) -> Result<Devnet> {
        let devnet = builder.start().await?;
        match self.mining {
            Mining::Auto => {}
            Mining::Manual => devnet.set_automine(false).await?,
            Mining::Interval(secs) => devnet
                .provider()
                .anvil_set_interval_mining(secs)
                .await
                .context("evm_setIntervalMining")?,
        }
        Ok(devnet)
    }
}

fn child_env(run_id: &str) -> Vec<(String, String)> {
    let log = std::env::var("DEVNET_LOG").unwrap_or_else(|_| "info".to_owned());
    vec![
        (RUN_ID_ENV.to_owned(), run_id.to_owned()),
        ("DEVNET_LOG".to_owned(), log),
    ]
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("building an HTTP client")
}

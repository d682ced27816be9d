//! The runner's view of one scenario: a fresh local stack (anvil with the real contracts, an
//! in-process devnet sequencer, optionally a JSON-RPC proxy on the watchdog's L1 edge), a
//! watchdog state directory and the [`WatchdogDriver`], plus workload and settle helpers.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, U256};
use anyhow::{Context, Result, bail};
use canonical::{InputBuilder, Method, WalletConfig, WalletSnapshot};
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};
use tempfile::TempDir;

use crate::driver::{Run, WatchdogDriver, ensure_watchdog_binary, exports};
use crate::pins::{ANVIL_ADDRESSES, ANVIL_KEYS};
use crate::sequencer::{Fault, ResponseShape, Sequencer, SequencerConfig, SequencerHandle};
use crate::{Devnet, GetLogsCap, ProxyRules, RpcProxy};

/// How a scenario's stack is built.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Finalized-route response shape of the sequencer.
    pub shape: ResponseShape,
    /// Faults armed when the sequencer starts.
    pub faults: Vec<Fault>,
    /// An `eth_getLogs` cap on the watchdog's L1 edge (puts a proxy there).
    pub wd_l1_cap: Option<GetLogsCap>,
    /// Rules for a proxy on the watchdog's L1 edge (puts a proxy there; `wd_l1_cap`, when
    /// also given, replaces their cap). Change them with [`Harness::set_wd_l1_rules`].
    pub wd_l1_rules: Option<ProxyRules>,
    /// Seal batches at this many ops (default: the sequencer's).
    pub batch_max_ops: Option<usize>,
    /// Build `sequencer-watchdog` in release mode if it has to be built.
    pub release_build: bool,
}

/// A running scenario stack.
pub struct Harness {
    /// anvil and the contracts.
    pub devnet: Devnet,
    seq: Option<SequencerHandle>,
    seq_config: SequencerConfig,
    /// The sequencer's public API.
    pub client: SequencerClient,
    /// Runs `sequencer-watchdog`.
    pub driver: WatchdogDriver,
    /// The proxy on the watchdog's L1 edge, if any.
    pub proxy: Option<RpcProxy>,
    /// The application.
    pub app: Address,
    /// The watchdog state directory.
    pub state_dir: PathBuf,
    /// The newest finalized block seen by a settle.
    pub finalized: u64,
    keep: bool,
    _tmp: TempDir,
}

impl Harness {
    /// Starts anvil, deploys, starts the sequencer, and prepares the watchdog (not yet init).
    pub async fn start(options: StackOptions) -> Result<Self> {
        let binary = ensure_watchdog_binary(options.release_build).await?;
        let devnet = Devnet::start()
            .await
            .context("starting anvil and the contracts")?;
        let d = *devnet.deployment();
        // Let the L1 `safe` tag pass the deployment, as on any chain some time after it.
        devnet.mine(2).await?;
        let mut config = SequencerConfig::devnet(devnet.rpc_url(), d.application);
        config.input_box = Some(d.input_box);
        config.poll_interval = Duration::from_millis(50);
        config.batch_interval = Duration::from_millis(100);
        config.shape = options.shape;
        config.faults = options.faults.clone();
        if let Some(ops) = options.batch_max_ops {
            config.batch_max_ops = ops;
        }
        let seq = Sequencer::start(config.clone())
            .await
            .context("starting the sequencer")?;
        let client = SequencerClient::new(RedactedUrl::parse(&seq.url())?)?;
        let rules = match (options.wd_l1_rules, options.wd_l1_cap) {
            (Some(rules), None) => Some(rules),
            (rules, Some(cap)) => Some(ProxyRules {
                get_logs_cap: Some(cap),
                ..rules.unwrap_or_default()
            }),
            (None, None) => None,
        };
        let proxy = match rules {
            Some(rules) => Some(RpcProxy::start(devnet.rpc_url(), rules).await?),
            None => None,
        };
        let wd_l1 = proxy
            .as_ref()
            .map_or_else(|| devnet.rpc_url().to_owned(), RpcProxy::url);
        let tmp = tempfile::Builder::new()
            .prefix("devnet-scenario-")
            .tempdir()?;
        let state_dir = tmp.path().join("watchdog");
        let driver = WatchdogDriver::new(
            binary,
            exports(
                &state_dir,
                &wd_l1,
                &seq.url(),
                d.application,
                d.input_box,
                0,
            ),
        );
        Ok(Self {
            devnet,
            seq: Some(seq),
            seq_config: config,
            client,
            driver,
            proxy,
            app: d.application,
            state_dir,
            finalized: 0,
            keep: false,
            _tmp: tmp,
        })
    }

    /// `sequencer-watchdog <args>`.
    pub async fn watchdog(&self, args: &[&str]) -> Result<Run> {
        self.driver.run(args).await
    }

    /// `sequencer-watchdog tick`.
    pub async fn tick(&self) -> Result<Run> {
        self.watchdog(&["tick"]).await
    }

    /// Deposits `amount` for anvil account `who` through the portal.
    pub async fn deposit(&self, who: usize, amount: u64) -> Result<u64> {
        let added = self
            .devnet
            .deposit_erc20(ANVIL_ADDRESSES[who], U256::from(amount), Bytes::new())
            .await?;
        Ok(added.block_number)
    }

    /// Signs `method` for account `from` with the sequencer's nonce and suggested max fee.
    pub async fn signed(&self, from: usize, method: &Method) -> Result<TxRequest> {
        let sender = ANVIL_ADDRESSES[from];
        let nonce = self.client.next_nonce(sender).await?.next_nonce;
        let max_fee = self.client.fee().await?.suggested_max_fee;
        let op = InputBuilder::new(WalletConfig::devnet(), self.app)
            .sign(&ANVIL_KEYS[from], nonce, max_fee, method)
            .context("signing")?;
        Ok(TxRequest {
            nonce,
            max_fee,
            data: op.data,
            signature: op.signature,
            sender,
        })
    }

    /// Sends `amount` from `from` to `to` and waits until it is finalized.
    pub async fn transfer(&mut self, from: usize, to: usize, amount: u64) -> Result<u64> {
        let method = Method::Transfer {
            amount: U256::from(amount),
            to: ANVIL_ADDRESSES[to],
        };
        let tx = self.signed(from, &method).await?;
        self.submit_and_settle(&[tx]).await
    }

    /// Withdraws `amount` for `from` and waits until it is finalized.
    pub async fn withdraw(&mut self, from: usize, amount: u64) -> Result<u64> {
        let tx = self
            .signed(
                from,
                &Method::Withdrawal {
                    amount: U256::from(amount),
                },
            )
            .await?;
        self.submit_and_settle(&[tx]).await
    }

    /// Submits every op (retrying while funds wait to be drained into a frame), then mines
    /// until the finalized block moves past the previous one.
    pub async fn submit_and_settle(&mut self, txs: &[TxRequest]) -> Result<u64> {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut accepted = vec![false; txs.len()];
        loop {
            if Instant::now() > deadline {
                bail!(
                    "nothing finalized past block {} within 90 s",
                    self.finalized
                );
            }
            for (tx, done) in txs.iter().zip(accepted.iter_mut()) {
                if !*done {
                    *done = self.client.submit_tx(tx).await.is_ok();
                }
            }
            let point = self.client.inclusion_block().await?;
            if accepted.iter().all(|a| *a) && point.inclusion_block > self.finalized {
                self.finalized = point.inclusion_block;
                return Ok(point.inclusion_block);
            }
            self.devnet.mine(1).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Mines until the finalized block moves past the previous one (e.g. after a deposit).
    pub async fn settle(&mut self) -> Result<u64> {
        self.submit_and_settle(&[]).await
    }

    /// Replaces the rules of the proxy on the watchdog's L1 edge (fails without one).
    pub fn set_wd_l1_rules(&self, rules: ProxyRules) -> Result<()> {
        self.proxy
            .as_ref()
            .context("no proxy on the watchdog's L1 edge (set StackOptions::wd_l1_rules)")?
            .set_rules(rules);
        Ok(())
    }

    /// Replaces the sequencer's armed faults.
    pub async fn set_faults(&self, faults: &[&str]) -> Result<()> {
        let seq = self.seq.as_ref().context("the sequencer is stopped")?;
        let response = reqwest::Client::new()
            .post(format!("{}/faults", seq.control_url()))
            .json(&serde_json::json!({ "set": faults }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("control API answered {}", response.status());
        }
        Ok(())
    }

    /// Stops the sequencer (as a crash would).
    pub async fn stop_sequencer(&mut self) -> Result<()> {
        if let Some(seq) = self.seq.take() {
            seq.shutdown().await?;
        }
        Ok(())
    }

    /// Starts the sequencer again on the same port; it recovers from L1.
    pub async fn restart_sequencer(&mut self, old_url: &str) -> Result<()> {
        let mut config = self.seq_config.clone();
        config.faults.clear();
        let url = reqwest::Url::parse(old_url)?;
        if let (Some(host), Some(port)) = (url.host_str(), url.port()) {
            config.listen = format!("{host}:{port}").parse()?;
        }
        let seq = Sequencer::start(config)
            .await
            .context("restarting the sequencer")?;
        self.seq = Some(seq);
        Ok(())
    }

    /// The sequencer's public URL.
    pub fn sequencer_url(&self) -> Option<String> {
        self.seq.as_ref().map(SequencerHandle::url)
    }

    /// The served finalized state, decoded.
    pub async fn served_snapshot(&self) -> Result<WalletSnapshot> {
        let state = self
            .client
            .download_state(1 << 24, None)
            .await?
            .modified()
            .context("state")?;
        Ok(WalletSnapshot::decode(&state.bytes)?)
    }

    /// Keeps the watchdog state directory after shutdown; returns its path.
    pub fn keep_state_dir(&mut self) -> PathBuf {
        self.keep = true;
        self.state_dir.clone()
    }

    /// Stops everything.
    pub async fn shutdown(mut self) -> Result<()> {
        if self.keep {
            let tmp = std::mem::replace(&mut self._tmp, tempfile::tempdir()?);
            let _ = tmp.keep();
        }
        self.stop_sequencer().await?;
        self.devnet.shutdown().await?;
        Ok(())
    }
}

//! Start-up (recovery from L1), the driver loop and the running sequencer's handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use l1::{BlockRef, HeadTag};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::SequencerConfig;
use super::faults::FaultSet;
use super::frames::{Lane, LanePolicy};
use super::node::{Node, Shared};
use super::reader::{L1, replica_inputs};
use super::replica::{Landing, Replica};
use super::store::{Deployment, Store};
use super::submit::Submitter;
use super::{api, control};

/// The devnet sequencer.
#[derive(Debug)]
pub struct Sequencer;

impl Sequencer {
    /// Recovers from L1 and starts serving: waits (bounded) for the submitter to have no
    /// pending transaction, rebuilds the finalized replica up to `safe` (or resumes it from the
    /// state dir), folds the inputs up to `latest` into the live lane, opens a frame at `safe`,
    /// binds both listeners and spawns the driver.
    pub async fn start(config: SequencerConfig) -> Result<SequencerHandle> {
        config.validate()?;
        let l1 = L1::connect(&config).await?;
        let submitter = config.wallet.sequencer_address;
        l1.wait_idle(submitter, config.boot_timeout).await?;
        let deployment = Deployment {
            chain_id: config.chain_id,
            app: config.app,
            input_box: l1.input_box(),
            wallet: config.wallet,
        };
        let store = config.state_dir.as_deref().map(Store::open).transpose()?;
        let mut faults = FaultSet::new(config.faults.clone());

        let mut replica = restore(&l1, store.as_ref(), deployment).await?;
        let safe = l1.head(HeadTag::Safe).await?;
        let from = replica.scanned_block.map_or(config.from_block, |b| b + 1);
        if safe.number >= from {
            let inputs = l1.read(from, safe, replica.next_index).await?;
            // History before this start is trusted: it is the submitter's own.
            replica.apply(
                &replica_inputs(&inputs),
                safe.number,
                &mut faults,
                |_, _| Landing::Matches,
            );
        }

        let mut live = replica.honest.clone();
        let mut next_index = replica.next_index;
        let latest = l1.head(HeadTag::Latest).await?;
        if latest.number > safe.number {
            for input in l1.read(safe.number + 1, latest, next_index).await? {
                live.process(&input.advance)
                    .context("the canonical fold halts on an L1 input")?;
                next_index = input.index + 1;
            }
        }
        let policy = LanePolicy {
            fee: config.fee_exponent,
            frame_interval: config.frame_interval,
            max_ops: config.batch_max_ops,
            max_open: config.batch_interval,
        };
        let lane = Lane::boot(live.into_state(), next_index, safe.number, policy);
        let checkpoint = replica.checkpoint().inclusion_block;
        tracing::info!(
            target: "devnet::sequencer",
            safe = safe.number,
            latest = latest.number,
            inputs = next_index,
            batch_nonce = lane.open_batch().0,
            checkpoint,
            "recovered from L1"
        );
        let node = Node::new(lane, replica, faults, safe.number);
        let shared = Arc::new(Shared::new(node, config.chain_id, config.app, config.shape));

        let public = bind(config.listen).await?;
        let control_listener = bind(config.control_listen).await?;
        let listen = public.local_addr().context("public listener address")?;
        let control = control_listener
            .local_addr()
            .context("control listener address")?;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![
            serve(public, api::router(shared.clone()), stopped.clone()),
            serve(
                control_listener,
                control::router(shared.clone()),
                stopped.clone(),
            ),
        ];
        let driver = Driver {
            shared: shared.clone(),
            l1,
            submitter: Submitter::new(config.app, submitter, config.resubmit_after_blocks),
            store: store.map(|store| (store, deployment)),
            from_block: config.from_block,
            poll: config.poll_interval,
        };
        tasks.push(tokio::spawn(driver.run(stopped)));
        Ok(SequencerHandle {
            listen,
            control,
            stop,
            shared,
            tasks,
        })
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(target: "devnet::sequencer", error = %e, "HTTP server failed");
        }
    })
}

/// The replica from the state dir when it is still on the canonical chain, else genesis.
async fn restore(l1: &L1, store: Option<&Store>, deployment: Deployment) -> Result<Replica> {
    let genesis = || Replica::genesis(deployment.wallet);
    let Some(store) = store else {
        return Ok(genesis());
    };
    let restored = match store.load(deployment) {
        Ok(Some(restored)) => restored,
        Ok(None) => return Ok(genesis()),
        Err(e) => {
            tracing::warn!(target: "devnet::sequencer", error = %format!("{e:#}"), "replica file unusable, rebuilding from L1");
            return Ok(genesis());
        }
    };
    let still_there = match l1.block(restored.scanned_block).await {
        Ok(block) => block.hash == restored.scanned_hash,
        Err(_) => false,
    };
    let safe = l1.head(HeadTag::Safe).await?;
    if still_there && restored.scanned_block <= safe.number {
        tracing::info!(target: "devnet::sequencer", block = restored.scanned_block, "replica resumed from the state dir");
        Ok(restored.replica)
    } else {
        tracing::warn!(target: "devnet::sequencer", block = restored.scanned_block, "saved replica is off the chain, rebuilding from L1");
        Ok(genesis())
    }
}

/// The background loop: read L1 up to `safe`, rotate frames, seal and submit batches.
struct Driver {
    shared: Arc<Shared>,
    l1: L1,
    submitter: Submitter,
    store: Option<(Store, Deployment)>,
    from_block: u64,
    poll: Duration,
}

impl Driver {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                () = self.shared.wake.notified() => {}
                _ = stopped.wait_for(|stop| *stop) => break,
            }
            let result = self.tick().await;
            let mut node = self.shared.lock();
            node.submit = self.submitter.stats();
            match result {
                Ok(()) => {
                    node.l1_error = None;
                    node.last_l1_ok = Instant::now();
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    if node.l1_error.as_deref() != Some(message.as_str()) {
                        tracing::warn!(target: "devnet::sequencer", error = %message, "L1 poll failed");
                    }
                    node.l1_error = Some(message);
                }
            }
        }
    }

    async fn tick(&mut self) -> Result<()> {
        let safe = self.l1.head(HeadTag::Safe).await?;
        let (from, start) = {
            let node = self.shared.lock();
            let replica = &node.replica;
            (
                replica.scanned_block.map_or(self.from_block, |b| b + 1),
                replica.next_index,
            )
        };
        if safe.number >= from {
            let inputs = self.l1.read(from, safe, start).await?;
            self.apply(&inputs, safe)?;
        }
        let (batches, accepted_below) = {
            let mut node = self.shared.lock();
            node.seal_if_due(Instant::now());
            (std::mem::take(&mut node.outbox), node.replica.expected)
        };
        for batch in batches {
            self.submitter.enqueue(batch);
        }
        if !self.submitter.is_idle() {
            let head = self.l1.head(HeadTag::Latest).await?.number;
            self.submitter.pump(&self.l1, head, accepted_below).await?;
        }
        Ok(())
    }

    fn apply(&self, inputs: &[l1::Input], safe: BlockRef) -> Result<()> {
        let mut node = self.shared.lock();
        let expected_from = node.replica.next_index;
        if inputs.first().is_some_and(|i| i.index != expected_from) {
            bail!("inputs do not continue the replica");
        }
        node.apply(inputs, safe.number);
        if let Some((store, deployment)) = &self.store
            && let Err(e) = store.save(*deployment, &node.replica, safe.number, safe.hash)
        {
            tracing::warn!(target: "devnet::sequencer", error = %format!("{e:#}"), "replica not saved");
        }
        Ok(())
    }
}

/// A running devnet sequencer. Dropping it stops the servers and the driver.
#[derive(Debug)]
pub struct SequencerHandle {
    listen: SocketAddr,
    control: SocketAddr,
    stop: watch::Sender<bool>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl SequencerHandle {
    /// The public API address.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The control API address.
    pub fn control_addr(&self) -> SocketAddr {
        self.control
    }

    /// `http://<public address>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// `http://<control address>`.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control)
    }

    /// The start-up line a supervisor reads: `{"listen", "control", "url", "control_url"}`.
    pub fn announcement(&self) -> serde_json::Value {
        serde_json::json!({
            "listen": self.listen.to_string(),
            "control": self.control.to_string(),
            "url": self.url(),
            "control_url": self.control_url(),
        })
    }

    /// Stops accepting work, lets in-flight requests finish (bounded) and stops the driver.
    pub async fn shutdown(mut self) -> Result<()> {
        self.shared.begin_shutdown();
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for task in std::mem::take(&mut self.tasks) {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(result) => result.context("a sequencer task panicked")?,
                Err(_) => bail!("the sequencer did not stop within 5 s"),
            }
        }
        Ok(())
    }
}

impl Drop for SequencerHandle {
    fn drop(&mut self) {
        self.shared.begin_shutdown();
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

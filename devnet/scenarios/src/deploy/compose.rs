//! `compose`: anvil, the devnet sequencer and every watchdog command in containers of locally
//! built images, on two private Docker networks made per deployment, driven through the
//! Docker CLI (`$DOCKER`, talking to `$DOCKER_HOST`).
//!
//! | Network | Members | Reached from the host |
//! |---|---|---|
//! | `<name>-l1` | anvil (`.10`), the sequencer (`.20`), the fault proxies on `wd→l1` (`.30`) and `seq→l1` (`.32`), each watchdog command | anvil's RPC, the proxies' control ports |
//! | `<name>-app` | the sequencer (`.20`), the fault proxy on `wd→seq` (`.31`), each watchdog command | the sequencer's APIs, the proxy's control port |
//!
//! Both networks are `--internal` (no route out of them) with a subnet of `10.213.0.0/16`
//! (`-l1`) and `10.214.0.0/16` (`-app`) that no route of the host uses yet; fixed members sit
//! below `.128`, watchdog commands get addresses from `.128/25`. Nothing is published on the
//! host: the host reaches the containers through the bridges' own addresses, as a client only.
//! anvil listens on its address on `-l1`; the sequencer listens on its address on `-app`, which
//! it accepts only with `--allow-private-listen`.
//!
//! `Partition`: a member is cut off the L1 network (`docker network disconnect`) and joins it
//! again at the same address (`docker network connect --ip`). `NodeControl`: the sequencer's
//! container is removed (as a crash: unsent batches are lost) and made again with the same
//! addresses, without its start-up faults. `RpcFaults`: a fault proxy is a container of the
//! proxy image (`devnet-fault-proxy:local`) in front of its edge's target, on that target's
//! network, listening on its address (`:8545`) with its remote control next to it (`:9000`,
//! `fault_proxy::control`), which the host drives over the bridge as it reaches anvil; the
//! edge's client is routed through it. Everything made carries the label
//! `devnet.compose=<name>` and is removed when the deployment is dropped, also after a failed
//! start.

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider as _;
use devnet_pins::addresses;
use devnet_sequencer::SequencerConfig;
use devnet_stack::L1Client;
use futures_util::future::BoxFuture;
use synthetic_l1::{Landed, Reorged, Replacement, ReplacementInput};

use super::l1_error::{L1Error, SnapshotId};
use super::node::{AttachedL1, deposit_on, input_on};
use super::sequencer::{SequencerControl, config_for};
use super::{
    Backend, Caps, DeployError, Deployer, Deployment, FaultProxy, Identity, L1Handle, L1Node,
    deployment_dir, refuse_proxies,
};
use crate::container::docker;
use crate::topology::{Edge, L1Mining, Topology};

/// Environment variable naming the anvil image (default [`DEFAULT_ANVIL_IMAGE`]).
pub const ANVIL_IMAGE_ENV: &str = "DEVNET_ANVIL_IMAGE";
/// The tag `release/devnet-images` gives the anvil image.
pub const DEFAULT_ANVIL_IMAGE: &str = "devnet-anvil:local";
/// Environment variable naming the devnet sequencer image (default
/// [`DEFAULT_SEQUENCER_IMAGE`]).
pub const SEQUENCER_IMAGE_ENV: &str = "DEVNET_SEQUENCER_IMAGE";
/// The tag `release/devnet-images` gives the devnet sequencer image.
pub const DEFAULT_SEQUENCER_IMAGE: &str = "devnet-sequencer:local";

/// Environment variable naming the fault proxy image (default [`DEFAULT_FAULT_PROXY_IMAGE`]).
pub const FAULT_PROXY_IMAGE_ENV: &str = "DEVNET_FAULT_PROXY_IMAGE";
/// The tag `release/devnet-images` gives the fault proxy image.
pub const DEFAULT_FAULT_PROXY_IMAGE: &str = "devnet-fault-proxy:local";

/// The label on everything a deployment makes; its value is the deployment's name.
pub const LABEL: &str = "devnet.compose";

/// anvil's port on its container address.
const ANVIL_PORT: u16 = 8545;
/// The sequencer's public and control ports on its container address.
const SEQUENCER_PORT: u16 = 8000;
const SEQUENCER_CONTROL_PORT: u16 = 8001;
/// The last octet of the fixed members.
const ANVIL_HOST: u8 = 10;
const SEQUENCER_HOST: u8 = 20;
/// The fault proxies' proxied and control ports on their container addresses.
const PROXY_PORT: u16 = 8545;
const PROXY_CONTROL_PORT: u16 = 9000;
/// The last octet of the fault proxy on `seq→l1` (the harness's proxies sit next to it).
const SEQ_L1_PROXY_HOST: u8 = 32;
/// How long a container may take to answer after it started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_STEP: Duration = Duration::from_millis(100);

/// An image by environment variable, else its default.
fn image(env: &str, default: &str) -> String {
    std::env::var(env)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The anvil image: `$DEVNET_ANVIL_IMAGE`, else `devnet-anvil:local`.
pub fn anvil_image() -> String {
    image(ANVIL_IMAGE_ENV, DEFAULT_ANVIL_IMAGE)
}

/// The sequencer image: `$DEVNET_SEQUENCER_IMAGE`, else `devnet-sequencer:local`.
pub fn sequencer_image() -> String {
    image(SEQUENCER_IMAGE_ENV, DEFAULT_SEQUENCER_IMAGE)
}

/// The fault proxy image: `$DEVNET_FAULT_PROXY_IMAGE`, else `devnet-fault-proxy:local`.
pub fn fault_proxy_image() -> String {
    image(FAULT_PROXY_IMAGE_ENV, DEFAULT_FAULT_PROXY_IMAGE)
}

/// Which network a fault proxy container sits on: its target's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyNetwork {
    /// The L1 network, in front of anvil (JSON-RPC mode).
    L1,
    /// The application network, in front of the sequencer's APIs (HTTP mode).
    App,
}

/// Why `compose` cannot run here, or `None` when it can: an engine answers and has the anvil,
/// sequencer and watchdog images.
pub async fn compose_unavailable() -> Option<String> {
    if let Some(why) = crate::container::image_unavailable().await {
        return Some(why);
    }
    for image in [anvil_image(), sequencer_image(), fault_proxy_image()] {
        if docker(&["image", "inspect", "--format", "{{.Id}}", &image])
            .await
            .is_err()
        {
            return Some(format!(
                "the engine has no image {image}; build it with release/devnet-images"
            ));
        }
    }
    None
}

/// One of the deployment's networks.
#[derive(Debug, Clone)]
struct Network {
    name: String,
    /// The first three octets of its /24.
    prefix: [u8; 3],
}

impl Network {
    fn addr(&self, host: u8) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, host)
    }
}

/// Whether a route of the host already covers `a.b.c.0/24`: another engine's bridge, a VPN,
/// the host's own network.
fn routed(prefix: [u8; 3]) -> bool {
    std::fs::read_to_string("/proc/net/route").is_ok_and(|table| routed_in(&table, prefix))
}

/// [`routed`] over the text of `/proc/net/route` (addresses and masks in little-endian hex); a
/// default route (mask 0) is no conflict.
fn routed_in(table: &str, prefix: [u8; 3]) -> bool {
    let net = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], 0]);
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parse = |i: usize| {
            fields
                .get(i)
                .and_then(|f| u32::from_str_radix(f, 16).ok())
                .map(|v| u32::from_be_bytes(v.to_le_bytes()))
        };
        match (parse(1), parse(7)) {
            (Some(dest), Some(mask)) if mask != 0 => {
                let common = mask & 0xffff_ff00;
                dest & common == net & common
            }
            _ => false,
        }
    })
}

/// The deployment's networks and containers; dropping it removes them all.
#[derive(Debug)]
pub struct ComposeNet {
    name: String,
    l1: Network,
    app: Network,
}

impl ComposeNet {
    /// Makes both networks, on subnets no route of the host uses.
    async fn create() -> Result<Self, DeployError> {
        let name = crate::container::unique_name("devnet-compose");
        let mut net = Self {
            l1: Network {
                name: format!("{name}-l1"),
                prefix: [0; 3],
            },
            app: Network {
                name: format!("{name}-app"),
                prefix: [0; 3],
            },
            name,
        };
        let start = std::process::id() as usize;
        for (second, which) in [(213_u8, 0), (214, 1)] {
            let mut made = None;
            let mut last_error = String::new();
            for attempt in 0..64 {
                let third = u8::try_from((start + attempt * 37) % 250 + 2).unwrap_or(2);
                let prefix = [10, second, third];
                if routed(prefix) {
                    continue;
                }
                let network = if which == 0 { &net.l1 } else { &net.app };
                let subnet = format!("10.{second}.{third}.0/24");
                let range = format!("10.{second}.{third}.128/25");
                let label = format!("{LABEL}={}", net.name);
                match docker(&[
                    "network",
                    "create",
                    "--internal",
                    "--driver",
                    "bridge",
                    "--subnet",
                    &subnet,
                    "--ip-range",
                    &range,
                    "--label",
                    &label,
                    &network.name,
                ])
                .await
                {
                    Ok(_) => {
                        made = Some(prefix);
                        break;
                    }
                    Err(e) => last_error = format!("{e:#}"),
                }
            }
            let prefix = made.ok_or_else(|| component("making a private network", last_error))?;
            if which == 0 {
                net.l1.prefix = prefix;
            } else {
                net.app.prefix = prefix;
            }
        }
        Ok(net)
    }

    /// The deployment's name (the prefix of everything it makes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The L1 network's name.
    pub fn l1_network(&self) -> &str {
        &self.l1.name
    }

    /// The application network's name (the sequencer's APIs).
    pub fn app_network(&self) -> &str {
        &self.app.name
    }

    /// The label every container of this deployment carries (`devnet.compose=<name>`).
    pub fn label(&self) -> String {
        format!("{LABEL}={}", self.name)
    }

    fn container(&self, member: &str) -> String {
        format!("{}-{member}", self.name)
    }

    /// Starts a fault proxy container `proxy-<edge>` at `.host` on `network` in front of
    /// `upstream`, forwarding everything until rules are set, and waits until its control
    /// port answers; returns the control port's client.
    pub async fn start_proxy(
        &self,
        edge: &str,
        network: ProxyNetwork,
        host: u8,
        upstream: &str,
    ) -> Result<fault_proxy::RemoteProxy, DeployError> {
        let (net, mode) = match network {
            ProxyNetwork::L1 => (&self.l1, "rpc"),
            ProxyNetwork::App => (&self.app, "http"),
        };
        let ip = net.addr(host);
        let name = self.container(&format!("proxy-{edge}"));
        let label = self.label();
        let ip_text = ip.to_string();
        let listen = format!("--listen={ip}:{PROXY_PORT}");
        let control = format!("--control-listen={ip}:{PROXY_CONTROL_PORT}");
        let upstream = format!("--upstream={upstream}");
        let mode = format!("--mode={mode}");
        let edge_flag = format!("--edge={edge}");
        docker(&[
            "run",
            "--detach",
            "--name",
            &name,
            "--label",
            &label,
            "--network",
            &net.name,
            "--ip",
            &ip_text,
            &fault_proxy_image(),
            &listen,
            "--allow-private-listen",
            &control,
            &upstream,
            &mode,
            &edge_flag,
        ])
        .await
        .map_err(|e| component("starting a fault proxy's container", e))?;
        let remote = fault_proxy::RemoteProxy::new(
            &format!("http://{ip}:{PROXY_CONTROL_PORT}"),
            &format!("http://{ip}:{PROXY_PORT}"),
        )
        .map_err(|e| component("a fault proxy's control port", e))?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            match remote.entries().await {
                Ok(_) => return Ok(remote),
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(component(
                        "a fault proxy's container",
                        format!("its control port did not answer within {READY_TIMEOUT:?}: {e}"),
                    ));
                }
                Err(_) => tokio::time::sleep(POLL_STEP).await,
            }
        }
    }

    /// Cuts `container` off the L1 network.
    pub async fn disconnect_l1(&self, container: &str) -> Result<(), DeployError> {
        docker(&["network", "disconnect", "--force", &self.l1.name, container])
            .await
            .map(drop)
            .map_err(|e| component("cutting a container off the L1 network", e))
    }

    /// Joins `container` to the L1 network again, at `ip` if given.
    pub async fn connect_l1(
        &self,
        container: &str,
        ip: Option<Ipv4Addr>,
    ) -> Result<(), DeployError> {
        let ip = ip.map(|ip| ip.to_string());
        let mut args = vec!["network", "connect"];
        if let Some(ip) = &ip {
            args.extend(["--ip", ip.as_str()]);
        }
        args.extend([self.l1.name.as_str(), container]);
        docker(&args)
            .await
            .map(drop)
            .map_err(|e| component("joining a container to the L1 network", e))
    }

    /// Writes each container's output to `<dir>/logs/<member>.log` (best effort).
    pub(crate) async fn save_logs(&self, dir: &std::path::Path) {
        for member in [
            "anvil",
            "sequencer",
            "proxy-wd-l1",
            "proxy-wd-seq",
            "proxy-seq-l1",
        ] {
            let name = self.container(member);
            let output = tokio::process::Command::new(crate::container::docker_client())
                .args(["logs", &name])
                .stdin(Stdio::null())
                .output()
                .await;
            if let Ok(output) = output {
                let mut text = output.stdout;
                text.extend_from_slice(&output.stderr);
                let _ = std::fs::write(dir.join("logs").join(format!("{member}.log")), text);
            }
        }
    }
}

impl Drop for ComposeNet {
    fn drop(&mut self) {
        // Synchronous on purpose: it also runs when a deployment unwinds, and nothing may
        // outlive it on the engine.
        let client = crate::container::docker_client();
        let run = |args: &[&str]| {
            std::process::Command::new(&client)
                .args(args)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let label = self.label();
        let ids = run(&[
            "ps",
            "--all",
            "--quiet",
            "--filter",
            &format!("label={label}"),
        ]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "--force", "--volumes"];
            args.extend(ids);
            run(&args);
        }
        run(&["network", "rm", &self.l1.name, &self.app.name]);
    }
}

fn component(what: &'static str, source: impl std::fmt::Display) -> DeployError {
    DeployError::Component {
        what,
        source: anyhow::anyhow!("{source}"),
    }
}

/// anvil in its container, with the contracts deployed from the host: its anvil controls are
/// an attached anvil's, its deposits and inputs go through the devnet's L1 client.
#[derive(Debug)]
pub struct ComposeL1 {
    anvil: AttachedL1,
    l1: L1Client,
}

impl ComposeL1 {
    /// The L1 actions (mints, deposits, inputs).
    pub fn client(&self) -> &L1Client {
        &self.l1
    }
}

impl L1Node for ComposeL1 {
    fn kind(&self) -> &'static str {
        "anvil (container)"
    }

    fn rpc_url(&self) -> String {
        self.anvil.rpc_url()
    }

    fn block_number(&self) -> BoxFuture<'_, Result<u64, L1Error>> {
        self.anvil.block_number()
    }

    fn mine(&self, blocks: u64) -> BoxFuture<'_, Result<(), L1Error>> {
        self.anvil.mine(blocks)
    }

    fn set_automine(&self, on: bool) -> BoxFuture<'_, Result<(), L1Error>> {
        self.anvil.set_automine(on)
    }

    fn deposit_erc20(&self, who: Address, amount: U256) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(deposit_on(&self.l1, who, amount))
    }

    fn direct_input(
        &self,
        sender: Address,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<Landed, L1Error>> {
        Box::pin(input_on(&self.l1, sender, payload))
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<SnapshotId, L1Error>> {
        self.anvil.snapshot()
    }

    fn revert(&self, id: SnapshotId) -> BoxFuture<'_, Result<(), L1Error>> {
        self.anvil.revert(id)
    }

    fn reorg(
        &self,
        depth: u64,
        replacements: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        self.anvil.reorg(depth, replacements)
    }

    fn rewrite(
        &self,
        from: u64,
        replace: Vec<(B256, Option<ReplacementInput>)>,
        extra: Vec<Replacement>,
    ) -> BoxFuture<'_, Result<Reorged, L1Error>> {
        self.anvil.rewrite(from, replace, extra)
    }
}

/// The sequencer's container: how to make it again after a stop.
#[derive(Debug, Clone)]
pub(crate) struct SequencerContainer {
    pub(crate) name: String,
    image: String,
    label: String,
    app_network: String,
    app_ip: Ipv4Addr,
    l1_network: String,
    l1_ip: Ipv4Addr,
    /// The flags without the start-up faults.
    args: Vec<String>,
    /// `--fault SPEC` for each start-up fault (the first start only).
    faults: Vec<String>,
}

impl SequencerContainer {
    /// The public API, on its address on the application network.
    pub(crate) fn url(&self) -> String {
        format!("http://{}:{SEQUENCER_PORT}", self.app_ip)
    }

    /// The control API.
    pub(crate) fn control_url(&self) -> String {
        format!("http://{}:{SEQUENCER_CONTROL_PORT}", self.app_ip)
    }

    /// The address it has on the L1 network (kept across a partition).
    pub(crate) fn l1_ip(&self) -> Ipv4Addr {
        self.l1_ip
    }

    /// Makes and starts the container (with the start-up faults when `faults`), on both
    /// networks, and waits until its public API answers.
    pub(crate) async fn start(&self, faults: bool) -> Result<(), DeployError> {
        let app_ip = self.app_ip.to_string();
        let l1_ip = self.l1_ip.to_string();
        let mut args: Vec<&str> = vec![
            "create",
            "--name",
            &self.name,
            "--label",
            &self.label,
            "--network",
            &self.app_network,
            "--ip",
            &app_ip,
            &self.image,
        ];
        args.extend(self.args.iter().map(String::as_str));
        if faults {
            args.extend(self.faults.iter().map(String::as_str));
        }
        docker(&args)
            .await
            .map_err(|e| component("making the sequencer's container", e))?;
        docker(&[
            "network",
            "connect",
            "--ip",
            &l1_ip,
            &self.l1_network,
            &self.name,
        ])
        .await
        .map_err(|e| component("joining the sequencer to the L1 network", e))?;
        docker(&["start", &self.name])
            .await
            .map_err(|e| component("starting the sequencer's container", e))?;
        wait_http(
            &format!("{}/livez", self.url()),
            "the sequencer's container",
        )
        .await
    }

    /// Removes the container (SIGKILL: as a crash would).
    pub(crate) async fn remove(&self) -> Result<(), DeployError> {
        docker(&["rm", "--force", &self.name])
            .await
            .map(drop)
            .map_err(|e| component("removing the sequencer's container", e))
    }
}

/// Polls `url` until it answers 2xx, within [`READY_TIMEOUT`].
async fn wait_http(url: &str, what: &'static str) -> Result<(), DeployError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| component(what, e))?;
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let last = match client.get(url).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => format!("answered {}", response.status()),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(component(
                what,
                format!("not ready within {READY_TIMEOUT:?} ({url}: {last})"),
            ));
        }
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// Polls anvil's `eth_chainId` at `url` until it answers, within [`READY_TIMEOUT`].
async fn wait_anvil(url: &str) -> Result<(), DeployError> {
    let provider = super::node::attached_provider(url)?;
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        match provider.get_chain_id().await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(component(
                    "anvil's container",
                    format!("not ready within {READY_TIMEOUT:?}: {e}"),
                ));
            }
            Err(_) => tokio::time::sleep(POLL_STEP).await,
        }
    }
}

/// The sequencer's flags for `config` on the deployment's addresses (its L1 is anvil's
/// address on the L1 network).
fn sequencer_args(config: &SequencerConfig, wallet: &str, listen: Ipv4Addr) -> Vec<String> {
    let mut args = vec![
        format!("--rpc-url={}", config.rpc_url),
        format!("--app={}", config.app),
        format!("--listen={listen}:{SEQUENCER_PORT}"),
        format!("--control-listen={listen}:{SEQUENCER_CONTROL_PORT}"),
        "--allow-private-listen".to_owned(),
        format!("--chain-id={}", config.chain_id),
        format!("--wallet-config={wallet}"),
        format!("--poll-ms={}", config.poll_interval.as_millis()),
        format!("--batch-interval-ms={}", config.batch_interval.as_millis()),
        format!("--batch-max-ops={}", config.batch_max_ops),
    ];
    if let Some(input_box) = config.input_box {
        args.push(format!("--input-box={input_box}"));
    }
    if config.shape == devnet_sequencer::ResponseShape::Legacy {
        args.push("--legacy-shape".to_owned());
    }
    args
}

/// `compose`: anvil and the devnet sequencer in containers of the local images on two private
/// networks, the contracts deployed from the host; each watchdog command runs in a container of
/// the watchdog image (the harness's driver); fault proxies in containers of the proxy image.
/// Caps: `Mining`, `Reorg`, `NodeControl`, `RpcFaults`, `SeqFaults`, `L1Inputs` and
/// `Partition`; `Image` when the engine has the images.
#[derive(Debug, Clone, Default)]
pub struct ComposeDeployer;

impl ComposeDeployer {
    /// What every compose deployment can do.
    pub const CAPS: Caps = Caps::MINING
        .union(Caps::REORG)
        .union(Caps::NODE_CONTROL)
        .union(Caps::RPC_FAULTS)
        .union(Caps::SEQ_FAULTS)
        .union(Caps::L1_INPUTS)
        .union(Caps::PARTITION);
}

impl Deployer for ComposeDeployer {
    fn backend(&self) -> Backend {
        Backend::Compose
    }

    fn deploy<'a>(
        &'a self,
        topology: &'a Topology,
    ) -> BoxFuture<'a, Result<Deployment, DeployError>> {
        Box::pin(async move {
            refuse_proxies(topology, &[Edge::SeqToL1])?;
            let tmp = deployment_dir(Backend::Compose)?;
            // From here on, whatever fails drops `net`, which removes what was made.
            let net = ComposeNet::create().await?;
            let anvil_ip = net.l1.addr(ANVIL_HOST);
            let anvil_name = net.container("anvil");
            let chain_id = topology.l1.chain_id.to_string();
            let host = anvil_ip.to_string();
            let port = ANVIL_PORT.to_string();
            let history = devnet_stack::DEFAULT_STATE_HISTORY.to_string();
            let label = net.label();
            docker(&[
                "run",
                "--detach",
                "--name",
                &anvil_name,
                "--label",
                &label,
                "--network",
                &net.l1.name,
                "--ip",
                &host,
                &anvil_image(),
                "--host",
                &host,
                "--port",
                &port,
                "--chain-id",
                &chain_id,
                // As the local backend's anvil: safe and finalized follow the head closely.
                "--slots-in-an-epoch",
                "1",
                "--prune-history",
                &history,
            ])
            .await
            .map_err(|e| component("starting anvil's container", e))?;
            let url = format!("http://{anvil_ip}:{ANVIL_PORT}");
            wait_anvil(&url).await?;
            let parsed: reqwest::Url =
                url.parse().map_err(|e| component("anvil's container", e))?;
            let client =
                devnet_stack::deploy_on(parsed)
                    .await
                    .map_err(|source| DeployError::Component {
                        what: "deploying the contracts on anvil's container",
                        source,
                    })?;
            let l1 = ComposeL1 {
                anvil: AttachedL1::new(&url, true)?,
                l1: client,
            };
            l1.mine(topology.l1.warmup_blocks).await?;
            if topology.l1.mining == L1Mining::Manual {
                l1.set_automine(false).await?;
            }
            let mut proxies = std::collections::BTreeMap::new();
            let mut sequencer_l1 = url.clone();
            if let Some(rules) = topology.proxies.get(&Edge::SeqToL1) {
                rules
                    .check_rpc()
                    .map_err(|e| component("the seq→l1 proxy's rules", e))?;
                let proxy = net
                    .start_proxy("seq-l1", ProxyNetwork::L1, SEQ_L1_PROXY_HOST, &url)
                    .await?;
                proxy
                    .set_rules(rules)
                    .await
                    .map_err(|e| component("the seq→l1 proxy's rules", e))?;
                sequencer_l1 = proxy.url().to_owned();
                let log = tmp.path().join("logs").join("proxy-seq-l1.jsonl");
                proxies.insert(
                    Edge::SeqToL1,
                    FaultProxy::Remote {
                        proxy,
                        log: Some(log),
                    },
                );
            }
            let config = config_for(&sequencer_l1, topology.l1.chain_id, &topology.sequencer)?;
            let app_ip = net.app.addr(SEQUENCER_HOST);
            let container = SequencerContainer {
                name: net.container("sequencer"),
                image: sequencer_image(),
                label: net.label(),
                app_network: net.app.name.clone(),
                app_ip,
                l1_network: net.l1.name.clone(),
                l1_ip: net.l1.addr(SEQUENCER_HOST),
                args: sequencer_args(&config, &topology.sequencer.wallet_config, app_ip),
                faults: config
                    .faults
                    .iter()
                    .map(|fault| format!("--fault={fault}"))
                    .collect(),
            };
            container.start(true).await?;
            let sequencer = SequencerControl::container(config, container);
            let identity =
                Identity::pinned(topology.l1.chain_id, &topology.sequencer.wallet_config);
            debug_assert_eq!(identity.app, addresses::APPLICATION);
            let mut deployment = Deployment::new(
                Backend::Compose,
                Self::CAPS,
                topology,
                identity,
                L1Handle::Compose(Box::new(l1)),
                sequencer,
                proxies,
                tmp,
            );
            deployment.compose = Some(net);
            Ok(deployment)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table_conflicts_are_found() {
        let table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n\
                     br-1\t0007D50A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     tun0\t0000D60A\t00000000\t0001\t0\t0\t0\t0000FFFF\n";
        assert!(routed_in(table, [10, 213, 7]), "the same /24");
        assert!(!routed_in(table, [10, 213, 8]), "a neighbour /24");
        assert!(routed_in(table, [10, 214, 99]), "inside a /16");
        assert!(
            !routed_in(table, [10, 215, 1]),
            "the default route is no conflict"
        );
        assert_eq!(
            Network {
                name: "n".to_owned(),
                prefix: [10, 213, 7],
            }
            .addr(20),
            Ipv4Addr::new(10, 213, 7, 20)
        );
    }

    #[test]
    fn the_sequencer_listens_on_its_container_address_only_with_the_setting() {
        let config = SequencerConfig::devnet("http://10.213.7.10:8545", addresses::APPLICATION);
        let args = sequencer_args(&config, "devnet", Ipv4Addr::new(10, 214, 7, 20));
        assert!(args.contains(&"--listen=10.214.7.20:8000".to_owned()));
        assert!(args.contains(&"--allow-private-listen".to_owned()));
        assert!(args.contains(&"--rpc-url=http://10.213.7.10:8545".to_owned()));
    }
}

//! The loopback HTTP server under both proxy modes: binding, the state the handlers share,
//! `hang`/`drop` answers and a shutdown that releases hung requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::engine::Engine;
use super::lock;
use super::log::{ProxyEntry, Recorder};
use super::rules::RuleSet;

/// Where a proxy listens and what it records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The listen address; loopback only (default `127.0.0.1:0`).
    pub listen: Option<SocketAddr>,
    /// The edge name written into every record.
    pub edge: String,
    /// A JSONL file every record is appended to.
    pub log_path: Option<PathBuf>,
    /// Also allow a private IPv4 listen address (10/8, 172.16/12, 192.168/16): the proxy's own
    /// address on a private container network. Never the unspecified or a public address.
    pub private_listen: bool,
    /// The address of the remote control (see [`crate::control`]), under the same rule as
    /// `listen`; none: no control port.
    pub control: Option<SocketAddr>,
}

impl ProxyConfig {
    /// The listen address, refusing anything but loopback (and, with
    /// [`private_listen`](Self::private_listen), a private IPv4 address).
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.allowed(
            self.listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        )
    }

    /// `addr` if the proxy may listen there.
    fn allowed(&self, addr: SocketAddr) -> Result<SocketAddr> {
        let private = match addr.ip() {
            std::net::IpAddr::V4(ip) => self.private_listen && ip.is_private(),
            std::net::IpAddr::V6(_) => false,
        };
        if !addr.ip().is_loopback() && !private {
            bail!("the proxy listens on loopback only, not {addr}");
        }
        Ok(addr)
    }
}

/// State shared by the handlers of one proxy.
pub(crate) struct Shared {
    /// Where requests are forwarded.
    pub(crate) upstream: reqwest::Url,
    /// The client requests are forwarded with.
    pub(crate) client: reqwest::Client,
    /// The rules and their counters.
    pub(crate) engine: Mutex<Engine>,
    /// Where every request is recorded.
    pub(crate) recorder: Recorder,
    /// Turns `true` when the proxy stops (hung requests wait on it).
    pub(crate) stop: watch::Receiver<bool>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("upstream", &self.upstream.as_str())
            .finish_non_exhaustive()
    }
}

/// The HTTP client both proxies forward with.
fn upstream_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the proxy's HTTP client")
}

/// A running proxy server: the axum server, the state its handlers share and a stop signal
/// that hung requests wait on. Dropping it stops the server.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    control: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    control_task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `routes` on `config`'s address in front of `upstream` (a URL), applying `rules`
    /// and recording as `config` says.
    pub(crate) async fn start(
        upstream: &str,
        rules: &RuleSet,
        config: &ProxyConfig,
        routes: Router<Arc<Shared>>,
        check: crate::control::Check,
    ) -> Result<Self> {
        let upstream: reqwest::Url = upstream
            .parse()
            .with_context(|| format!("parsing upstream URL {upstream:?}"))?;
        let recorder = Recorder::new(config.edge.clone(), config.log_path.as_deref())
            .with_context(|| format!("opening the proxy log {:?}", config.log_path))?;
        let listen = config.listen_addr()?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the proxy on {listen}"))?;
        let control_listener = match config.control {
            Some(addr) => {
                let addr = config.allowed(addr)?;
                Some(
                    tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the proxy's control on {addr}"))?,
                )
            }
            None => None,
        };
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream,
            client: upstream_client()?,
            engine: Mutex::new(Engine::new(rules)),
            recorder,
            stop: stopped,
        });
        let app = routes.with_state(Arc::clone(&shared));
        let addr = listener.local_addr().context("reading the proxy address")?;
        let (control, control_task) = match control_listener {
            Some(listener) => {
                let addr = listener
                    .local_addr()
                    .context("reading the control address")?;
                let app = crate::control::routes(Arc::clone(&shared), check);
                (Some(addr), Some(serve(listener, app, stop.subscribe())))
            }
            None => (None, None),
        };
        let task = serve(listener, app, stop.subscribe());
        Ok(Self {
            addr,
            control,
            shared,
            stop,
            task: Some(task),
            control_task,
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound address of the control port, if any.
    pub(crate) fn control_addr(&self) -> Option<SocketAddr> {
        self.control
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the rules (next request on; scope counters restart).
    pub(crate) fn set_rules(&self, rules: &RuleSet) {
        *lock(&self.shared.engine) = Engine::new(rules);
    }

    /// A copy of every request recorded so far.
    pub(crate) fn entries(&self) -> Vec<ProxyEntry> {
        self.shared.recorder.entries()
    }

    /// Forgets the recorded requests (the JSONL file keeps them).
    pub(crate) fn clear_entries(&self) {
        self.shared.recorder.clear();
    }

    /// Stops accepting, releases hung requests and waits (at most 5 s) for open connections.
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.control_task.take() {
            task.abort();
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(task) = self.control_task.take() {
            task.abort();
        }
    }
}

/// Serves `app` on `listener` until `stopped` turns `true`.
fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
    })
}

/// Waits until the proxy stops (forever while it runs), then answers like `drop`.
pub(crate) async fn hang(mut stop: watch::Receiver<bool>) -> Response {
    let _ = stop.wait_for(|s| *s).await;
    dropped()
}

/// A response whose body fails at once, so the connection closes without a complete answer.
pub(crate) fn dropped() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("dropped by the proxy"))
    });
    Response::new(Body::from_stream(failing))
}

//! The loopback HTTP server under both proxy modes: binding, `hang`/`drop` answers and a
//! shutdown that releases hung requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where a proxy listens and what it records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The listen address; loopback only (default `127.0.0.1:0`).
    pub listen: Option<SocketAddr>,
    /// The edge name written into every record.
    pub edge: String,
    /// A JSONL file every record is appended to.
    pub log_path: Option<PathBuf>,
}

impl ProxyConfig {
    /// The listen address, refusing anything but loopback.
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        let addr = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        if !addr.ip().is_loopback() {
            bail!("the proxy listens on loopback only, not {addr}");
        }
        Ok(addr)
    }
}

/// A running axum server with a stop signal that hung requests wait on.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `config`'s address.
    pub(crate) async fn bind(config: &ProxyConfig) -> Result<tokio::net::TcpListener> {
        let addr = config.listen_addr()?;
        tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the proxy on {addr}"))
    }

    /// Serves `app` on `listener` until stopped; `stop` is the sender whose receivers the
    /// handlers hold.
    pub(crate) fn spawn(
        listener: tokio::net::TcpListener,
        app: Router,
        stop: watch::Sender<bool>,
    ) -> Result<Self> {
        let addr = listener.local_addr().context("reading the proxy address")?;
        let mut stopped = stop.subscribe();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(Self {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, releases hung requests and waits (at most 5 s) for open connections.
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
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
    }
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

//! Stable loopback fronts: a TCP forwarder per exposed endpoint, so a child can restart on a new
//! port while the address handed out (`devnet env`) stays valid.
//!
//! Each accepted connection is joined to the current target; with no target, or when the target
//! refuses, the connection is closed at once (a client sees a reset, as with a dead server). A
//! connection keeps the backend it was joined to until either side closes.

use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A running front on `127.0.0.1:<ephemeral>`. Dropping it closes the listener and every
/// forwarded connection.
#[derive(Debug)]
pub struct Front {
    addr: SocketAddr,
    target: watch::Sender<Option<SocketAddr>>,
    task: JoinHandle<()>,
}

impl Front {
    /// Binds a front on an ephemeral loopback port, with no target yet.
    pub async fn start() -> Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds a front on `addr` (loopback only), with no target yet.
    pub async fn bind(addr: SocketAddr) -> Result<Self> {
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "fronts bind loopback addresses only"
        );
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding a front on {addr}"))?;
        let addr = listener.local_addr().context("front address")?;
        let (target, watcher) = watch::channel(None);
        let task = tokio::spawn(accept_loop(listener, watcher));
        Ok(Self { addr, target, task })
    }

    /// The front's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<front address>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points new connections at `target` (`None`: refuse them).
    pub fn set_target(&self, target: Option<SocketAddr>) {
        self.target.send_replace(target);
    }

    /// The current target.
    pub fn target(&self) -> Option<SocketAddr> {
        *self.target.borrow()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: watch::Receiver<Option<SocketAddr>>) {
    // Connection tasks live in the set, so aborting this task (dropping the set) ends them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((inbound, _)) = accepted else { continue };
                let to = *target.borrow();
                connections.spawn(forward(inbound, to));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn forward(mut inbound: TcpStream, target: Option<SocketAddr>) {
    let Some(target) = target else { return };
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    async fn echo_server() -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (addr, task)
    }

    async fn round_trip(front: SocketAddr) -> Option<Vec<u8>> {
        let mut stream = TcpStream::connect(front).await.ok()?;
        stream.write_all(b"ping").await.ok()?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.ok()?;
        Some(buf.to_vec())
    }

    #[tokio::test]
    async fn a_front_follows_its_target() {
        let front = Front::start().await.unwrap();
        assert!(front.addr().ip().is_loopback());
        assert_eq!(round_trip(front.addr()).await, None, "no target: closed");
        let (a, server_a) = echo_server().await;
        front.set_target(Some(a));
        assert_eq!(round_trip(front.addr()).await.unwrap(), b"ping");
        server_a.abort();
        let (b, _server_b) = echo_server().await;
        front.set_target(Some(b));
        assert_eq!(front.target(), Some(b));
        assert_eq!(round_trip(front.addr()).await.unwrap(), b"ping");
        assert!(Front::bind("0.0.0.0:0".parse().unwrap()).await.is_err());
    }
}

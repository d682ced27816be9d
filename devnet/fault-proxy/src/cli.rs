//! The command line of a standalone fault proxy, shared by the `fault-proxy` binary and
//! `devnet proxy`: flags, and [`serve`], which runs the proxy until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::{HttpProxy, ProxyConfig, RpcProxy, RuleSet};

/// Which protocol the proxy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProxyMode {
    /// JSON-RPC over HTTP POST; rules per request and per batch element.
    Rpc,
    /// Any HTTP request; rules on the path.
    Http,
}

/// Flags of a standalone proxy.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Listen address: loopback only (e.g. `127.0.0.1:0`), unless --allow-private-listen.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Also allow a private IPv4 listen address (10/8, 172.16/12, 192.168/16): the proxy's own
    /// address on a private container network with no route out. Never 0.0.0.0.
    #[arg(long)]
    pub allow_private_listen: bool,
    /// Upstream URL (the JSON-RPC endpoint, or the base URL in HTTP mode).
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Protocol.
    #[arg(long, value_enum, default_value = "rpc")]
    pub mode: ProxyMode,
    /// Rules file (JSON, see `fault_proxy::rules`); none: forward everything.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Edge name written into each record.
    #[arg(long, default_value = "proxy")]
    pub edge: String,
    /// Append every record to this JSONL file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

/// Accepts a loopback socket address, or a private IPv4 one (which still needs
/// `--allow-private-listen`); refuses the unspecified and public addresses outright.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|e| format!("not a socket address: {e}"))?;
    let private = matches!(addr.ip(), std::net::IpAddr::V4(ip) if ip.is_private());
    if !addr.ip().is_loopback() && !private {
        return Err(format!("{addr} is not a loopback address"));
    }
    Ok(addr)
}

impl ProxyArgs {
    /// The proxy's configuration (the listen address is checked when it starts).
    pub fn config(&self) -> ProxyConfig {
        ProxyConfig {
            listen: Some(self.listen),
            edge: self.edge.clone(),
            log_path: self.log.clone(),
            private_listen: self.allow_private_listen,
        }
    }
}

/// Starts the proxy, hands `announce` one JSON object (`listen`, `mode`, `edge`) once it is
/// bound, and runs until SIGINT or SIGTERM.
pub async fn serve(args: &ProxyArgs, announce: &mut dyn FnMut(&Value) -> Result<()>) -> Result<()> {
    let rules = match &args.rules {
        Some(path) => RuleSet::load(path)?,
        None => RuleSet::default(),
    };
    let config = args.config();
    config.listen_addr()?;
    let line = |addr: SocketAddr| {
        json!({"listen": addr.to_string(), "mode": format!("{:?}", args.mode).to_lowercase(),
               "edge": args.edge})
    };
    match args.mode {
        ProxyMode::Rpc => {
            let proxy = RpcProxy::start_with(&args.upstream, rules.into(), config).await?;
            announce(&line(proxy.addr()))?;
            signalled().await?;
            proxy.shutdown().await;
        }
        ProxyMode::Http => {
            let proxy = HttpProxy::start_with(&args.upstream, rules, config).await?;
            announce(&line(proxy.addr()))?;
            signalled().await?;
            proxy.shutdown().await;
        }
    }
    tracing::info!(target: "fault_proxy", "stopped");
    Ok(())
}

/// Logs to stderr, filtered by `DEVNET_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEVNET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, private: bool) -> Result<SocketAddr> {
        ProxyConfig {
            listen: Some(listen.parse().unwrap()),
            private_listen: private,
            ..ProxyConfig::default()
        }
        .listen_addr()
    }

    #[test]
    fn the_flag_parser_refuses_unspecified_and_public_addresses() {
        assert!(parse_listen("127.0.0.1:0").is_ok());
        assert!(parse_listen("10.213.7.30:8545").is_ok());
        assert!(parse_listen("0.0.0.0:8545").is_err());
        assert!(parse_listen("203.0.113.9:8545").is_err());
        assert!(parse_listen("localhost").is_err());
    }

    #[test]
    fn loopback_always_private_only_when_allowed_never_unspecified_or_public() {
        assert!(config("127.0.0.1:0", false).is_ok());
        assert!(config("[::1]:8545", false).is_ok());
        assert!(config("10.213.7.30:8545", false).is_err());
        assert!(config("10.213.7.30:8545", true).is_ok());
        for refused in ["0.0.0.0:8545", "203.0.113.9:8545", "[::]:8545"] {
            assert!(config(refused, true).is_err(), "{refused}");
        }
    }
}

//! `devnet proxy --listen 127.0.0.1:PORT --upstream URL --mode rpc|http --rules FILE`: a
//! standalone fault proxy (e.g. for staging; the entrypoint of the compose backend's proxy
//! image). With `--control-listen ADDR` it also serves
//! its remote control there (`fault_proxy::control`). Prints `{"listen": "<addr>", "control":
//! "<addr>"|null, …}` once bound and runs until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use devnet_sequencer::shutdown_signal;
use fault_proxy::{HttpProxy, ProxyConfig, RpcProxy, RuleSet};
use serde_json::json;

use super::{Exit, emit};

/// Which protocol the proxy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProxyMode {
    /// JSON-RPC over HTTP POST; rules per request and per batch element.
    Rpc,
    /// Any HTTP request; rules on the path.
    Http,
}

/// Flags of `devnet proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Listen address: loopback only (e.g. `127.0.0.1:0`), unless --allow-private-listen.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Also allow a private IPv4 listen address (10/8, 172.16/12, 192.168/16): the proxy's own
    /// address on a private container network with no route out. Never 0.0.0.0.
    #[arg(long)]
    pub allow_private_listen: bool,
    /// Listen address of the remote control (HTTP/JSON: `PUT /rules`, `GET /entries`,
    /// `DELETE /entries`), under the same rule as --listen; none: no remote control.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub control_listen: Option<SocketAddr>,
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

/// Accepts a loopback socket address, or a private IPv4 one (which the proxy still refuses
/// without --allow-private-listen); the unspecified and public addresses are usage errors.
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

/// Runs the proxy until a signal.
pub(super) async fn proxy(args: ProxyArgs, out: &mut dyn Write) -> Result<Exit> {
    let rules = match &args.rules {
        Some(path) => RuleSet::load(path)?,
        None => RuleSet::default(),
    };
    let config = ProxyConfig {
        listen: Some(args.listen),
        edge: args.edge.clone(),
        log_path: args.log.clone(),
        private_listen: args.allow_private_listen,
        control: args.control_listen,
    };
    let announce = |addr: SocketAddr, control: Option<SocketAddr>| {
        json!({"listen": addr.to_string(), "mode": format!("{:?}", args.mode).to_lowercase(),
               "edge": args.edge, "control": control.map(|c| c.to_string())})
    };
    match args.mode {
        ProxyMode::Rpc => {
            let proxy = RpcProxy::start_with(&args.upstream, rules.into(), config).await?;
            emit(out, &announce(proxy.addr(), proxy.control_addr()))?;
            shutdown_signal().await?;
            proxy.shutdown().await;
        }
        ProxyMode::Http => {
            let proxy = HttpProxy::start_with(&args.upstream, rules, config).await?;
            emit(out, &announce(proxy.addr(), proxy.control_addr()))?;
            shutdown_signal().await?;
            proxy.shutdown().await;
        }
    }
    tracing::info!(target: "devnet::proxy", "stopped");
    Ok(Exit::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_private_addresses_parse_unspecified_and_public_ones_do_not() {
        assert!(parse_listen("127.0.0.1:0").is_ok());
        assert!(parse_listen("[::1]:8545").is_ok());
        assert!(
            parse_listen("10.0.0.1:1").is_ok(),
            "refused later without the flag"
        );
        assert!(parse_listen("0.0.0.0:8545").is_err());
        assert!(parse_listen("203.0.113.9:8545").is_err());
        assert!(parse_listen("localhost").is_err());
    }

    #[test]
    fn a_private_address_needs_the_flag() {
        let config = |private_listen| ProxyConfig {
            listen: Some("10.213.7.30:8545".parse().unwrap()),
            private_listen,
            ..ProxyConfig::default()
        };
        assert!(config(false).listen_addr().is_err());
        assert!(config(true).listen_addr().is_ok());
        let unspecified = ProxyConfig {
            listen: Some("0.0.0.0:8545".parse().unwrap()),
            private_listen: true,
            ..ProxyConfig::default()
        };
        assert!(unspecified.listen_addr().is_err());
    }
}

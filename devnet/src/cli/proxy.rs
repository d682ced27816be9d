//! `devnet proxy --listen 127.0.0.1:PORT --upstream URL --mode rpc|http --rules FILE`: a
//! standalone fault proxy (e.g. for staging), the same as the `fault-proxy` binary
//! ([`fault_proxy::cli`]). Prints `{"listen": "<addr>", …}` once bound and runs until
//! SIGINT/SIGTERM.

use std::io::Write;

use anyhow::Result;
pub use fault_proxy::cli::{ProxyArgs, ProxyMode};

use super::{Exit, emit};

/// Runs the proxy until a signal.
pub(super) async fn proxy(args: ProxyArgs, out: &mut dyn Write) -> Result<Exit> {
    fault_proxy::cli::serve(&args, &mut |line| emit(out, line)).await?;
    Ok(Exit::Passed)
}

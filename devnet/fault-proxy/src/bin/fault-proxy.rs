//! `fault-proxy`: a JSON-RPC or HTTP fault proxy in the foreground (the devnet's compose
//! images run it in a container; `devnet proxy` is the same on the devnet's command line).
//! Prints one JSON line `{"listen", "mode", "edge"}` on stdout once bound; logs go to stderr
//! (`DEVNET_LOG`, default `info`); stops on SIGINT or SIGTERM.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use fault_proxy::cli::{ProxyArgs, init_tracing, serve};

/// A JSON-RPC or HTTP fault proxy.
#[derive(Debug, Parser)]
#[command(name = "fault-proxy", version)]
struct Cli {
    #[command(flatten)]
    args: ProxyArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "no tokio runtime");
            return ExitCode::FAILURE;
        }
    };
    let mut announce = |line: &serde_json::Value| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        Ok(())
    };
    match runtime.block_on(serve(&cli.args, &mut announce)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "fault-proxy failed");
            ExitCode::FAILURE
        }
    }
}

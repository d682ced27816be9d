//! `devnet-sequencer`: the devnet's faithful Cartesi wallet-rollup sequencer (or, with
//! `--sequencer PATH`, the upstream binary). Prints one JSON line with its addresses on stdout
//! once it is listening; logs go to stderr. See the `devnet_sequencer` library for routes
//! and faults.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use devnet_sequencer::{Args, Sequencer, UpstreamSequencer, init_tracing, shutdown_signal};

fn announce(line: &serde_json::Value) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    if let Some(bin) = &args.upstream {
        let upstream = UpstreamSequencer::spawn(&config, bin)?;
        announce(&upstream.announcement())?;
        let status = upstream.wait().await?;
        return Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let handle = Sequencer::start(config).await?;
    announce(&handle.announcement())?;
    shutdown_signal().await?;
    tracing::info!("shutting down");
    handle.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let args = Args::parse();
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
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "devnet-sequencer failed");
            ExitCode::FAILURE
        }
    }
}

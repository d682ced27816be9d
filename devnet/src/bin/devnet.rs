//! `devnet`: bring a local Cartesi rollups devnet up, inspect it, point the watchdog at it and
//! take it down again. See `devnet::cli` for the commands and exit codes.

use std::process::ExitCode;

use clap::Parser as _;
use devnet::cli::{Cli, Exit, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(Exit::Usage.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    devnet_sequencer::init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "no tokio runtime");
            return ExitCode::from(Exit::Environment.code());
        }
    };
    let exit = runtime.block_on(run(cli, &mut std::io::stdout(), &mut std::io::stderr()));
    ExitCode::from(exit.code())
}

//! `devnet`: bring a local Cartesi rollups devnet up, inspect it, point the watchdog at it and
//! take it down again. See `devnet::cli` for the commands and exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    devnet::cli::main_with(std::env::args_os())
}

//! `fault-proxy`: a JSON-RPC or HTTP fault proxy in the foreground, exactly `devnet proxy`
//! (`fault-proxy --listen ADDR --upstream URL [--mode rpc|http] [--rules FILE] [--edge NAME]
//! [--log FILE] [--allow-private-listen] [--control-listen ADDR]`): the entrypoint of the compose backend's proxy image
//! (`release/devnet-images`).

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    args.insert(1.min(args.len()), "proxy".into());
    devnet::cli::main_with(args)
}

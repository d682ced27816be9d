//! The `devnet` binary and the fault proxies against real processes.

#[path = "../shared/child.rs"]
mod child;
mod cli;
mod client;
mod fake_upstream;
#[path = "../shared/http.rs"]
mod http;
mod http_proxy;
mod l1_scan;
mod proxy_cli;
mod proxy_rules;
mod rpc_proxy;

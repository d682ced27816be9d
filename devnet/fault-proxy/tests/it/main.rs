//! The fault proxies against real upstreams: a fake JSON-RPC node and HTTP service, and anvil
//! (provider-style `eth_getLogs` refusals, and the `l1` reader's complete scans behind them).

#[path = "../../../tests/shared/client.rs"]
mod client;
mod control;
#[path = "../../../tests/shared/fake_upstream.rs"]
mod fake_upstream;
mod http_proxy;
mod l1_scan;
mod proxy_rules;
mod rpc_proxy;

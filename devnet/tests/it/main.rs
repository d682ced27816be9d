//! The `devnet` binary against real processes: `up`/`status`/`env`/`down`, the daemon
//! (`up --detach`, named devnets, `list`, `events`, `logs`, `sequencer restart`), and `proxy`.

#[path = "../shared/child.rs"]
mod child;
mod cli;
#[allow(dead_code)] // Shared with the fault-proxy tests; `proxy` needs only a JSON-RPC post.
#[path = "../shared/client.rs"]
mod client;
mod daemon;
mod devstate;
#[allow(dead_code)] // Shared with the fault-proxy tests; `proxy` needs only the fake node.
#[path = "../shared/fake_upstream.rs"]
mod fake_upstream;
#[path = "../shared/http.rs"]
mod http;
mod proxy_cli;
mod rewind;

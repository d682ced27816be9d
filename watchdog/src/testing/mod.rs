//! Loopback doubles for the watchdog's own tests and benchmarks (feature `test-utils`): an L1
//! JSON-RPC endpoint with an InputBox ([`l1`]) and a sequencer serving the finalized-state
//! routes ([`sequencer`]), each a real HTTP server on an ephemeral 127.0.0.1 port, on its own
//! thread, for the rest of the process. Never part of the release binary.
//!
//! They panic on a broken invariant of the test itself (a poisoned lock, no loopback port):
//! test code, not the watchdog path.

pub mod l1;
pub mod sequencer;

use std::net::SocketAddr;

use axum::Router;
use canonical::{Engine, WalletConfig};

/// The wallet snapshot bytes of the devnet genesis state.
pub fn genesis_state() -> Vec<u8> {
    Engine::new(WalletConfig::devnet()).snapshot().encode()
}

/// Serves `router` on an ephemeral loopback port from a thread of its own.
fn spawn_server(router: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let addr = listener.local_addr().expect("the listener's address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, router).await.expect("serving");
        });
    });
    addr
}

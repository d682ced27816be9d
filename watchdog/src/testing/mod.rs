//! Loopback doubles for the watchdog's own tests and benchmarks (feature `test-utils`): an L1
//! JSON-RPC endpoint with an InputBox ([`l1`]) and a sequencer serving the finalized-state
//! routes ([`sequencer`]), each a real HTTP server on an ephemeral 127.0.0.1 port, on its own
//! thread, for the rest of the process. Never part of the release binary.

pub mod l1;
pub mod sequencer;

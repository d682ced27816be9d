//! The `in-process` backend: the devnet sequencer and the real `sequencer-watchdog` binary
//! against the synthetic L1, and the `attach` backend's capability probe.

mod attach;
mod flow;
mod support;

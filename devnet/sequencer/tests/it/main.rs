//! The devnet sequencer against an in-process fake L1 (the synthetic L1): every route over real
//! HTTP on 127.0.0.1, faults, the control API and the binary.

mod api;
mod binary;
#[path = "../../../tests/shared/child.rs"]
mod child;
mod fake_l1;
mod faults;
mod flow;
mod support;

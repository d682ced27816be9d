//! The devnet sequencer against an in-process fake L1 (and, in `anvil`, against anvil with the
//! real contracts): every route over real HTTP on 127.0.0.1, faults and the control API.

mod anvil;
mod api;
mod binary;
#[path = "../shared/child.rs"]
mod child;
mod fake_l1;
mod faults;
mod flow;
mod support;

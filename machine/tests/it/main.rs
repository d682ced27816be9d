//! Integration tests of the machine layer: the contract suite against every backend, the FFI
//! path against the C stub, the native backend and the worker thread.

// Skipped properties and targets say so on stderr, from helpers outside `#[test]` functions.
#![allow(clippy::print_stderr)]

mod common;
mod contract;
mod ffi;
mod journal;
mod native;
mod worker;

//! The synthetic L1 over real HTTP.

mod rpc;

//! Raw bindings to libcartesi, the Cartesi Machine emulator library, resolved at run time.
//!
//! The crate has no link directive, no build script and no bundled library: [`open`] loads a
//! libcartesi shared object with `dlopen`, probes which C API generation it speaks (0.21 through
//! `cm_get_version`, 0.19 through its symbol set) and resolves a table of function pointers for
//! exactly that generation ([`Api::V19`] or [`Api::V21`]). Loaded libraries are never unloaded,
//! so the tables are `'static`.
//!
//! Every call through a table is `unsafe`; the safe wrapper, with all ownership and threading
//! invariants, lives in the `machine` crate. Enumerations that cross the boundary are plain
//! integers ([`BreakReason`], [`CmError`], register indices) so unknown values can never be
//! undefined behaviour.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod api;
mod constants;
mod error;
mod errors;
mod generation;
mod loader;
mod registers;
mod stub;

pub use api::{Api, ApiV19, ApiV21, CmError, Hash, cm_machine};
pub use constants::*;
pub use error::LoadError;
pub use errors::error_name;
pub use generation::Generation;
pub use loader::{Library, LibraryInfo, SEARCH_NAMES, open};
pub use registers::RegTable;
pub use stub::StubHooks;

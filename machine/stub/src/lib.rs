//! A C test double of libcartesi, for tests only.
//!
//! The build script compiles `csrc/cm_stub.c` (our own C) three times into shared libraries that
//! export the libcartesi C API of one generation each and run a tiny scripted guest instead of an
//! emulator: [`StubApi::V19`] and [`StubApi::V21`] export the full symbol sets the `machine` crate
//! uses, [`StubApi::V20`] only the version probe (it reports the unsupported 0.20). Stub-only
//! hooks (`cm_stub_*`) count handle deletions, stores and loads (per calling thread), inject
//! failures (on one handle, the next handle created, or every handle) and make a load come back
//! different from what was stored. A program under test can arm the last two through the
//! environment, read when the library is loaded: `CM_STUB_INJECT="<fn>[=<code>][@<after>],…"`
//! and `CM_STUB_PERTURB_LOAD="<after>"`.
//!
//! Costs follow the real library's shape: a root hash is computed once per state change (as a
//! hash tree is only rehashed where written) and covers the whole 2 MiB RX buffer, and every
//! 1,000-mcycle guest step spends a microsecond, as an emulator running 10^9 mcycles per second
//! would (real ones are slower).
//!
//! Scripted guest, advance payloads: `reject` → rx-rejected (after scribbling the state),
//! `exception` → tx-exception `test-guest exception`, `halt` → halt with exit code 7,
//! `report…` → one report then accept, `output…` → one output then accept, `big` → one report of
//! 2 MiB then accept, `spin` → never finishes, `gio` → generic-I/O manual yield (reason 16),
//! anything else → accept and record it in the 4,116-byte guest state. Inspect queries: `state` →
//! one report with the guest state, `two` / `none` → two / no reports, anything else → one report
//! `unsupported`. Only Linux builds the libraries.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use std::path::Path;

/// Which flavour of the stub library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StubApi {
    /// Exports the libcartesi 0.19 API.
    V19,
    /// Exports only `cm_get_version` (20000) and `cm_get_last_error_message`.
    V20,
    /// Exports the libcartesi 0.21 API.
    V21,
}

/// Path of the compiled stub library of `api`.
#[cfg(target_os = "linux")]
pub fn path(api: StubApi) -> &'static Path {
    Path::new(match api {
        StubApi::V19 => env!("CM_STUB_V19"),
        StubApi::V20 => env!("CM_STUB_V20"),
        StubApi::V21 => env!("CM_STUB_V21"),
    })
}

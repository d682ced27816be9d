//! Hooks exported only by the project's C test double of libcartesi.

use std::ffi::c_char;

use crate::cm_machine;

/// Functions only the test stub exports (`cm_stub_*`). Resolved when `cm_stub_api_version`
/// exists; a real libcartesi has none of them.
#[derive(Debug, Clone, Copy)]
pub struct StubHooks {
    /// `uint32_t cm_stub_api_version(void)`: 19, 20 or 21.
    pub api_version: unsafe extern "C" fn() -> u32,
    /// `uint64_t cm_stub_serial(const cm_machine *m)`: serial of a live handle (0 if not live).
    pub serial: unsafe extern "C" fn(*const cm_machine) -> u64,
    /// `uint64_t cm_stub_delete_count(uint64_t serial)`: `cm_delete` calls that freed `serial`.
    pub delete_count: unsafe extern "C" fn(u64) -> u64,
    /// `uint64_t cm_stub_live_count(void)`: handles currently alive.
    pub live_count: unsafe extern "C" fn() -> u64,
    /// `uint64_t cm_stub_bad_delete_count(void)`: `cm_delete` calls on non-live pointers.
    pub bad_delete_count: unsafe extern "C" fn() -> u64,
    /// `void cm_stub_inject(const cm_machine *m, const char *fn, int32_t code, const char *msg,
    /// uint32_t after)`: after `after` calls, the next call to `fn` on `m` (NULL: calls without a
    /// handle) fails with `code` and `msg` and has no effect.
    pub inject: unsafe extern "C" fn(*const cm_machine, *const c_char, i32, *const c_char, u32),
    /// `void cm_stub_inject_serial(uint64_t serial, const char *fn, int32_t code, const char
    /// *msg, uint32_t after)`: like `inject`, for the live handle with that serial.
    pub inject_serial: unsafe extern "C" fn(u64, *const c_char, i32, *const c_char, u32),
    /// `void cm_stub_inject_any(const char *fn, int32_t code, const char *msg, uint32_t after)`:
    /// like `inject`, for every handle and for calls without one (process-global).
    pub inject_any: unsafe extern "C" fn(*const c_char, i32, *const c_char, u32),
    /// `void cm_stub_inject_next(const char *fn, int32_t code, const char *msg, uint32_t
    /// after)`: like `inject`, for the next handle created (by a load or a create).
    pub inject_next: unsafe extern "C" fn(*const c_char, i32, *const c_char, u32),
    /// `void cm_stub_perturb_load(uint32_t after)`: after `after` loads, the next
    /// `cm_load_new` succeeds with one guest-state byte flipped (process-global).
    pub perturb_load: unsafe extern "C" fn(u32),
    /// `uint64_t cm_stub_store_count(void)`: successful `cm_store` calls made by the calling
    /// thread.
    pub store_count: unsafe extern "C" fn() -> u64,
    /// `uint64_t cm_stub_load_count(void)`: successful `cm_load_new` calls made by the calling
    /// thread.
    pub load_count: unsafe extern "C" fn() -> u64,
}

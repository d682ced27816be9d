//! The opaque handle type and the per-generation function tables.

use std::ffi::c_char;
use std::marker::{PhantomData, PhantomPinned};

use crate::Generation;

/// A `cm_error` value: 0 is success, negative values are failures (see [`crate::error_name`]).
pub type CmError = i32;

/// A `cm_hash`: 32 bytes. Functions take a pointer to the array.
pub type Hash = [u8; 32];

/// The opaque `cm_machine` handle. Only ever used behind a raw pointer.
///
/// Zero-sized with a marker that makes it `!Send`, `!Sync` and `!Unpin`.
#[allow(non_camel_case_types)] // The C name, as -sys crates spell it.
#[repr(C)]
pub struct cm_machine {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// The libcartesi 0.19 functions this project uses (header `machine-c-api.h`).
///
/// Every field is a pointer resolved from the loaded library; the library is never unloaded.
#[derive(Debug, Clone, Copy)]
pub struct ApiV19 {
    /// `const char *cm_get_last_error_message(void)`: thread-local, valid until the next call.
    pub cm_get_last_error_message: unsafe extern "C" fn() -> *const c_char,
    /// `cm_error cm_create_new(const char *config, const char *runtime_config, cm_machine **new_m)`.
    pub cm_create_new:
        unsafe extern "C" fn(*const c_char, *const c_char, *mut *mut cm_machine) -> CmError,
    /// `cm_error cm_load_new(const char *dir, const char *runtime_config, cm_machine **new_m)`.
    pub cm_load_new:
        unsafe extern "C" fn(*const c_char, *const c_char, *mut *mut cm_machine) -> CmError,
    /// `cm_error cm_store(const cm_machine *m, const char *dir)`.
    pub cm_store: unsafe extern "C" fn(*const cm_machine, *const c_char) -> CmError,
    /// `cm_error cm_destroy(cm_machine *m)`.
    pub cm_destroy: unsafe extern "C" fn(*mut cm_machine) -> CmError,
    /// `void cm_delete(cm_machine *m)`: accepts NULL; never twice on one pointer.
    pub cm_delete: unsafe extern "C" fn(*mut cm_machine),
    /// `cm_error cm_set_runtime_config(cm_machine *m, const char *runtime_config)`.
    pub cm_set_runtime_config: unsafe extern "C" fn(*mut cm_machine, *const c_char) -> CmError,
    /// `cm_error cm_get_initial_config(const cm_machine *m, const char **config)`.
    pub cm_get_initial_config:
        unsafe extern "C" fn(*const cm_machine, *mut *const c_char) -> CmError,
    /// `cm_error cm_read_reg(const cm_machine *m, cm_reg reg, uint64_t *val)`.
    pub cm_read_reg: unsafe extern "C" fn(*const cm_machine, u32, *mut u64) -> CmError,
    /// `cm_error cm_get_root_hash(const cm_machine *m, cm_hash *hash)`.
    pub cm_get_root_hash: unsafe extern "C" fn(*const cm_machine, *mut Hash) -> CmError,
    /// `cm_error cm_run(cm_machine *m, uint64_t mcycle_end, cm_break_reason *break_reason)`.
    pub cm_run: unsafe extern "C" fn(*mut cm_machine, u64, *mut u32) -> CmError,
    /// `cm_error cm_receive_cmio_request(const cm_machine *m, uint8_t *cmd, uint16_t *reason,
    /// uint8_t *data, uint64_t *length)`.
    pub cm_receive_cmio_request:
        unsafe extern "C" fn(*const cm_machine, *mut u8, *mut u16, *mut u8, *mut u64) -> CmError,
    /// `cm_error cm_send_cmio_response(cm_machine *m, uint16_t reason, const uint8_t *data,
    /// uint64_t length)`.
    pub cm_send_cmio_response:
        unsafe extern "C" fn(*mut cm_machine, u16, *const u8, u64) -> CmError,
    /// `cm_error cm_read_memory(const cm_machine *m, uint64_t address, uint8_t *data,
    /// uint64_t length)`.
    pub cm_read_memory: unsafe extern "C" fn(*const cm_machine, u64, *mut u8, u64) -> CmError,
    /// `cm_error cm_get_memory_ranges(const cm_machine *m, const char **ranges)`: probe only.
    pub cm_get_memory_ranges:
        unsafe extern "C" fn(*const cm_machine, *mut *const c_char) -> CmError,
}

/// The libcartesi 0.21 functions this project uses (header `cm.h`).
///
/// Every field is a pointer resolved from the loaded library; the library is never unloaded.
#[derive(Debug, Clone, Copy)]
pub struct ApiV21 {
    /// `uint64_t cm_get_version(void)`: `major * 1_000_000 + minor * 1_000 + patch`.
    pub cm_get_version: unsafe extern "C" fn() -> u64,
    /// `const char *cm_get_last_error_message(void)`: thread-local, valid until the next call.
    pub cm_get_last_error_message: unsafe extern "C" fn() -> *const c_char,
    /// `cm_error cm_create_new(const char *config, const char *runtime_config, const char *dir,
    /// cm_machine **new_m)`; a NULL or empty `dir` means in memory.
    pub cm_create_new: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        *const c_char,
        *mut *mut cm_machine,
    ) -> CmError,
    /// `cm_error cm_load_new(const char *dir, const char *runtime_config, cm_sharing_mode
    /// sharing, cm_machine **new_m)`.
    pub cm_load_new:
        unsafe extern "C" fn(*const c_char, *const c_char, u32, *mut *mut cm_machine) -> CmError,
    /// `cm_error cm_store(const cm_machine *m, const char *dir, cm_sharing_mode sharing)`.
    pub cm_store: unsafe extern "C" fn(*const cm_machine, *const c_char, u32) -> CmError,
    /// `cm_error cm_destroy(cm_machine *m)`.
    pub cm_destroy: unsafe extern "C" fn(*mut cm_machine) -> CmError,
    /// `void cm_delete(cm_machine *m)`: accepts NULL; never twice on one pointer.
    pub cm_delete: unsafe extern "C" fn(*mut cm_machine),
    /// `cm_error cm_set_runtime_config(cm_machine *m, const char *runtime_config)`.
    pub cm_set_runtime_config: unsafe extern "C" fn(*mut cm_machine, *const c_char) -> CmError,
    /// `cm_error cm_get_initial_config(const cm_machine *m, const char **config)`.
    pub cm_get_initial_config:
        unsafe extern "C" fn(*const cm_machine, *mut *const c_char) -> CmError,
    /// `cm_error cm_read_reg(const cm_machine *m, cm_reg reg, uint64_t *val)`.
    pub cm_read_reg: unsafe extern "C" fn(*const cm_machine, u32, *mut u64) -> CmError,
    /// `cm_error cm_get_root_hash(const cm_machine *m, cm_hash *hash)`.
    pub cm_get_root_hash: unsafe extern "C" fn(*const cm_machine, *mut Hash) -> CmError,
    /// `cm_error cm_run(cm_machine *m, uint64_t mcycle_end, cm_break_reason *break_reason)`.
    pub cm_run: unsafe extern "C" fn(*mut cm_machine, u64, *mut u32) -> CmError,
    /// `cm_error cm_receive_cmio_request(const cm_machine *m, uint8_t *cmd, uint16_t *reason,
    /// uint8_t *data, uint64_t *length)`.
    pub cm_receive_cmio_request:
        unsafe extern "C" fn(*const cm_machine, *mut u8, *mut u16, *mut u8, *mut u64) -> CmError,
    /// `cm_error cm_send_cmio_response(cm_machine *m, uint16_t reason, const uint8_t *data,
    /// uint64_t length, const cm_hash *revert_root_hash)`.
    pub cm_send_cmio_response:
        unsafe extern "C" fn(*mut cm_machine, u16, *const u8, u64, *const Hash) -> CmError,
    /// `cm_error cm_read_memory(const cm_machine *m, uint64_t address, uint8_t *data,
    /// uint64_t length)`.
    pub cm_read_memory: unsafe extern "C" fn(*const cm_machine, u64, *mut u8, u64) -> CmError,
    /// `cm_error cm_read_revert_root_hash(const cm_machine *m, cm_hash *hash)`.
    pub cm_read_revert_root_hash: unsafe extern "C" fn(*const cm_machine, *mut Hash) -> CmError,
    /// `cm_error cm_rename_stored(const cm_machine *m, const char *from, const char *to)`.
    pub cm_rename_stored:
        unsafe extern "C" fn(*const cm_machine, *const c_char, *const c_char) -> CmError,
    /// `cm_error cm_sync_stored(const cm_machine *m, const char *dir)`.
    pub cm_sync_stored: unsafe extern "C" fn(*const cm_machine, *const c_char) -> CmError,
    /// `cm_error cm_remove_stored(const cm_machine *m, const char *dir)`.
    pub cm_remove_stored: unsafe extern "C" fn(*const cm_machine, *const c_char) -> CmError,
    /// `cm_error cm_clone_stored(const cm_machine *m, const char *from, const char *to)`.
    pub cm_clone_stored:
        unsafe extern "C" fn(*const cm_machine, *const c_char, *const c_char) -> CmError,
}

/// The function table of a loaded library, for the generation it was probed as.
#[derive(Debug, Clone, Copy)]
pub enum Api {
    /// A 0.19 library.
    V19(ApiV19),
    /// A 0.21 library.
    V21(ApiV21),
}

impl Api {
    /// Which generation this table belongs to.
    pub const fn generation(&self) -> Generation {
        match self {
            Api::V19(_) => Generation::V19,
            Api::V21(_) => Generation::V21,
        }
    }

    /// The register index table of this generation.
    pub const fn regs(&self) -> &'static crate::RegTable {
        crate::RegTable::for_generation(self.generation())
    }
}

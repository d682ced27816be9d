//! The owned libcartesi handle: every `unsafe` call into the library goes through this module.
//!
//! Invariants kept here:
//! - the pointer is private and non-null; `Drop` calls `cm_delete` exactly once;
//! - every handle holds `&'static Library`, and libraries are never unloaded;
//! - every fallible call goes through [`check`], which copies the thread-local error message
//!   at once, before any other call on this thread;
//! - strings returned by the library are copied before the next call;
//! - enumerations cross as integers;
//! - a handle is neither `Send` nor `Sync` (it holds a raw pointer), so it stays on one thread.

use std::ffi::{CStr, c_char};
use std::ptr::{self, NonNull};

use cartesi_machine_sys::{
    Api, CMIO_BUFFER_LEN, Hash, Library, SHARING_ALL, SHARING_NONE, cm_machine, error_name,
};

use crate::{Error, Result};

/// Maps a `cm_error` to a result, copying the library's message on failure.
pub(crate) fn check(lib: &'static Library, op: &'static str, code: i32) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    let get_message = match lib.api() {
        Api::V19(api) => api.cm_get_last_error_message,
        Api::V21(api) => api.cm_get_last_error_message,
    };
    // SAFETY: `cm_get_last_error_message` takes no arguments and returns a pointer to a
    // thread-local string (or NULL); it is read immediately on the same thread, before any other
    // libcartesi call, and copied.
    let message = unsafe {
        let ptr = get_message();
        if ptr.is_null() {
            String::new()
        } else {
            CStr::from_ptr(ptr).to_string_lossy().into_owned()
        }
    };
    Err(Error::Cm {
        op,
        code,
        name: error_name(lib.api().generation(), code),
        message,
    })
}

/// Copies a library-owned JSON output string at once.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid until the next
/// libcartesi call on this thread.
unsafe fn copy_json(op: &'static str, ptr: *const c_char) -> Result<String> {
    if ptr.is_null() {
        return Err(Error::Protocol(format!("{op} returned a NULL string")));
    }
    // SAFETY: non-null and valid per the caller's contract; copied before returning.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map(str::to_owned)
        .map_err(|_| Error::Protocol(format!("{op} returned a string that is not UTF-8")))
}

/// One libcartesi machine instance, owned.
#[derive(Debug)]
pub(crate) struct Handle {
    lib: &'static Library,
    ptr: NonNull<cm_machine>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let delete = match self.lib.api() {
            Api::V19(api) => api.cm_delete,
            Api::V21(api) => api.cm_delete,
        };
        // SAFETY: `ptr` came from `cm_create_new`/`cm_load_new` of this library, is owned by this
        // handle alone, and `drop` runs once, so it is deleted exactly once.
        unsafe { delete(self.ptr.as_ptr()) }
    }
}

impl Handle {
    /// Takes ownership of the out-pointer of a successful create or load.
    fn adopt(lib: &'static Library, op: &'static str, ptr: *mut cm_machine) -> Result<Self> {
        NonNull::new(ptr)
            .map(|ptr| Self { lib, ptr })
            .ok_or_else(|| Error::Protocol(format!("{op} succeeded but returned NULL")))
    }

    /// The library this handle belongs to.
    pub(crate) fn lib(&self) -> &'static Library {
        self.lib
    }

    /// `cm_create_new` (in memory on 0.21).
    pub(crate) fn create(lib: &'static Library, config: &CStr, runtime: &CStr) -> Result<Self> {
        let mut out: *mut cm_machine = ptr::null_mut();
        // SAFETY: the strings are valid for the call; `out` is a valid out-pointer, left NULL on
        // failure (nothing to free) and owned by us on success.
        let code = unsafe {
            match lib.api() {
                Api::V19(api) => (api.cm_create_new)(config.as_ptr(), runtime.as_ptr(), &mut out),
                Api::V21(api) => {
                    (api.cm_create_new)(config.as_ptr(), runtime.as_ptr(), ptr::null(), &mut out)
                }
            }
        };
        check(lib, "cm_create_new", code)?;
        Self::adopt(lib, "cm_create_new", out)
    }

    /// `cm_load_new` (0.21: with `SHARING_NONE`, so the directory is never written).
    pub(crate) fn load(lib: &'static Library, dir: &CStr, runtime: &CStr) -> Result<Self> {
        let mut out: *mut cm_machine = ptr::null_mut();
        // SAFETY: as in `create`.
        let code = unsafe {
            match lib.api() {
                Api::V19(api) => (api.cm_load_new)(dir.as_ptr(), runtime.as_ptr(), &mut out),
                Api::V21(api) => {
                    (api.cm_load_new)(dir.as_ptr(), runtime.as_ptr(), SHARING_NONE, &mut out)
                }
            }
        };
        check(lib, "cm_load_new", code)?;
        Self::adopt(lib, "cm_load_new", out)
    }

    /// `cm_destroy` (reports errors), then `cm_delete` through `Drop`.
    pub(crate) fn close(self) -> Result<()> {
        // SAFETY: the handle is live; destroy keeps the handle, which `Drop` then deletes.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_destroy)(self.ptr.as_ptr()),
                Api::V21(api) => (api.cm_destroy)(self.ptr.as_ptr()),
            }
        };
        check(self.lib, "cm_destroy", code)
    }

    /// `cm_read_reg`.
    pub(crate) fn read_reg(&self, reg: u32) -> Result<u64> {
        let mut value = 0u64;
        // SAFETY: live handle; `value` is a valid out-pointer.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_read_reg)(self.ptr.as_ptr(), reg, &mut value),
                Api::V21(api) => (api.cm_read_reg)(self.ptr.as_ptr(), reg, &mut value),
            }
        };
        check(self.lib, "cm_read_reg", code).map(|()| value)
    }

    /// `cm_get_root_hash`.
    pub(crate) fn root_hash(&self) -> Result<Hash> {
        let mut hash: Hash = [0; 32];
        // SAFETY: live handle; `hash` is a valid 32-byte out-buffer.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_get_root_hash)(self.ptr.as_ptr(), &mut hash),
                Api::V21(api) => (api.cm_get_root_hash)(self.ptr.as_ptr(), &mut hash),
            }
        };
        check(self.lib, "cm_get_root_hash", code).map(|()| hash)
    }

    /// `cm_read_revert_root_hash` (0.21); `None` on 0.19.
    pub(crate) fn revert_root_hash(&self) -> Result<Option<Hash>> {
        let Api::V21(api) = self.lib.api() else {
            return Ok(None);
        };
        let mut hash: Hash = [0; 32];
        // SAFETY: live handle; `hash` is a valid 32-byte out-buffer.
        let code = unsafe { (api.cm_read_revert_root_hash)(self.ptr.as_ptr(), &mut hash) };
        check(self.lib, "cm_read_revert_root_hash", code).map(|()| Some(hash))
    }

    /// `cm_set_runtime_config`.
    pub(crate) fn set_runtime_config(&self, runtime: &CStr) -> Result<()> {
        // SAFETY: live handle; the string is valid for the call.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_set_runtime_config)(self.ptr.as_ptr(), runtime.as_ptr()),
                Api::V21(api) => (api.cm_set_runtime_config)(self.ptr.as_ptr(), runtime.as_ptr()),
            }
        };
        check(self.lib, "cm_set_runtime_config", code)
    }

    /// `cm_get_initial_config`, copied at once.
    pub(crate) fn initial_config(&self) -> Result<String> {
        let mut out: *const c_char = ptr::null();
        // SAFETY: live handle; `out` is a valid out-pointer. The string it receives lives until
        // the next call on this thread and is copied right below, before any other call.
        unsafe {
            let code = match self.lib.api() {
                Api::V19(api) => (api.cm_get_initial_config)(self.ptr.as_ptr(), &mut out),
                Api::V21(api) => (api.cm_get_initial_config)(self.ptr.as_ptr(), &mut out),
            };
            check(self.lib, "cm_get_initial_config", code)?;
            copy_json("cm_get_initial_config", out)
        }
    }

    /// `cm_run` up to `mcycle_end`; returns the break reason as an integer.
    pub(crate) fn run(&self, mcycle_end: u64) -> Result<u32> {
        let mut reason = 0u32;
        // SAFETY: live handle; `reason` is a 4-byte out-parameter matching `cm_break_reason`.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_run)(self.ptr.as_ptr(), mcycle_end, &mut reason),
                Api::V21(api) => (api.cm_run)(self.ptr.as_ptr(), mcycle_end, &mut reason),
            }
        };
        check(self.lib, "cm_run", code).map(|()| reason)
    }

    /// `cm_receive_cmio_request` into `buf`; returns `(cmd, reason, length)`.
    pub(crate) fn receive(&self, buf: &mut [u8]) -> Result<(u8, u16, usize)> {
        let (mut cmd, mut reason) = (0u8, 0u16);
        let mut length = buf.len() as u64;
        // SAFETY: live handle; `buf` is writable for `length` bytes, the library writes at most
        // that many (it fails otherwise); the other pointers are valid out-parameters.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_receive_cmio_request)(
                    self.ptr.as_ptr(),
                    &mut cmd,
                    &mut reason,
                    buf.as_mut_ptr(),
                    &mut length,
                ),
                Api::V21(api) => (api.cm_receive_cmio_request)(
                    self.ptr.as_ptr(),
                    &mut cmd,
                    &mut reason,
                    buf.as_mut_ptr(),
                    &mut length,
                ),
            }
        };
        check(self.lib, "cm_receive_cmio_request", code)?;
        match usize::try_from(length) {
            Ok(len) if len <= buf.len() => Ok((cmd, reason, len)),
            _ => Err(Error::Protocol(format!("receive reported {length} bytes"))),
        }
    }

    /// `cm_send_cmio_response`; `revert` is the revert root hash (0.21 advances only).
    pub(crate) fn send(&self, reason: u16, data: &[u8], revert: Option<&Hash>) -> Result<()> {
        debug_assert!(data.len() <= CMIO_BUFFER_LEN);
        // SAFETY: live handle; `data` is readable for its length during the call; the hash, if
        // any, is a valid 32-byte array.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_send_cmio_response)(
                    self.ptr.as_ptr(),
                    reason,
                    data.as_ptr(),
                    data.len() as u64,
                ),
                Api::V21(api) => (api.cm_send_cmio_response)(
                    self.ptr.as_ptr(),
                    reason,
                    data.as_ptr(),
                    data.len() as u64,
                    revert.map_or(ptr::null(), |h| h as *const Hash),
                ),
            }
        };
        check(self.lib, "cm_send_cmio_response", code)
    }

    /// `cm_store` (0.21 with `SHARING_ALL`, which writes the current state).
    pub(crate) fn store(&self, dir: &CStr) -> Result<()> {
        // SAFETY: live handle; the path is valid for the call.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => (api.cm_store)(self.ptr.as_ptr(), dir.as_ptr()),
                Api::V21(api) => (api.cm_store)(self.ptr.as_ptr(), dir.as_ptr(), SHARING_ALL),
            }
        };
        check(self.lib, "cm_store", code)
    }

    /// `cm_read_memory` of exactly `length` bytes.
    pub(crate) fn read_memory(&self, address: u64, length: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(length)
            .map_err(|_| Error::Protocol(format!("memory range of {length} bytes")))?;
        let mut data = vec![0u8; len];
        // SAFETY: live handle; `data` is writable for `length` bytes.
        let code = unsafe {
            match self.lib.api() {
                Api::V19(api) => {
                    (api.cm_read_memory)(self.ptr.as_ptr(), address, data.as_mut_ptr(), length)
                }
                Api::V21(api) => {
                    (api.cm_read_memory)(self.ptr.as_ptr(), address, data.as_mut_ptr(), length)
                }
            }
        };
        check(self.lib, "cm_read_memory", code).map(|()| data)
    }

    /// The stub's serial of this handle (test double only).
    pub(crate) fn stub_serial(&self) -> Option<u64> {
        let hooks = self.lib.stub_hooks()?;
        // SAFETY: the stub hook only looks the pointer up in its registry.
        Some(unsafe { (hooks.serial)(self.ptr.as_ptr()) })
    }
}

/// `cm_sync_stored(NULL, dir)` (0.21).
pub(crate) fn sync_stored(lib: &'static Library, dir: &CStr) -> Result<()> {
    let Api::V21(api) = lib.api() else {
        return Err(Error::Unsupported {
            what: "cm_sync_stored on libcartesi 0.19",
        });
    };
    // SAFETY: a NULL machine is allowed; the path is valid for the call.
    let code = unsafe { (api.cm_sync_stored)(ptr::null(), dir.as_ptr()) };
    check(lib, "cm_sync_stored", code)
}

/// `cm_rename_stored(NULL, from, to)` (0.21): atomic, never replaces, fsyncs the parents.
pub(crate) fn rename_stored(lib: &'static Library, from: &CStr, to: &CStr) -> Result<()> {
    let Api::V21(api) = lib.api() else {
        return Err(Error::Unsupported {
            what: "cm_rename_stored on libcartesi 0.19",
        });
    };
    // SAFETY: a NULL machine is allowed; the paths are valid for the call.
    let code = unsafe { (api.cm_rename_stored)(ptr::null(), from.as_ptr(), to.as_ptr()) };
    check(lib, "cm_rename_stored", code)
}

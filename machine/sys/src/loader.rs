//! Opening libcartesi: path resolution, the version probe and the process-wide registry.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use libloading::os::unix::{Library as DlLibrary, RTLD_LOCAL, RTLD_NOW};

use crate::{Api, ApiV19, ApiV21, Generation, LoadError, StubHooks};

/// Bare names tried, in order, through the dynamic linker's search path when no path is given.
pub const SEARCH_NAMES: [&str; 3] = ["libcartesi.so", "libcartesi-0.21.so", "libcartesi-0.19.so"];

/// What was loaded, for diagnostics and manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryInfo {
    /// The path (canonicalised when it exists) or the bare name the library was opened from.
    pub path: PathBuf,
    /// The detected API generation.
    pub api: Generation,
    /// `(major, minor, patch)` from `cm_get_version`; `None` on 0.19, which cannot report it.
    pub version: Option<(u32, u32, u32)>,
    /// Whether this is the project's C test double (it exports `cm_stub_api_version`).
    pub is_stub: bool,
}

impl LibraryInfo {
    /// The version as text: `0.21.0`, or `0.19` when the patch level is unknown.
    pub fn version_string(&self) -> String {
        match self.version {
            Some((major, minor, patch)) => format!("{major}.{minor}.{patch}"),
            None => self.api.as_str().to_owned(),
        }
    }
}

/// A loaded, probed libcartesi. It is never unloaded (libcartesi has TLS destructors and worker
/// threads), so references to it are `'static` and every handle can keep one.
#[derive(Debug)]
pub struct Library {
    info: LibraryInfo,
    api: Api,
    stub: Option<StubHooks>,
    // Kept so the `dlopen` reference is never dropped; the whole struct is leaked.
    _dl: DlLibrary,
}

impl Library {
    /// Identification of the library.
    pub fn info(&self) -> &LibraryInfo {
        &self.info
    }

    /// The function table of the detected generation.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The stub-only hooks, when this is the project's test double.
    pub fn stub_hooks(&self) -> Option<&StubHooks> {
        self.stub.as_ref()
    }
}

/// Libraries opened so far, by the key they were opened with. Entries are leaked on purpose.
static REGISTRY: Mutex<Vec<(PathBuf, &'static Library)>> = Mutex::new(Vec::new());

/// Opens and probes libcartesi.
///
/// `path` is the configured library (the binary resolves `--libcartesi-path` /
/// `LIBCARTESI_PATH`; this crate never reads the environment). `None` tries [`SEARCH_NAMES`]
/// through the dynamic linker's search path. Opening the same path twice returns the same
/// library. The library is opened with `RTLD_NOW | RTLD_LOCAL` and never closed.
pub fn open(path: Option<&Path>) -> Result<&'static Library, LoadError> {
    let mut registry = REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let candidates: Vec<PathBuf> = match path {
        Some(path) => vec![std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())],
        None => SEARCH_NAMES.iter().map(PathBuf::from).collect(),
    };
    let mut last = None;
    for key in candidates {
        if let Some((_, lib)) = registry.iter().find(|(k, _)| *k == key) {
            return Ok(lib);
        }
        // SAFETY: loading a library runs its initialisers. libcartesi's are ordinary C++ static
        // constructors with no requirements on the caller; the library is never unloaded, so
        // its termination routines only run at process exit.
        match unsafe { DlLibrary::open(Some(key.as_path()), RTLD_NOW | RTLD_LOCAL) } {
            Ok(dl) => match probe(&dl, &key) {
                Ok((api, version, stub)) => {
                    let info = LibraryInfo {
                        path: key.clone(),
                        api: api.generation(),
                        version,
                        is_stub: stub.is_some(),
                    };
                    let lib: &'static Library = Box::leak(Box::new(Library {
                        info,
                        api,
                        stub,
                        _dl: dl,
                    }));
                    registry.push((key, lib));
                    return Ok(lib);
                }
                Err(err) => {
                    // Never `dlclose` a library that may be libcartesi (threads, TLS destructors).
                    std::mem::forget(dl);
                    return Err(err);
                }
            },
            Err(err) => last = Some((key, describe(&err))),
        }
    }
    let (path, message) = last.unwrap_or_else(|| (PathBuf::new(), "no candidate".to_owned()));
    Err(LoadError::Open { path, message })
}

/// The loader's error with its source chain (libloading keeps the `dlerror` text in the source).
fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Looks `name` up as a value of type `T`.
///
/// # Safety
/// `T` must be the exact type of the symbol (for functions, the exact C signature).
unsafe fn lookup<T: Copy>(dl: &DlLibrary, name: &str) -> Option<T> {
    // SAFETY: the caller guarantees `T` matches the symbol; the value is copied out and the
    // library outlives it (it is never unloaded).
    unsafe { dl.get::<T>(name).ok().map(|symbol| *symbol) }
}

/// What the probe found: the table, the version and the stub hooks.
type Probed = (Api, Option<(u32, u32, u32)>, Option<StubHooks>);

/// Identifies the generation and resolves its table.
fn probe(dl: &DlLibrary, path: &Path) -> Result<Probed, LoadError> {
    let path_buf = || path.to_path_buf();
    // SAFETY: `cm_get_version` is `uint64_t (void)` in every libcartesi that has it.
    let get_version: Option<unsafe extern "C" fn() -> u64> =
        unsafe { lookup(dl, "cm_get_version") };
    let (api, version) = if let Some(get_version) = get_version {
        // SAFETY: takes no arguments and has no side effects.
        let v = unsafe { get_version() };
        let major = u32::try_from(v / 1_000_000).unwrap_or(u32::MAX);
        let minor = (v / 1_000 % 1_000) as u32;
        let patch = (v % 1_000) as u32;
        if (major, minor) != (0, 21) {
            return Err(LoadError::UnsupportedVersion {
                path: path_buf(),
                major,
                minor,
                patch,
            });
        }
        (
            Api::V21(resolve_v21(dl, path)?),
            Some((major, minor, patch)),
        )
    } else if has(dl, "cm_load_new") && has(dl, "cm_get_memory_ranges") {
        (Api::V19(resolve_v19(dl, path)?), None)
    } else {
        return Err(LoadError::NotLibcartesi { path: path_buf() });
    };
    Ok((api, version, resolve_stub(dl)))
}

/// Whether a symbol exists, without giving it a type.
fn has(dl: &DlLibrary, name: &str) -> bool {
    // SAFETY: the symbol is only looked up as an opaque pointer, never called or dereferenced.
    unsafe { lookup::<*const std::ffi::c_void>(dl, name).is_some() }
}

/// Fills a table struct, one field per symbol of the same name, failing on the first missing one.
macro_rules! resolve_table {
    ($dl:expr, $path:expr, $generation:expr, $table:ident { $($field:ident),* $(,)? }) => {
        $table {
            $(
                // SAFETY: the field's type is the C signature of the symbol of the same name for
                // the probed generation (see the table definition).
                $field: unsafe { lookup($dl, stringify!($field)) }.ok_or_else(|| {
                    LoadError::MissingSymbol {
                        path: $path.to_path_buf(),
                        generation: $generation.as_str(),
                        name: stringify!($field),
                    }
                })?,
            )*
        }
    };
}

fn resolve_v19(dl: &DlLibrary, path: &Path) -> Result<ApiV19, LoadError> {
    Ok(resolve_table!(
        dl,
        path,
        Generation::V19,
        ApiV19 {
            cm_get_last_error_message,
            cm_create_new,
            cm_load_new,
            cm_store,
            cm_destroy,
            cm_delete,
            cm_set_runtime_config,
            cm_get_initial_config,
            cm_read_reg,
            cm_get_root_hash,
            cm_run,
            cm_receive_cmio_request,
            cm_send_cmio_response,
            cm_read_memory,
            cm_get_memory_ranges,
        }
    ))
}

fn resolve_v21(dl: &DlLibrary, path: &Path) -> Result<ApiV21, LoadError> {
    Ok(resolve_table!(
        dl,
        path,
        Generation::V21,
        ApiV21 {
            cm_get_version,
            cm_get_last_error_message,
            cm_create_new,
            cm_load_new,
            cm_store,
            cm_destroy,
            cm_delete,
            cm_set_runtime_config,
            cm_get_initial_config,
            cm_read_reg,
            cm_get_root_hash,
            cm_run,
            cm_receive_cmio_request,
            cm_send_cmio_response,
            cm_read_memory,
            cm_read_revert_root_hash,
            cm_rename_stored,
            cm_sync_stored,
            cm_remove_stored,
            cm_clone_stored,
        }
    ))
}

fn resolve_stub(dl: &DlLibrary) -> Option<StubHooks> {
    // SAFETY: each type is the C signature of the stub hook of that name (see `StubHooks`).
    unsafe {
        Some(StubHooks {
            api_version: lookup(dl, "cm_stub_api_version")?,
            serial: lookup(dl, "cm_stub_serial")?,
            delete_count: lookup(dl, "cm_stub_delete_count")?,
            live_count: lookup(dl, "cm_stub_live_count")?,
            bad_delete_count: lookup(dl, "cm_stub_bad_delete_count")?,
            inject: lookup(dl, "cm_stub_inject")?,
            inject_serial: lookup(dl, "cm_stub_inject_serial")?,
            inject_any: lookup(dl, "cm_stub_inject_any")?,
            inject_next: lookup(dl, "cm_stub_inject_next")?,
            perturb_load: lookup(dl, "cm_stub_perturb_load")?,
            store_count: lookup(dl, "cm_stub_store_count")?,
            load_count: lookup(dl, "cm_stub_load_count")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_open_error_with_dlerror_text() {
        let err = open(Some(Path::new("/nonexistent/libcartesi-test.so"))).unwrap_err();
        match err {
            LoadError::Open { path, message } => {
                assert_eq!(path, PathBuf::from("/nonexistent/libcartesi-test.so"));
                assert!(message.contains("libcartesi-test.so"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_non_cartesi_library_is_refused() {
        let err = open(Some(Path::new("libm.so.6"))).unwrap_err();
        assert!(matches!(err, LoadError::NotLibcartesi { .. }), "{err:?}");
        assert!(err.to_string().contains("libm.so.6"));
    }
}

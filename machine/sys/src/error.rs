//! Why a library could not be loaded.

use std::path::PathBuf;

/// A failure to open or identify libcartesi. Every variant is an operator problem: the
/// configured path (`--libcartesi-path` / `LIBCARTESI_PATH`) or the installation is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// `dlopen` failed; `message` is the `dlerror` text (it names a missing dependency, if any).
    #[error("cannot open libcartesi at {}: {message}", path.display())]
    Open {
        /// The path or bare name that was tried last.
        path: PathBuf,
        /// The dynamic loader's explanation.
        message: String,
    },
    /// The library reports a version this crate does not support (0.20, 0.22, …).
    #[error(
        "unsupported libcartesi version {major}.{minor}.{patch} at {}: supported API generations are 0.19 and 0.21",
        path.display()
    )]
    UnsupportedVersion {
        /// The library path.
        path: PathBuf,
        /// Major version.
        major: u32,
        /// Minor version.
        minor: u32,
        /// Patch version.
        patch: u32,
    },
    /// The library has neither `cm_get_version` nor the 0.19 symbol set.
    #[error("{} is not libcartesi 0.19 or 0.21 (no cm_get_version, no 0.19 symbols)", path.display())]
    NotLibcartesi {
        /// The library path.
        path: PathBuf,
    },
    /// A symbol required by the detected generation is missing.
    #[error("libcartesi {generation} at {} lacks the required symbol {name}", path.display())]
    MissingSymbol {
        /// The library path.
        path: PathBuf,
        /// The generation the probe detected.
        generation: &'static str,
        /// The missing symbol.
        name: &'static str,
    },
}

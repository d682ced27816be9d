//! The C API generations this crate binds, and what each one implies.

/// The C API generation of a loaded library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// libcartesi 0.19.x (`machine-c-api.h`).
    V19,
    /// libcartesi 0.21.x (`cm.h`).
    V21,
}

impl Generation {
    /// The `MIMPID`/`MARCHID` register value a machine of this generation reports.
    pub const fn mimpid(self) -> u64 {
        match self {
            Generation::V19 => 19,
            Generation::V21 => 21,
        }
    }

    /// The `archive_version` of stored machines written by this generation.
    pub const fn archive_version(self) -> u64 {
        match self {
            Generation::V19 => crate::ARCHIVE_VERSION_V19,
            Generation::V21 => crate::ARCHIVE_VERSION_V21,
        }
    }

    /// `"0.19"` or `"0.21"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Generation::V19 => "0.19",
            Generation::V21 => "0.21",
        }
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Register indices (`cm_reg`, passed as `u32`). Indices after `IUNREP` shift by one in 0.21,
//! which inserts `IMCYCLEMAX` at 98.

use crate::Generation;

/// The register indices of one API generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegTable {
    /// `pc`.
    pub pc: u32,
    /// `mvendorid`.
    pub mvendorid: u32,
    /// `marchid` (19 or 21).
    pub marchid: u32,
    /// `mimpid` (19 or 21): the post-load version check.
    pub mimpid: u32,
    /// `mcycle`.
    pub mcycle: u32,
    /// `iflags.X`: an automatic yield is pending.
    pub iflags_x: u32,
    /// `iflags.Y`: a manual yield is pending.
    pub iflags_y: u32,
    /// `iflags.H`: halted.
    pub iflags_h: u32,
    /// `iunrep`.
    pub iunrep: u32,
    /// `imcyclemax` (0.21 only).
    pub imcyclemax: Option<u32>,
    /// `htif.tohost`.
    pub htif_tohost: u32,
    /// `htif.fromhost`.
    pub htif_fromhost: u32,
    /// `htif.iyield`.
    pub htif_iyield: u32,
    /// `uarch.cycle`.
    pub uarch_cycle: u32,
}

const V19: RegTable = RegTable {
    pc: 64,
    mvendorid: 66,
    marchid: 67,
    mimpid: 68,
    mcycle: 69,
    iflags_x: 94,
    iflags_y: 95,
    iflags_h: 96,
    iunrep: 97,
    imcyclemax: None,
    htif_tohost: 101,
    htif_fromhost: 102,
    htif_iyield: 105,
    uarch_cycle: 139,
};

const V21: RegTable = RegTable {
    pc: 64,
    mvendorid: 66,
    marchid: 67,
    mimpid: 68,
    mcycle: 69,
    iflags_x: 94,
    iflags_y: 95,
    iflags_h: 96,
    iunrep: 97,
    imcyclemax: Some(98),
    htif_tohost: 102,
    htif_fromhost: 103,
    htif_iyield: 106,
    uarch_cycle: 140,
};

impl RegTable {
    /// The table of `generation`.
    pub const fn for_generation(generation: Generation) -> &'static RegTable {
        match generation {
            Generation::V19 => &V19,
            Generation::V21 => &V21,
        }
    }
}

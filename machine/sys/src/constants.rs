//! Numeric constants shared by both API generations unless the name says otherwise.

/// A byte count or address.
type U = u64;

/// `cm_run` break reason: written only on failure.
pub const BREAK_FAILED: u32 = 0;
/// `cm_run` break reason: the machine halted.
pub const BREAK_HALTED: u32 = 1;
/// `cm_run` break reason: manual yield.
pub const BREAK_YIELDED_MANUALLY: u32 = 2;
/// `cm_run` break reason: automatic yield.
pub const BREAK_YIELDED_AUTOMATICALLY: u32 = 3;
/// `cm_run` break reason: soft yield (only with the runtime `soft_yield` option).
pub const BREAK_YIELDED_SOFTLY: u32 = 4;
/// `cm_run` break reason: the target mcycle was reached.
pub const BREAK_REACHED_TARGET_MCYCLE: u32 = 5;
/// `cm_run` break reason (0.21 only): console output.
pub const BREAK_CONSOLE_OUTPUT: u32 = 6;
/// `cm_run` break reason (0.21 only): console input.
pub const BREAK_CONSOLE_INPUT: u32 = 7;
/// `cm_run` break reason (0.21 only): `mcycle` reached `imcyclemax`.
pub const BREAK_MCYCLE_OVERFLOW: u32 = 8;

/// A `cm_break_reason` as read through its `u32` out-parameter.
pub type BreakReason = u32;

/// HTIF device: halt.
pub const HTIF_DEV_HALT: u8 = 0;
/// HTIF device: console.
pub const HTIF_DEV_CONSOLE: u8 = 1;
/// HTIF device: yield.
pub const HTIF_DEV_YIELD: u8 = 2;

/// CMIO yield command: automatic.
pub const CMIO_YIELD_AUTOMATIC: u8 = 0;
/// CMIO yield command: manual.
pub const CMIO_YIELD_MANUAL: u8 = 1;
/// Automatic yield reason: progress (4 bytes, per-mille `u32` little-endian).
pub const CMIO_YIELD_AUTOMATIC_REASON_PROGRESS: u16 = 1;
/// Automatic yield reason: one output.
pub const CMIO_YIELD_AUTOMATIC_REASON_TX_OUTPUT: u16 = 2;
/// Automatic yield reason: one report.
pub const CMIO_YIELD_AUTOMATIC_REASON_TX_REPORT: u16 = 4;
/// Manual yield reason: the request was accepted.
pub const CMIO_YIELD_MANUAL_REASON_RX_ACCEPTED: u16 = 1;
/// Manual yield reason: the request was rejected.
pub const CMIO_YIELD_MANUAL_REASON_RX_REJECTED: u16 = 2;
/// Manual yield reason: the guest raised an exception.
pub const CMIO_YIELD_MANUAL_REASON_TX_EXCEPTION: u16 = 4;
/// Response reason: advance state.
pub const CMIO_YIELD_REASON_ADVANCE_STATE: u16 = 0;
/// Response reason: inspect state.
pub const CMIO_YIELD_REASON_INSPECT_STATE: u16 = 1;

/// Sharing mode (0.21): nothing shared, in memory with private mappings.
pub const SHARING_NONE: u32 = 0;
/// Sharing mode (0.21): as the config says.
pub const SHARING_CONFIG: u32 = 1;
/// Sharing mode (0.21): everything on disk.
pub const SHARING_ALL: u32 = 2;

/// CMIO receive (host to guest) buffer start.
pub const CMIO_RX_START: U = 0x6000_0000;
/// CMIO transmit (guest to host) buffer start.
pub const CMIO_TX_START: U = 0x6080_0000;
/// Size of each CMIO buffer and the maximum input, query, report, output or exception size.
pub const CMIO_BUFFER_LEN: usize = 1 << 21;
/// RAM start, which is also the reset PC.
pub const RAM_START: U = 0x8000_0000;
/// HTIF device address (`tohost` at +0, `fromhost` at +8).
pub const HTIF_START: U = 0x4000_8000;
/// Per-input cycle budget, default and maximum: `2^48 - 1`.
pub const MAX_MCYCLES_PER_INPUT: u64 = (1 << 48) - 1;
/// Default number of mcycles per `cm_run` call.
pub const DEFAULT_SLICE: u64 = 1 << 22;
/// `CM_MCYCLE_MAX`.
pub const MCYCLE_MAX: u64 = u64::MAX;
/// Size of a root hash.
pub const HASH_SIZE: usize = 32;
/// `archive_version` of 0.19 stored machines.
pub const ARCHIVE_VERSION_V19: u64 = 5;
/// `archive_version` of 0.20 stored machines (unsupported).
pub const ARCHIVE_VERSION_V20: u64 = 6;
/// `archive_version` of 0.21 stored machines.
pub const ARCHIVE_VERSION_V21: u64 = 7;

/// Selector of `Notice(bytes)` outputs.
pub const NOTICE_SELECTOR: [u8; 4] = [0xc2, 0x58, 0xd6, 0xe5];
/// Selector of `Voucher(address,uint256,bytes)` outputs.
pub const VOUCHER_SELECTOR: [u8; 4] = [0x23, 0x7a, 0x81, 0x6f];
/// Selector of `DelegateCallVoucher(address,bytes)` outputs.
pub const DELEGATE_CALL_VOUCHER_SELECTOR: [u8; 4] = [0x10, 0x32, 0x1e, 0x8b];
/// Root of the empty outputs Merkle tree (height 63).
pub const EMPTY_OUTPUTS_ROOT: [u8; 32] = [
    0x0a, 0x16, 0x29, 0x46, 0xe5, 0x61, 0x58, 0xba, 0xc0, 0x67, 0x3e, 0x6d, 0xd3, 0xbd, 0xfd, 0xc1,
    0xe4, 0xa0, 0xe7, 0x74, 0x4a, 0x12, 0x0f, 0xdb, 0x64, 0x00, 0x50, 0xc8, 0xd7, 0xab, 0xe1, 0xc6,
];

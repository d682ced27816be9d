//! Allocator tuning for the `sequencer-watchdog` process.
//!
//! glibc raises its mmap threshold after the first large buffer is freed (an `eth_getLogs`
//! response of about 1 MB), and later buffers of that size are then carved from the heap,
//! whose fragmented high-water mark stays: a long catch-up tick's peak memory grows with the
//! number of inputs although the tick keeps none of them (`BENCHMARKS.md`, section 3). A fixed
//! threshold keeps it flat. The binary calls [`pin_mmap_threshold`] once at start-up; the
//! library never does, as it must not change process-wide state on its own.

/// The fixed threshold: buffers of this size and above are mapped and returned on free.
pub const MMAP_THRESHOLD: usize = 64 * 1024;

/// glibc's own environment tunable; when the operator sets it, their value stands.
pub const MMAP_THRESHOLD_ENV: &str = "MALLOC_MMAP_THRESHOLD_";

/// Pins glibc's mmap threshold at [`MMAP_THRESHOLD`] unless [`MMAP_THRESHOLD_ENV`] is set.
/// Call it once, at start-up, before other threads allocate. Does nothing off glibc.
pub fn pin_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os(MMAP_THRESHOLD_ENV).is_none() {
        let threshold = libc::c_int::try_from(MMAP_THRESHOLD).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` only changes the allocator's tuning parameters; it takes plain
        // integers and touches no memory of ours. A failure (return 0) leaves glibc's default.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, threshold);
        }
    }
}

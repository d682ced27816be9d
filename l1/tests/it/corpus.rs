//! Replays the saved fuzz corpus (`l1/fuzz/corpus/log/`) through the log decoder and checks.
//!
//! The fuzz target needs a nightly toolchain and `cargo fuzz`; this keeps what it found running
//! on stable.

use std::path::Path;

use alloy::primitives::Address;

#[test]
fn log_corpus_replays_as_typed_problems() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/log");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let result = l1::check_log_json(
            &bytes,
            Address::repeat_byte(0x11),
            Address::repeat_byte(0x22),
            0,
            u64::MAX,
            0,
        );
        // None of the seeds is a valid InputAdded log: each must be refused, not accepted.
        assert!(result.is_err(), "{}", String::from_utf8_lossy(&bytes));
        count += 1;
    }
    assert!(count >= 5);
}

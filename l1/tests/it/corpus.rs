//! Replays the saved fuzz corpus (`l1/fuzz/corpus/log/`) through the log decoder and checks, as
//! the `log` target does, and checks that the seeds reach both ends: `seed-valid-*` logs pass
//! every check (so the target reaches `EvmAdvance` decoding and the checks after it) and
//! `seed-invalid-*` ones are refused with a typed problem.
//!
//! The fuzz target runs with `cargo fuzz` (`fuzz/run` at the workspace root); this keeps what
//! it found running on stable.

use std::path::Path;

use alloy::primitives::Address;

#[test]
fn log_seeds_reach_the_checks_and_their_refusals() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/log");
    let (mut valid, mut invalid) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let result = l1::check_log_json(
            &bytes,
            Address::repeat_byte(0x11),
            Address::repeat_byte(0x22),
            0,
            u64::MAX,
            0,
        );
        if name.starts_with("seed-valid-") {
            let input = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(input.advance.block_number, input.block_number);
            valid += 1;
        } else {
            assert!(result.is_err(), "{name} was accepted");
            invalid += 1;
        }
    }
    assert!(valid >= 1, "no seed reaches the success path");
    assert!(invalid >= 5);
}

#![no_main]
//! The fold over framed advances (a 2-byte length before each, `tests/it/fold_input.rs`): batches
//! reach sender recovery, validation, execution and fees whole; errors are `Fatal` values,
//! never panics.
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/fold_input.rs"]
mod fold_input;

fuzz_target!(|data: &[u8]| {
    fold_input::run(data);
});

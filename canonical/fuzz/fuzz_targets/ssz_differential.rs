#![no_main]
//! The SSZ codec against `ssz_rs` on the same bytes, for every SSZ type (snapshot in both
//! layouts, batch, frame, user op, method): the same acceptance and the same value.
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/it/ssz_oracle.rs"]
mod ssz_oracle;

fuzz_target!(|data: &[u8]| {
    ssz_oracle::check_all(data);
});

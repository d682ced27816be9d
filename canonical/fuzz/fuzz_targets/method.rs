#![no_main]
//! `Method::decode`: never panics; accepted bytes re-encode identically.
use canonical::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(method) = Method::decode(data) {
        assert_eq!(method.encode(), data);
    }
});

#![no_main]
//! `Batch::decode`: never panics; an accepted encoding is the only encoding.
use canonical::Batch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = Batch::decode(data) {
        assert_eq!(batch.encode(), data);
    }
});

#![no_main]
//! `EvmAdvance::decode`: never panics on hostile calldata.
use canonical::EvmAdvance;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(advance) = EvmAdvance::decode(data) {
        assert_eq!(EvmAdvance::decode(&advance.encode()).as_ref(), Ok(&advance));
    }
});

#![no_main]
//! `WalletSnapshot::decode`: never panics; whatever decodes re-encodes to something that decodes.
use canonical::WalletSnapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = WalletSnapshot::decode(data) {
        let again = WalletSnapshot::decode(&snapshot.encode()).expect("canonical form decodes");
        assert_eq!(again.balances.len(), snapshot.balances.len());
    }
});

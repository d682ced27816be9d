//! Replays the saved fuzz corpus (`canonical/fuzz/corpus/<target>/`) through every decoder.
//!
//! The fuzz targets themselves need a nightly toolchain and `cargo fuzz`; this test keeps what
//! they found running on stable.

use std::path::Path;

use canonical::{Batch, EngineState, EvmAdvance, Method, WalletSnapshot};

fn replay(target: &str, decode: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        decode(&bytes);
        count += 1;
    }
    count
}

#[test]
fn corpus_replays_without_panics() {
    let mut total = 0;
    total += replay("snapshot", |bytes| {
        if let Ok(snapshot) = WalletSnapshot::decode(bytes) {
            assert!(WalletSnapshot::decode(&snapshot.encode()).is_ok());
        }
    });
    total += replay("batch", |bytes| {
        if let Ok(batch) = Batch::decode(bytes) {
            assert_eq!(batch.encode(), bytes);
        }
    });
    total += replay("method", |bytes| {
        if let Ok(method) = Method::decode(bytes) {
            assert_eq!(method.encode(), bytes);
        }
    });
    total += replay("advance", |bytes| {
        let _ = EvmAdvance::decode(bytes);
    });
    total += replay("engine_state", |bytes| {
        if let Ok(state) = EngineState::decode(bytes) {
            assert_eq!(state.encode(), bytes);
        }
    });
    total += replay("fold", |bytes| {
        let mut engine = canonical::Engine::new(canonical::WalletConfig::devnet());
        let _ = engine.advance(bytes);
    });
    assert!(total >= 6, "the corpus holds at least one seed per target");
}

//! Replays the saved fuzz corpus (`sequencer-client/fuzz/corpus/`) through the finalized-state
//! body decoders: `seed-valid`, `seed-newest` and `seed-legacy` decode, everything else is a
//! typed error.

use std::path::Path;

use sequencer_client::{FinalizedDigest, FinalizedPoint};

fn replay(target: &str, decode: impl Fn(&[u8]) -> bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let valid = ["seed-valid", "seed-newest", "seed-legacy"].contains(&name.as_str());
        assert_eq!(
            decode(&std::fs::read(&path).unwrap()),
            valid,
            "{target}/{name}"
        );
        count += 1;
    }
    assert!(count >= 4, "{target}");
}

#[test]
fn finalized_corpus_replays() {
    replay("finalized_point", |b| FinalizedPoint::from_json(b).is_ok());
    replay("finalized_digest", |b| {
        FinalizedDigest::from_json(b).is_ok()
    });
}

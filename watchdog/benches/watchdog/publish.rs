//! Benchmark 2: a durable checkpoint publish ÷ a raw write + fsync of the same bytes.

use std::{
    fs::File,
    io::Write,
    time::{Duration, Instant},
};

use watchdog::state::{
    files::{HeadFile, ManifestFile},
    fsx,
    layout::{StateDir, checkpoint_name},
};

use crate::median;

fn head(block: u64) -> HeadFile {
    HeadFile {
        version: 1,
        checkpoint: format!("checkpoints/{}", checkpoint_name(block, block)),
        block,
        input_count: block,
        state_sha256: "00".repeat(32),
        block_hash: format!("0x{}", "11".repeat(32)),
        agreed: true,
    }
}

fn manifest(block: u64) -> ManifestFile {
    ManifestFile {
        version: 1,
        block,
        input_count: block,
        block_hash: format!("0x{}", "11".repeat(32)),
        state_sha256: "00".repeat(32),
        machine_backend: "native".into(),
        machine_root_hash: None,
        libcartesi_version: None,
        native_sha256: Some("22".repeat(32)),
        origin: "agreed".into(),
        created_at: "2026-09-21T14:13:20Z".into(),
    }
}

/// For each size: `rounds` interleaved pairs of (workspace + `machine/native.bin` written and
/// fsynced + `StateDir::publish`) and (one new file written + `sync_all`). GC of the previous
/// checkpoint and removal of the raw file are outside the timed spans.
pub(crate) fn run(rounds: usize) {
    let tmp = crate::tempdir("watchdog-bench-publish-");
    let dir = StateDir::new(tmp.path().join("state"));
    dir.ensure().unwrap();
    let raw_dir = tmp.path().join("raw");
    std::fs::create_dir(&raw_dir).unwrap();
    let engine_state = canonical::Engine::new(canonical::WalletConfig::devnet())
        .state()
        .encode();
    let mut block = 10;
    for size in [engine_state.len(), 1 << 20, 16 << 20] {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let (mut publishes, mut raws) = (Vec::new(), Vec::new());
        for round in 0..rounds + 2 {
            block += 1;
            let start = Instant::now();
            let ws = dir.new_workspace().unwrap();
            fsx::create_dir(&ws.join("machine")).unwrap();
            fsx::write_new(&ws.join("machine").join("native.bin"), &bytes).unwrap();
            dir.publish(&ws, &manifest(block), &head(block)).unwrap();
            let publish = start.elapsed();
            dir.gc(Some(&head(block))).unwrap();

            let path = raw_dir.join("native.bin");
            let start = Instant::now();
            let mut file = File::create(&path).unwrap();
            file.write_all(&bytes).unwrap();
            file.sync_all().unwrap();
            drop(file);
            let raw = start.elapsed();
            std::fs::remove_file(&path).unwrap();
            if round >= 2 {
                publishes.push(publish);
                raws.push(raw);
            }
        }
        let (p, r): (Duration, Duration) = (median(&mut publishes), median(&mut raws));
        println!(
            "publish: {size:>9} B  publish median {:>9.1} µs  raw write+fsync median {:>9.1} µs  ratio {:.2}",
            p.as_secs_f64() * 1e6,
            r.as_secs_f64() * 1e6,
            p.as_secs_f64() / r.as_secs_f64()
        );
    }
}

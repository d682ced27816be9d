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
use crate::scale::{Workload, engine};
use canonical::{Engine, WalletConfig};

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
        template_hash: None,
    }
}

/// For each size: `rounds` interleaved pairs of (workspace + `machine/native.bin` written and
/// fsynced + `StateDir::publish`) and (one new file written + `sync_all`). GC of the previous
/// checkpoint and removal of the raw file are outside the timed spans.
///
/// Sizes: the genesis engine state, the engine state after `inputs` inputs of each scale
/// workload (what a native checkpoint's `native.bin` holds in practice), 1 MiB and 16 MiB.
/// For the three engine states, a second line times what an agreeing tick does from its
/// extracted state to the new head: `scratch/canonical_state.bin` written and moved to
/// `state.bin`, the native machine stored (`machine::store_engine_state`), then
/// `StateDir::publish`; its raw baseline is one file holding the same bytes (`native.bin` plus
/// the wallet snapshot).
pub(crate) fn run(rounds: usize, inputs: u64) {
    let tmp = crate::tempdir("watchdog-bench-publish-");
    let dir = StateDir::new(tmp.path().join("state"));
    dir.ensure().unwrap();
    let raw_dir = tmp.path().join("raw");
    std::fs::create_dir(&raw_dir).unwrap();
    let engines = [
        (
            "genesis engine state".to_owned(),
            Engine::new(WalletConfig::devnet()),
        ),
        (
            format!("engine state, {inputs} steady inputs"),
            engine(Workload::Steady, inputs),
        ),
        (
            format!("engine state, {inputs} growing inputs"),
            engine(Workload::Growing, inputs),
        ),
    ];
    let synthetic = |size: usize| -> Vec<u8> { (0..size).map(|i| (i * 31 % 251) as u8).collect() };
    let mut block = 10;
    for (what, engine) in &engines {
        let native = engine.state().encode();
        block = measure(&dir, &raw_dir, rounds, block, what, &native, |ws| {
            fsx::create_dir(&ws.join("machine")).unwrap();
            fsx::write_new(&ws.join("machine").join("native.bin"), &native).unwrap();
        });
        let snapshot = engine.snapshot().encode();
        let both = [native.as_slice(), snapshot.as_slice()].concat();
        let label = format!("{what}, as a tick publishes it");
        block = measure(&dir, &raw_dir, rounds, block, &label, &both, |ws| {
            let scratch = ws.join("scratch");
            fsx::create_dir(&scratch).unwrap();
            fsx::write_new(&scratch.join("canonical_state.bin"), &snapshot).unwrap();
            fsx::rename_in(&scratch.join("canonical_state.bin"), &ws.join("state.bin")).unwrap();
            fsx::remove_any(&scratch).unwrap();
            machine::store_engine_state(engine.state(), &ws.join("machine")).unwrap();
        });
    }
    for size in [1 << 20, 16 << 20] {
        let bytes = synthetic(size);
        block = measure(&dir, &raw_dir, rounds, block, "synthetic", &bytes, |ws| {
            fsx::create_dir(&ws.join("machine")).unwrap();
            fsx::write_new(&ws.join("machine").join("native.bin"), &bytes).unwrap();
        });
    }
}

/// Times `rounds` interleaved pairs of (a workspace filled by `fill`, then published) and (a
/// raw write + `sync_all` of `raw`), after two untimed rounds; prints the medians. Returns the
/// next unused block number.
fn measure(
    dir: &StateDir,
    raw_dir: &std::path::Path,
    rounds: usize,
    mut block: u64,
    what: &str,
    raw: &[u8],
    fill: impl Fn(&std::path::Path),
) -> u64 {
    let (mut publishes, mut raws) = (Vec::new(), Vec::new());
    for round in 0..rounds + 2 {
        block += 1;
        let start = Instant::now();
        let ws = dir.new_workspace().unwrap();
        fill(&ws);
        dir.publish(&ws, &manifest(block), &head(block)).unwrap();
        let publish = start.elapsed();
        dir.gc(Some(&head(block))).unwrap();

        let path = raw_dir.join("native.bin");
        let start = Instant::now();
        let mut file = File::create(&path).unwrap();
        file.write_all(raw).unwrap();
        file.sync_all().unwrap();
        drop(file);
        let raw_time = start.elapsed();
        std::fs::remove_file(&path).unwrap();
        if round >= 2 {
            publishes.push(publish);
            raws.push(raw_time);
        }
    }
    let (p, r): (Duration, Duration) = (median(&mut publishes), median(&mut raws));
    println!(
        "publish: {:>9} B ({what})  publish median {:>9.1} µs  raw write+fsync median {:>9.1} µs  ratio {:.2}",
        raw.len(),
        p.as_secs_f64() * 1e6,
        r.as_secs_f64() * 1e6,
        p.as_secs_f64() / r.as_secs_f64()
    );
    block
}

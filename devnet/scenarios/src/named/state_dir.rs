//! Watchdog state-directory faults: a held lock, corrupt or missing files, loose permissions,
//! a torn publish. Each is an operator matter (exit 1) or is repaired, never a divergence.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::common::{ALICE, BOB, agree};
use crate::{Checks, Harness};

fn flip_byte(path: &Path) -> Result<()> {
    let mut bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let last = bytes.len().checked_sub(1).context("empty file")?;
    bytes[last] ^= 0xff;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Whether some process holds a lock on the file with this inode (read-only probe).
fn lock_held(inode: u64) -> bool {
    std::fs::read_to_string("/proc/locks")
        .map(|locks| {
            locks
                .lines()
                .any(|line| line.contains(&format!(":{inode} ")))
        })
        .unwrap_or(false)
}

/// `concurrent-ticks`: a tick while another holds the lock → 1 `lock_busy`, nothing written;
/// the first tick agrees.
pub(super) async fn concurrent_ticks(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    // The first tick parks in its sequencer poll until the faults change.
    h.set_faults(&["stall"]).await?;
    let inode = std::fs::metadata(h.state_dir.join("run.lock"))?.ino();
    let first = h.spawn_tick();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lock_held(inode) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the first tick never took the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // What a tick may write; the first tick is parked in the stalled sequencer poll.
    let files = ["head.json", "last_tick.json", "status.prom"];
    let snapshot = |dir: &Path| files.map(|f| std::fs::read(dir.join(f)).ok());
    let before = snapshot(&h.state_dir);
    let second = h.tick().await?;
    let after = snapshot(&h.state_dir);
    checks.run("second tick", &second, 1, "failed", Some("lock_busy"));
    checks.events("no event", &second, 0, "-");
    checks.that(
        "the busy tick wrote nothing",
        "head.json, last_tick.json, status.prom unchanged",
        if before == after {
            "unchanged"
        } else {
            "changed"
        },
        before == after,
    );
    h.set_faults(&[]).await?;
    let first = first.await??;
    checks.run("first tick", &first, 0, "agreed", None);
    Ok(())
}

/// `corrupt-checkpoint`: a flipped `native.bin`, a deleted `head.json`, a 0777 state dir →
/// 1 `checkpoint_corrupt` / `missing_head` / `unsafe_permissions`; repaired → agreement.
pub(super) async fn corrupt_checkpoint(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let head: serde_json::Value =
        serde_json::from_slice(&std::fs::read(h.state_dir.join("head.json"))?)?;
    let checkpoint = h
        .state_dir
        .join(head["checkpoint"].as_str().context("checkpoint")?);
    let native = checkpoint.join("machine/native.bin");
    flip_byte(&native)?;
    let tick = h.tick().await?;
    checks.run(
        "flipped native.bin",
        &tick,
        1,
        "failed",
        Some("checkpoint_corrupt"),
    );
    flip_byte(&native)?;
    let saved = std::fs::read(h.state_dir.join("head.json"))?;
    std::fs::remove_file(h.state_dir.join("head.json"))?;
    let tick = h.tick().await?;
    checks.run(
        "deleted head.json",
        &tick,
        1,
        "failed",
        Some("missing_head"),
    );
    std::fs::write(h.state_dir.join("head.json"), saved)?;
    std::fs::set_permissions(&h.state_dir, std::fs::Permissions::from_mode(0o777))?;
    let tick = h.tick().await?;
    checks.run(
        "state dir mode 0777",
        &tick,
        1,
        "failed",
        Some("unsafe_permissions"),
    );
    std::fs::set_permissions(&h.state_dir, std::fs::Permissions::from_mode(0o700))?;
    let tick = h.tick().await?;
    checks.run("repaired", &tick, 0, "agreed", None);
    Ok(())
}

/// Plants what a crashed publish leaves: a partial `.tmp-*` workspace and an unreferenced
/// checkpoint. Returns both paths.
fn plant_leftovers(h: &Harness) -> Result<[PathBuf; 2]> {
    let checkpoints = h.state_dir.join("checkpoints");
    let partial = checkpoints.join(".tmp-01TORNPUBLISH0000000000000");
    std::fs::create_dir_all(partial.join("machine"))?;
    std::fs::write(partial.join("machine/native.bin"), b"partial")?;
    let orphan = checkpoints.join(format!("{:020}-{:020}", 999_999, 42));
    std::fs::create_dir_all(&orphan)?;
    Ok([partial, orphan])
}

/// The `checkpoints/.tmp-*` workspaces left in the state directory.
fn workspaces(state_dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(state_dir.join("checkpoints"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            found.push(name);
        }
    }
    Ok(found)
}

/// `torn-publish`: a partial `.tmp-*` workspace and an unreferenced checkpoint → the next tick
/// agrees and collects both; `status` stays readable.
pub(super) async fn torn_publish(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    let leftovers = plant_leftovers(h)?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.tick().await?;
    checks.run("tick after a torn publish", &tick, 0, "agreed", None);
    collected(checks, &leftovers);
    let status = h.watchdog(&["status"]).await?;
    checks.run("status", &status, 0, "ok", None);
    Ok(())
}

fn collected(checks: &mut Checks, leftovers: &[PathBuf]) {
    let left = leftovers.iter().any(|p| p.exists());
    checks.that(
        "leftovers collected",
        "none left",
        if left { "still there" } else { "none left" },
        !left,
    );
}

/// Rounds of the kill-loop.
const KILL_ROUNDS: usize = 8;
/// The longest seeded delay before a tick is killed (ms): a tick here takes about as long
/// (process start included), so kills land anywhere from start-up to publish, and some
/// ticks finish first.
const MAX_KILL_DELAY_MS: u64 = 150;

/// `checkpoint-publish-crash`: a seeded kill-loop (while the sequencer advances, ticks are
/// SIGKILLed after a delay drawn from the `(seed, "kill-loop")` stream), then a torn publish.
/// A killed tick may have done anything short of a divergence; afterwards `status` is
/// readable, the next tick agrees, and no workspace or planted leftover survives it.
pub(super) async fn checkpoint_publish_crash(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    // Funds for a transfer (and its fee) per round.
    h.deposit(ALICE, 1_000_000).await?;
    let inode = std::fs::metadata(h.state_dir.join("run.lock"))?.ino();
    let mut stream = h.seed.stream("kill-loop");
    for round in 0..KILL_ROUNDS {
        h.transfer(ALICE, BOB, 1_000 + round as u64).await?;
        let delay = stream.below(MAX_KILL_DELAY_MS + 1);
        let tick = h.spawn_tick();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        // Dropping the running command kills the process (SIGKILL).
        tick.abort();
        let fate = match tick.await {
            Ok(Ok(run)) => format!("finished first, exit {:?}", run.exit_code),
            Ok(Err(e)) => format!("failed to run: {e:#}"),
            Err(_) => "killed".to_owned(),
        };
        h.note(format!("kill-loop round {round}: after {delay} ms, {fate}"));
        wait_unlocked(inode).await?;
    }
    let torn = workspaces(&h.state_dir)?;
    h.note(format!("workspaces the kill-loop left: {torn:?}"));
    // New activity, so the next tick has work whether or not the last killed tick finished.
    h.transfer(ALICE, BOB, 1_000).await?;
    let leftovers = plant_leftovers(h)?;
    let status = h.watchdog(&["status"]).await?;
    checks.run("status after the kill-loop", &status, 0, "ok", None);
    let tick = h.tick().await?;
    checks.run("tick after the kill-loop", &tick, 0, "agreed", None);
    collected(checks, &leftovers);
    let left = workspaces(&h.state_dir)?;
    checks.that(
        "no checkpoints/.tmp-* after the tick",
        "none",
        if left.is_empty() {
            "none".to_owned()
        } else {
            left.join(", ")
        },
        left.is_empty(),
    );
    let status = h.watchdog(&["status"]).await?;
    checks.run("status", &status, 0, "ok", None);
    let twos = h.runs().iter().filter(|r| r.exit_code == Some(2)).count();
    checks.that("never exit 2", "0 runs", format!("{twos} runs"), twos == 0);
    Ok(())
}

/// Waits (at most 10 s) until no process holds the lock file with this inode: a killed
/// tick's lock goes with its process.
async fn wait_unlocked(inode: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock_held(inode) {
        anyhow::ensure!(Instant::now() < deadline, "the lock outlived a killed tick");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

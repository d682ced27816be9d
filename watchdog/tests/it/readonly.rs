//! A read-only state directory: the tick cannot take `run.lock`, ends `internal/publish_failed`
//! (spec §7, "Bugs, I/O") and leaves every byte of the directory as it was; once writable
//! again, the next tick agrees.
//!
//! The directory is made read-only for real wherever possible: as root (which ignores file
//! modes) by a read-only bind mount in a private mount namespace (`unshare -m`) around the
//! binary, so nothing leaks into the host's mounts; as another user by taking every write bit
//! away. Only where neither is possible (root without `CAP_SYS_ADMIN`) is the failure
//! injected, through the `lock.open` fail point, as the `EROFS` the lock would get.

use std::{
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output},
};

use crate::rig::{Rig, tree, wallet_inputs};

/// How this run makes the state directory read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadOnly {
    /// A read-only bind mount in a private mount namespace.
    Mount,
    /// Modes without write bits (not root).
    Chmod,
    /// `FAILPOINTS=lock.open=return` (root, but mounting is not allowed).
    FailPoint,
}

/// Remounts `$1` read-only in a private mount namespace, then runs the rest of the arguments.
const REMOUNT: &str =
    "d=$1; shift; mount --bind \"$d\" \"$d\" && mount -o remount,bind,ro \"$d\" && exec \"$@\"";

fn how(probe: &Path) -> ReadOnly {
    if !rustix::process::geteuid().is_root() {
        return ReadOnly::Chmod;
    }
    let mounted = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", REMOUNT, "sh"])
        .arg(probe)
        .arg("true")
        .output()
        .is_ok_and(|o| o.status.success());
    if mounted {
        ReadOnly::Mount
    } else {
        ReadOnly::FailPoint
    }
}

/// Sets the mode of every directory under `root` (itself included) to `dirs` and of every
/// file to `files`.
fn chmod_tree(root: &Path, dirs: u32, files: u32) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            chmod_tree(&path, dirs, files);
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(files)).unwrap();
        }
    }
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(dirs)).unwrap();
}

/// `sequencer-watchdog tick` on the rig's state directory, made read-only the way `how` says.
fn tick_read_only(rig: &Rig, how: ReadOnly) -> Output {
    let bin = env!("CARGO_BIN_EXE_sequencer-watchdog");
    let mut cmd = match how {
        ReadOnly::Mount => {
            let mut cmd = Command::new("unshare");
            cmd.args(["-m", "--propagation", "private", "sh", "-c", REMOUNT, "sh"])
                .arg(&rig.state)
                .args([bin, "tick"]);
            cmd
        }
        ReadOnly::Chmod | ReadOnly::FailPoint => {
            let mut cmd = Command::new(bin);
            cmd.arg("tick");
            cmd
        }
    };
    rig.operator_env(&mut cmd);
    if how == ReadOnly::FailPoint {
        cmd.env("FAILPOINTS", "lock.open=return");
    }
    if how == ReadOnly::Chmod {
        chmod_tree(&rig.state, 0o500, 0o400);
    }
    let output = cmd.output().expect("run sequencer-watchdog");
    if how == ReadOnly::Chmod {
        chmod_tree(&rig.state, 0o700, 0o600);
    }
    output
}

#[test]
fn a_read_only_state_directory_is_publish_failed_and_stays_untouched() {
    let rig = Rig::initialized(wallet_inputs());
    // The sequencer is ahead: a writable tick would replay and publish.
    rig.serve_canonical(12);
    let how = how(rig.tmp.path());
    eprintln!("read-only state directory via {how:?}");
    if how == ReadOnly::FailPoint {
        // The injected error comes before any I/O, so "untouched" holds by construction here;
        // what this run still checks is the class, the reason and the single summary line.
        eprintln!("no mount rights as root: the filesystem itself is not exercised");
    }
    let before = tree(&rig.state, &[]);

    let output = tick_read_only(&rig, how);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{how:?}: {stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().count(),
        1,
        "{how:?}: one summary line: {stdout}"
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (summary["class"].as_str(), summary["reason"].as_str()),
        (Some("internal"), Some("publish_failed")),
        "{how:?}: {summary}"
    );
    assert!(
        summary["message"].as_str().unwrap().contains("run.lock"),
        "{how:?}: the error names the path: {summary}"
    );
    // Only a real read-only mount says so itself (the fail point writes the same words; modes
    // give "Permission denied").
    if how == ReadOnly::Mount {
        assert!(
            summary["message"]
                .as_str()
                .unwrap()
                .contains("Read-only file system"),
            "{how:?}: {summary}"
        );
    }
    assert!(!stderr.contains("watchdog_event"), "{how:?}: {stderr}");
    assert_eq!(
        tree(&rig.state, &[]),
        before,
        "{how:?}: not one byte of the state directory changed"
    );

    // Writable again: nothing was damaged, the next tick replays and agrees.
    let (summary, _) = rig.tick();
    assert_eq!(summary.outcome().as_str(), "agreed", "{}", summary.line());
}

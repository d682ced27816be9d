//! `backup` and `restore` against the loopback doubles: the round trip (backup, restore into a
//! new directory, the next tick agrees there as it does in the original), the lock, and every
//! kind of bad archive or target, each refused with its reason and nothing written.

use std::path::{Path, PathBuf};

use watchdog::{Summary, Watchdog, state::lock::RunLock};

use crate::rig::{B0, Rig, tree, wallet_inputs};

fn expect(summary: &Summary, outcome: &str, exit: u8) {
    assert_eq!(summary.outcome().as_str(), outcome, "{}", summary.line());
    assert_eq!(summary.exit_code(), exit, "{}", summary.line());
}

fn refused(result: watchdog::Result<Summary>, reason: &str) -> watchdog::Error {
    let error = result.expect_err("the command should fail");
    assert_eq!(error.reason().as_str(), reason, "{error}");
    assert_eq!(Summary::failed(Some("restore"), &error).exit_code(), 1);
    error
}

/// A rig whose head agreed at B0, and its backup.
fn backed_up() -> (Rig, PathBuf) {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(B0);
    expect(&rig.tick().0, "agreed", 0);
    let out = rig.tmp.path().join("backup.tar");
    let summary = rig.watchdog().backup(&out).unwrap();
    expect(&summary, "backed_up", 0);
    (rig, out)
}

/// A watchdog with the rig's settings on another state directory.
fn elsewhere(rig: &Rig, dir: &Path) -> Watchdog {
    let mut settings = rig.settings();
    settings.state_dir = Some(dir.to_path_buf());
    Watchdog::open(dir, settings).with_clock(std::sync::Arc::new(watchdog::FixedClock(0)))
}

#[test]
fn round_trip_restores_a_directory_the_next_tick_agrees_in() {
    let (rig, out) = backed_up();
    let archive = std::fs::read(&out).unwrap();
    let decoded = watchdog::backup::decode(&archive).unwrap();
    assert_eq!(decoded.head.block, B0);
    assert!(!decoded.manifest.latched);
    assert!(
        decoded
            .manifest
            .entries
            .iter()
            .any(|e| e.path.ends_with("/manifest.json"))
    );
    // No temp file is left beside the archive.
    assert_eq!(crate::rig::list(rig.tmp.path()), ["backup.tar", "state"]);

    let restored = rig.tmp.path().join("restored");
    let wd = elsewhere(&rig, &restored);
    let summary = wd.restore(&out).unwrap();
    expect(&summary, "restored", 0);
    assert!(
        summary.line().contains("\"head_block\":2"),
        "{}",
        summary.line()
    );
    for name in ["config.json", "head.json"] {
        assert_eq!(
            std::fs::read(restored.join(name)).unwrap(),
            std::fs::read(rig.state.join(name)).unwrap(),
            "{name}"
        );
    }

    // The sequencer moves on: both directories replay the same inputs and agree.
    rig.serve_canonical(12);
    let mut events = Vec::new();
    let there = wd.tick(&mut events);
    expect(&there, "agreed", 0);
    let here = rig.tick().0;
    expect(&here, "agreed", 0);
    assert!(
        there.line().contains("\"inputs_replayed\":5"),
        "{}",
        there.line()
    );
    assert_eq!(
        std::fs::read(restored.join("head.json")).unwrap(),
        std::fs::read(rig.state.join("head.json")).unwrap()
    );
}

#[test]
fn a_latched_incident_is_backed_up_and_restored_latched() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_tampered(12, 40);
    expect(&rig.tick().0, "diverged", 2);
    let out = rig.tmp.path().join("latched.tar");
    let summary = rig.watchdog().backup(&out).unwrap();
    assert!(
        summary.line().contains("\"latched\":true"),
        "{}",
        summary.line()
    );
    let restored = rig.tmp.path().join("restored");
    let wd = elsewhere(&rig, &restored);
    expect(&wd.restore(&out).unwrap(), "restored", 0);
    assert_eq!(
        tree(&restored.join("incident"), &[]),
        tree(&rig.state.join("incident"), &[])
    );
    expect(&wd.tick(&mut Vec::new()), "latched", 2);
}

#[test]
fn backup_never_races_a_tick() {
    let rig = Rig::initialized(wallet_inputs());
    let held = RunLock::try_acquire(&rig.state.join("run.lock")).unwrap();
    let out = rig.tmp.path().join("backup.tar");
    let error = rig.watchdog().backup(&out).unwrap_err();
    assert_eq!(error.reason().as_str(), "lock_busy");
    assert_eq!(error.class().as_str(), "operator");
    assert!(!out.exists());
    drop(held);
    expect(&rig.watchdog().backup(&out).unwrap(), "backed_up", 0);
}

#[test]
fn backup_refuses_an_uninitialized_directory_and_an_output_inside_it() {
    let rig = Rig::new(wallet_inputs());
    std::fs::create_dir(&rig.state).unwrap();
    let out = rig.tmp.path().join("backup.tar");
    let error = rig.watchdog().backup(&out).unwrap_err();
    assert_eq!(error.reason().as_str(), "incomplete_state", "{error}");
    let rig = Rig::initialized(wallet_inputs());
    for inside in [
        rig.state.join("b.tar"),
        rig.state.join("checkpoints/../b.tar"),
        rig.tmp.path().join("state/./incidents-b.tar"),
    ] {
        let error = rig.watchdog().backup(&inside).unwrap_err();
        assert_eq!(error.reason().as_str(), "usage", "{error}");
    }
    let error = rig
        .watchdog()
        .backup(&rig.tmp.path().join("missing/b.tar"))
        .unwrap_err();
    assert_eq!(error.reason().as_str(), "usage", "{error}");
}

/// The archive's entries as (path, type, bytes).
fn entries(archive: &[u8]) -> Vec<(String, tar::EntryType, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let kind = entry.header().entry_type();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        out.push((path, kind, bytes));
    }
    out
}

/// A tar of `entries` with names written raw (no checks), links pointing at `/etc/passwd`.
fn raw_tar(entries: &[(String, tar::EntryType, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        let name = &mut header.as_gnu_mut().unwrap().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        if kind.is_symlink() || kind.is_hard_link() {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Restoring `archive` into a new directory and into an empty one fails with `reason`, and
/// neither is written.
fn refuse_archive(rig: &Rig, name: &str, archive: &[u8], reason: &str) {
    let file = rig.tmp.path().join(format!("{name}.tar"));
    std::fs::write(&file, archive).unwrap();
    assert_eq!(
        watchdog::backup::decode(archive)
            .map(|_| ())
            .unwrap_err()
            .reason(),
        reason,
        "{name}"
    );
    let missing = rig.tmp.path().join(format!("{name}-new"));
    refused(elsewhere(rig, &missing).restore(&file), reason);
    assert!(!missing.exists(), "{name}: a new directory was created");
    let empty = rig.tmp.path().join(format!("{name}-empty"));
    std::fs::create_dir(&empty).unwrap();
    refused(elsewhere(rig, &empty).restore(&file), reason);
    assert!(
        tree(&empty, &[]).is_empty(),
        "{name}: the directory was written"
    );
}

#[test]
fn corrupt_unsafe_and_foreign_archives_are_refused_and_nothing_is_written() {
    let (rig, out) = backed_up();
    let good = std::fs::read(&out).unwrap();
    let parsed = entries(&good);

    // Truncated: before the manifest, inside it, inside the checkpoint, inside a header.
    let manifest_at = find(&good, b"backup.json").unwrap();
    for (name, len) in [
        ("truncated-before-manifest", manifest_at),
        ("truncated-manifest", manifest_at + 512 + 10),
        ("truncated-middle", good.len() / 2),
        ("truncated-header", 100),
    ] {
        refuse_archive(&rig, name, &good[..len], "archive_corrupt");
    }
    refuse_archive(&rig, "empty", b"", "archive_foreign");

    // Flipped bytes: in config.json's data, in a header (its checksum), everywhere at a stride.
    let config_at = find(&good, b"{\"version\":3").unwrap();
    let mut flipped = good.clone();
    flipped[config_at + 20] ^= 0x01;
    refuse_archive(&rig, "flipped-config", &flipped, "archive_corrupt");
    let mut flipped = good.clone();
    flipped[10] ^= 0x20;
    refuse_archive(&rig, "flipped-header", &flipped, "archive_corrupt");
    for at in (0..good.len()).step_by(good.len() / 37) {
        let mut flipped = good.clone();
        flipped[at] ^= 0x80;
        if let Ok(decoded) = watchdog::backup::decode(&flipped) {
            // Only padding and unused header bytes may change without notice.
            assert_eq!(
                decoded.manifest,
                watchdog::backup::decode(&good).unwrap().manifest
            );
        }
    }

    // Unsafe entries, placed first so they are seen before anything else.
    let with = |extra: (String, tar::EntryType, Vec<u8>)| {
        let mut list = vec![extra];
        list.extend(parsed.iter().cloned());
        raw_tar(&list)
    };
    let file = tar::EntryType::Regular;
    for (name, entry) in [
        ("dotdot", ("../evil".to_owned(), file, b"x".to_vec())),
        ("absolute", ("/etc/evil".to_owned(), file, b"x".to_vec())),
        (
            "nested-dotdot",
            ("incident/../../evil".to_owned(), file, b"x".to_vec()),
        ),
        ("stranger", ("evil.sh".to_owned(), file, b"x".to_vec())),
        (
            "symlink",
            (
                "config.json".to_owned(),
                tar::EntryType::Symlink,
                Vec::new(),
            ),
        ),
        (
            "hardlink",
            ("head.json".to_owned(), tar::EntryType::Link, Vec::new()),
        ),
        (
            "device",
            ("incident".to_owned(), tar::EntryType::Char, Vec::new()),
        ),
        ("orphan", ("incidents/x/y".to_owned(), file, b"x".to_vec())),
    ] {
        refuse_archive(&rig, name, &with(entry), "archive_unsafe_entry");
    }
    let mut duplicated = parsed.clone();
    duplicated.insert(1, parsed[0].clone());
    refuse_archive(
        &rig,
        "duplicate",
        &raw_tar(&duplicated),
        "archive_unsafe_entry",
    );

    // Well-formed tar streams that are not our backups.
    let mut foreign = parsed.clone();
    let last = foreign.len() - 1;
    foreign[last].2 = br#"{"format":"something-else","version":1}"#.to_vec();
    refuse_archive(
        &rig,
        "foreign-format",
        &raw_tar(&foreign),
        "archive_foreign",
    );
    let mut newer = parsed.clone();
    let text = String::from_utf8(newer[last].2.clone()).unwrap();
    newer[last].2 = text
        .replacen("\"version\":1", "\"version\":9", 1)
        .into_bytes();
    refuse_archive(&rig, "newer-version", &raw_tar(&newer), "archive_foreign");
    let mut unlisted = parsed.clone();
    unlisted.insert(
        last,
        (
            "incidents".to_owned(),
            tar::EntryType::Directory,
            Vec::new(),
        ),
    );
    refuse_archive(
        &rig,
        "unlisted-entry",
        &raw_tar(&unlisted),
        "archive_corrupt",
    );
    let mut no_manifest = parsed.clone();
    no_manifest.pop();
    refuse_archive(
        &rig,
        "no-manifest",
        &raw_tar(&no_manifest),
        "archive_corrupt",
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn another_application_or_chain_and_a_busy_target_are_refused() {
    let (rig, out) = backed_up();

    // The settings name another chain, or another application.
    let target = rig.tmp.path().join("other");
    let mut settings = rig.settings();
    settings.state_dir = Some(target.clone());
    settings.chain_id = Some(1);
    refused(
        Watchdog::open(&target, settings.clone()).restore(&out),
        "identity_mismatch",
    );
    settings.chain_id = None;
    settings.app_address = Some(alloy_primitives::Address::repeat_byte(0x77));
    refused(
        Watchdog::open(&target, settings).restore(&out),
        "identity_mismatch",
    );
    assert!(!target.exists());

    // The target holds a config.json of another application.
    std::fs::create_dir(&target).unwrap();
    let config = rig.file("config.json").replace(
        &format!("{:#x}", watchdog::testing::l1::APP),
        "0x7777777777777777777777777777777777777777",
    );
    std::fs::write(target.join("config.json"), config).unwrap();
    let before = tree(&target, &[]);
    let wd = Watchdog::open(&target, watchdog::Settings::default());
    refused(wd.restore(&out), "identity_mismatch");
    assert_eq!(tree(&target, &[]), before);

    // A config.json of the same identity is fine.
    std::fs::write(target.join("config.json"), rig.file("config.json")).unwrap();
    expect(&wd.restore(&out).unwrap(), "restored", 0);

    // A target that is not empty: refused, untouched.
    let before = tree(&target, &[]);
    refused(wd.restore(&out), "target_not_empty");
    assert_eq!(tree(&target, &[]), before);
    refused(rig.watchdog().restore(&out), "target_not_empty");

    // A missing archive file is an operator's read error.
    let empty = rig.tmp.path().join("fresh");
    refused(
        elsewhere(&rig, &empty).restore(&rig.tmp.path().join("nope.tar")),
        "decode_failed",
    );
    assert!(!empty.exists());
}

/// The binary: `backup` and `restore` print one summary line and exit 0, then 1 on a busy
/// target; neither ever exits 2.
#[test]
fn cli_backup_and_restore() {
    let rig = Rig::initialized(wallet_inputs());
    let out = rig.tmp.path().join("cli.tar");
    let run = |args: &[&str], state: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
        rig.operator_env(&mut cmd)
            .env("CARTESI_WATCHDOG_STATE_DIR", state)
            .args(args);
        let output = cmd.output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        (output.status.code().unwrap(), stdout)
    };
    let out_arg = out.to_str().unwrap();
    let (code, line) = run(&["backup", "--out", out_arg], &rig.state);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.contains(r#""command":"backup","outcome":"backed_up""#),
        "{line}"
    );
    let restored = rig.tmp.path().join("cli-restored");
    let (code, line) = run(&["restore", "--from", out_arg], &restored);
    assert_eq!(code, 0, "{line}");
    assert!(line.contains(r#""outcome":"restored""#), "{line}");
    let (code, line) = run(&["restore", "--from", out_arg], &restored);
    assert_eq!(code, 1, "{line}");
    assert!(line.contains(r#""reason":"target_not_empty""#), "{line}");
}

/// Writes the fuzz seeds of the `archive` target (with `WATCHDOG_BLESS=1`) and replays the
/// saved corpus through the decoder: `valid-*` seeds decode, every other one is refused with
/// a typed error, none panics.
#[test]
fn archive_fuzz_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/archive");
    if std::env::var_os("WATCHDOG_BLESS").is_some() {
        let (_rig, out) = backed_up();
        let good = std::fs::read(out).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("valid-backup"), &good).unwrap();
        std::fs::write(dir.join("bad-truncated"), &good[..good.len() / 2]).unwrap();
        let mut flipped = good.clone();
        let at = find(&good, b"{\"version\":3").unwrap() + 20;
        flipped[at] ^= 1;
        std::fs::write(dir.join("bad-flipped"), flipped).unwrap();
    }
    let (mut valid, mut bad) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = watchdog::backup::decode(&std::fs::read(&path).unwrap());
        if name.starts_with("valid-") {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            valid += 1;
        } else {
            assert!(result.is_err(), "{name} was accepted");
            bad += 1;
        }
    }
    assert!(valid >= 1 && bad >= 2, "{valid} valid, {bad} bad seeds");
}

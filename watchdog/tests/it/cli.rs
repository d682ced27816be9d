//! --version, --help, usage errors.

use crate::{golden::assert_golden, run, run_in, scratch};

#[test]
fn version_prints_the_release_line() {
    let r = run(&["--version"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["component"], "sequencer-watchdog");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["release_tag"], format!("v{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(v["libcartesi_api_versions"], serde_json::json!(["0.21"]));
    assert_eq!(
        v["machine_backends"],
        serde_json::json!(["native", "cartesi"])
    );
    let commit = v["git_commit"].as_str().unwrap();
    assert!(commit == "unknown" || commit.len() == 40, "{commit}");
    let keys: Vec<&str> = ["component", "version", "release_tag", "git_commit"]
        .into_iter()
        .collect();
    let mut at = 0;
    for key in keys {
        at += r.stdout[at..].find(&format!("\"{key}\"")).expect(key);
    }
    assert!(r.stderr.is_empty());

    let short = run(&["-V"]);
    assert_eq!(short.stdout, r.stdout);
    let by_env = run_in(
        &scratch(),
        &["snapshot", "decode", "whatever"],
        &[("CARTESI_WATCHDOG_PRINT_RELEASE_INFO", "1")],
        b"",
    );
    assert_eq!(by_env.code, 0);
    assert_eq!(by_env.stdout, r.stdout);
}

#[test]
fn help_texts_are_pinned() {
    for (args, golden) in [
        (&["--help"][..], "help.txt"),
        (&["l1", "scan", "--help"][..], "help-l1-scan.txt"),
        (
            &["snapshot", "decode", "--help"][..],
            "help-snapshot-decode.txt",
        ),
        (
            &["snapshot", "diff", "--help"][..],
            "help-snapshot-diff.txt",
        ),
        (&["init", "--help"][..], "help-init.txt"),
        (&["tick", "--help"][..], "help-tick.txt"),
        (&["status", "--help"][..], "help-status.txt"),
        (&["clear", "--help"][..], "help-clear.txt"),
        (&["replay", "--help"][..], "help-replay.txt"),
        (&["backup", "--help"][..], "help-backup.txt"),
        (&["restore", "--help"][..], "help-restore.txt"),
        (&["doctor", "--help"][..], "help-doctor.txt"),
    ] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stderr.is_empty());
        assert_golden(golden, &r.stdout);
    }
}

#[test]
fn usage_errors_exit_1_with_a_summary_and_a_hint() {
    let cases: [(&[&str], &str); 4] = [
        (&["snapshot", "decode"], "usage-missing-arg.jsonl"),
        (&["frobnicate"], "usage-unknown-command.jsonl"),
        (&[], "usage-no-command.jsonl"),
        (
            &["l1", "scan", "--from", "x", "--to", "1"],
            "usage-bad-value.jsonl",
        ),
    ];
    for (args, golden) in cases {
        let r = run(args);
        assert_eq!(r.code, 1, "{args:?}");
        assert_eq!(r.stdout.lines().count(), 1, "{args:?}: {}", r.stdout);
        assert_golden(golden, &r.stdout);
        let s = r.summary_json();
        assert_eq!(s["class"], "operator");
        assert_eq!(s["reason"], "usage");
        assert!(r.stderr.contains("error:"), "{}", r.stderr);
        assert!(
            r.stderr.lines().last().unwrap().starts_with("hint: "),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn invalid_log_format_env_is_config_invalid() {
    let r = run_in(
        &scratch(),
        &["snapshot", "decode", "x"],
        &[("CARTESI_WATCHDOG_LOG_FORMAT", "xml")],
        b"",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.summary_json()["reason"], "config_invalid");
}

#[test]
fn json_logs_go_to_stderr_only() {
    let r = run_in(
        &scratch(),
        &[
            "--log-format",
            "json",
            "snapshot",
            "decode",
            "no-such-file.bin",
        ],
        &[("RUST_LOG", "debug")],
        b"",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout.lines().count(), 1);
    let log = r
        .stderr
        .lines()
        .find(|l| l.contains("decode_failed"))
        .expect(&r.stderr);
    let v: serde_json::Value = serde_json::from_str(log).unwrap();
    assert_eq!(v["level"], "warn");
    assert_eq!(v["event"], "failed");
    assert_eq!(v["target"], "watchdog");
    assert_eq!(v["reason"], "decode_failed");
    assert!(v["message"].as_str().unwrap().contains("no-such-file.bin"));
    let mut at = 0;
    for key in [
        "ts", "level", "target", "event", "message", "class", "reason",
    ] {
        at += log[at..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key}: {log}"));
    }
    assert!(log.starts_with(r#"{"ts":""#), "{log}");
}

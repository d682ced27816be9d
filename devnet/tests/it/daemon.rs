//! The real `devnet` binary as a daemon: two named devnets detached side by side (no shared
//! port, file or lock), `list`, `status` through the control API, `logs`, `events` (recorded
//! and `--follow`), a crashed sequencer restarted with backoff events, a rolling `sequencer
//! restart --binary`, `down` twice, a detach that cannot become ready, and the orphan audit:
//! nothing of either run is left.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use devnet_stack::process::{group_exists, is_running, pids_with_run_id};
use rustix::process::Signal;
use serde_json::Value;

use crate::cli::{json_line, lone_devnet};
use crate::http::{get_json, poll};

/// `devnet --root ROOT --name NAME ARGS…`.
fn named(bin: &Path, root: &Path, name: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("--root")
        .arg(root)
        .args(["--name", name])
        .args(args)
        .env("DEVNET_LOG", "info")
        .env_remove("DEVNET_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    json_line(output)
}

fn event_kinds(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["kind"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn pid_of(status: &Value, component: &str) -> u32 {
    status["components"][component]["process"]["pid"]
        .as_u64()
        .unwrap()
        .try_into()
        .unwrap()
}

/// Processes whose environment holds `DEVNET_STATE_DIR=<dir>` (a detached supervisor's).
fn pids_with_state_dir(dir: &Path) -> Vec<u32> {
    let needle = format!("DEVNET_STATE_DIR={}", dir.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| is_running(p))
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|entry| entry == needle.as_bytes())
            })
        })
        .collect()
}

#[tokio::test]
async fn two_named_devnets_detach_restart_stream_and_go_down_without_orphans() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = lone_devnet(tmp.path());
    let root = tmp.path().join("devnets");

    let a = ok(&named(&bin, &root, "a", &["up", "--detach"]));
    let b = ok(&named(&bin, &root, "b", &["up", "--detach"]));
    for (status, name) in [(&a, "a"), (&b, "b")] {
        assert_eq!(status["state"], "ready");
        assert_eq!(status["running"], true);
        assert_eq!(status["source"], "control_api");
        assert_eq!(
            PathBuf::from(status["state_dir"].as_str().unwrap()),
            std::path::absolute(root.join(name)).unwrap()
        );
    }
    let dir_a = root.join("a");
    let dir_b = root.join("b");
    // Nothing shared: ports, processes, files.
    let ports: BTreeSet<String> = [&a, &b]
        .iter()
        .flat_map(|s| {
            [
                s["endpoints"]["l1_rpc"].as_str().unwrap().to_owned(),
                s["endpoints"]["sequencer"].as_str().unwrap().to_owned(),
                s["components"]["anvil"]["url"].as_str().unwrap().to_owned(),
                s["components"]["sequencer"]["url"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ]
        })
        .collect();
    assert_eq!(ports.len(), 8, "{ports:?}");
    assert_ne!(a["supervisor"]["pid"], b["supervisor"]["pid"]);
    for dir in [&dir_a, &dir_b] {
        let mode = std::fs::metadata(dir.join("control.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let pid: u32 = std::fs::read_to_string(dir.join("supervisor.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(is_running(pid));
    }
    let supervisor_a: u32 = a["supervisor"]["pid"].as_u64().unwrap().try_into().unwrap();
    let supervisor_b: u32 = b["supervisor"]["pid"].as_u64().unwrap().try_into().unwrap();
    // A detached supervisor leads its own session.
    let sid = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        rest.split_whitespace()
            .nth(3)
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(sid(supervisor_a), supervisor_a);
    // Both serve, each its own chain.
    for status in [&a, &b] {
        let point = get_json(
            status["endpoints"]["sequencer"].as_str().unwrap(),
            "/finalized_state/inclusion_block",
        )
        .await;
        assert_eq!(point["inclusion_block"], 0);
    }

    let list = ok(&named(&bin, &root, "default", &["list"]));
    let devnets = list["devnets"].as_array().unwrap();
    let names: Vec<_> = devnets
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    for (entry, status) in devnets.iter().zip([&a, &b]) {
        assert_eq!(entry["state"], "ready");
        assert_eq!(entry["pid"], status["supervisor"]["pid"]);
        assert_eq!(entry["endpoints"], status["endpoints"]);
        assert!(entry["age_secs"].as_u64().is_some());
    }

    // A second `up` of the same name is refused; the other keeps running.
    let again = named(&bin, &root, "a", &["up", "--detach"]);
    assert_eq!(again.status.code(), Some(3));

    // Events: recorded so far, and a follower until `down`.
    let recorded = named(&bin, &root, "a", &["events"]);
    assert_eq!(event_kinds(&recorded)[..2], ["started", "ready"]);
    let follow_out = tmp.path().join("follow.out");
    let follower = Command::new(&bin)
        .arg("--root")
        .arg(&root)
        .args(["--name", "a", "events", "--follow"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&follow_out).unwrap())
        .spawn()
        .unwrap();
    let follower = std::cell::RefCell::new(follower);

    // A rolling restart of a's sequencer with another binary; its L1 keeps running.
    let marker = tmp.path().join("upgraded");
    let wrapper = tmp.path().join("sequencer-v2");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ntouch '{}'\nexec '{}' sequencer \"$@\"\n",
            marker.display(),
            bin.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let replaced = ok(&named(
        &bin,
        &root,
        "a",
        &[
            "sequencer",
            "restart",
            "--binary",
            wrapper.to_str().unwrap(),
        ],
    ));
    assert_eq!(replaced["replaced"], true);
    assert!(marker.exists(), "the new binary ran");
    let after = ok(&named(&bin, &root, "a", &["status"]));
    assert_eq!(pid_of(&after, "anvil"), pid_of(&a, "anvil"), "L1 untouched");
    assert_ne!(pid_of(&after, "sequencer"), pid_of(&a, "sequencer"));
    assert!(!is_running(pid_of(&a, "sequencer")));
    assert_eq!(after["endpoints"], a["endpoints"]);
    let point = get_json(
        a["endpoints"]["sequencer"].as_str().unwrap(),
        "/finalized_state/inclusion_block",
    )
    .await;
    assert_eq!(point["inclusion_block"], 0);

    // b's sequencer crashes: exited by a signal, restarted after a backoff.
    let crashed = pid_of(&b, "sequencer");
    devnet_stack::process::signal_group(crashed, Signal::KILL);
    let b_events = poll(
        "b's sequencer to be restarted",
        Duration::from_secs(60),
        || async {
            let output = named(&bin, &root, "b", &["events"]);
            let kinds = event_kinds(&output);
            kinds.contains(&"restarted".to_owned()).then_some(output)
        },
        || async {},
    )
    .await;
    let events: Vec<Value> = String::from_utf8_lossy(&b_events.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let exited = events.iter().find(|e| e["kind"] == "child_exited").unwrap();
    assert_eq!(exited["component"], "sequencer");
    assert_eq!(exited["signal"], 9);
    let scheduled = events
        .iter()
        .find(|e| e["kind"] == "restart_scheduled")
        .unwrap();
    assert!(scheduled["delay_ms"].as_u64().unwrap() > 0);
    assert_eq!(scheduled["attempt"], 1);
    // a saw none of it.
    assert!(
        !event_kinds(&named(&bin, &root, "a", &["events"])).contains(&"child_exited".to_owned())
    );

    let logs = named(&bin, &root, "b", &["logs", "sequencer", "--tail", "5"]);
    assert_eq!(logs.status.code(), Some(0));
    let lines = String::from_utf8_lossy(&logs.stdout).lines().count();
    assert!((1..=5).contains(&lines), "{lines} lines");
    let exports = named(&bin, &root, "b", &["env", "--format", "json"]);
    let exports = ok(&exports);
    assert_eq!(
        exports["CARTESI_WATCHDOG_STATE_DIR"],
        std::path::absolute(dir_b.join("watchdog"))
            .unwrap()
            .display()
            .to_string()
    );

    // Down, twice each; the follower sees the end of a's run and exits.
    let run_ids: Vec<String> = [&a, &b]
        .iter()
        .map(|s| s["run_id"].as_str().unwrap().to_owned())
        .collect();
    let down = ok(&named(&bin, &root, "a", &["down"]));
    assert_eq!(down["stopped"], true);
    assert_eq!(down["orphans"], serde_json::json!([]));
    let followed = poll(
        "the follower to exit",
        Duration::from_secs(15),
        || async { follower.borrow_mut().try_wait().unwrap() },
        || async {},
    )
    .await;
    assert!(followed.success());
    let streamed = std::fs::read_to_string(&follow_out).unwrap();
    let streamed: Vec<String> = streamed
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(streamed[..2], ["started", "ready"]);
    assert!(
        streamed.contains(&"sequencer_replaced".to_owned()),
        "{streamed:?}"
    );
    assert_eq!(streamed[streamed.len() - 2..], ["stopping", "stopped"]);
    // b runs on while a is gone.
    assert_eq!(named(&bin, &root, "b", &["status"]).status.code(), Some(0));
    ok(&named(&bin, &root, "b", &["down"]));
    for name in ["a", "b"] {
        let again = ok(&named(&bin, &root, name, &["down"]));
        assert_eq!(again["stopped"], false, "down is idempotent");
    }

    // The orphan audit.
    for pid in [supervisor_a, supervisor_b] {
        assert!(!is_running(pid), "supervisor {pid} survived");
    }
    let children = [
        pid_of(&after, "anvil"),
        pid_of(&after, "sequencer"),
        pid_of(&b, "anvil"),
    ];
    for pid in children {
        assert!(!is_running(pid) && !group_exists(pid), "{pid} survived");
    }
    for run_id in &run_ids {
        assert!(pids_with_run_id(run_id).is_empty());
    }
    for dir in [&dir_a, &dir_b] {
        assert!(pids_with_state_dir(&std::path::absolute(dir).unwrap()).is_empty());
        assert!(!dir.join("control.sock").exists());
        assert!(!dir.join("supervisor.pid").exists());
    }
    let list = ok(&named(&bin, &root, "default", &["list"]));
    let states: Vec<_> = list["devnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["absent", "absent"]);
    // The recorded events outlive the run.
    let last = event_kinds(&named(&bin, &root, "b", &["events"]));
    assert_eq!(last.last().map(String::as_str), Some("stopped"));
}

#[tokio::test]
async fn a_detached_devnet_that_cannot_start_says_why_and_leaves_nothing() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = lone_devnet(tmp.path());
    let root = tmp.path().join("devnets");
    let failed = named(
        &bin,
        &root,
        "broken",
        &["up", "--detach", "--anvil", "/nonexistent/anvil"],
    );
    assert_eq!(failed.status.code(), Some(3), "{failed:?}");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("before the devnet was ready"), "{stderr}");
    assert!(stderr.contains("/nonexistent/anvil"), "{stderr}");
    let dir = std::path::absolute(root.join("broken")).unwrap();
    assert!(pids_with_state_dir(&dir).is_empty());
    assert!(!dir.join("supervisor.pid").exists());
    assert!(!dir.join("control.sock").exists());
    let status = named(&bin, &root, "broken", &["status"]);
    assert_eq!(json_line(&status)["state"], "failed");
    let events = event_kinds(&named(&bin, &root, "broken", &["events"]));
    assert_eq!(events, ["started", "failed", "stopped"]);
    ok(&named(&bin, &root, "broken", &["down"]));
    let bad = named(&bin, &root, "../escape", &["status"]);
    assert_eq!(bad.status.code(), Some(2), "a bad name is a usage error");
}

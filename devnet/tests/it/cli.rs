//! The real `devnet` binary: `up` in the background, `status` until ready, `env`, a second `up`
//! refused, `down`, and nothing left running. The binary runs alone in a directory (a hard link),
//! as after `cargo run -p devnet -- up`, so its sequencer child is `devnet sequencer`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use devnet_pins::addresses;
use serde_json::Value;

use crate::http::{get_json, poll};

/// The `devnet` binary of this build.
const DEVNET_BIN: &str = env!("CARGO_BIN_EXE_devnet");

/// `devnet` alone in `dir` (no `devnet-sequencer` next to it).
pub(crate) fn lone_devnet(dir: &Path) -> PathBuf {
    let bin = dir.join("devnet");
    if std::fs::hard_link(DEVNET_BIN, &bin).is_err() {
        std::fs::copy(DEVNET_BIN, &bin).unwrap();
    }
    bin
}

fn devnet(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .arg("--state-dir")
        .arg(dir)
        .env("DEVNET_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn json_line(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

#[tokio::test]
async fn up_status_env_down_leave_nothing_running() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = lone_devnet(tmp.path());
    let dir = tmp.path().join("state");
    let stdout = std::fs::File::create(tmp.path().join("up.out")).unwrap();
    let stderr = std::fs::File::create(tmp.path().join("up.err")).unwrap();
    let up = Command::new(&bin)
        .args(["up", "--state-dir"])
        .arg(&dir)
        .env("DEVNET_LOG", "info")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let up_pid = up.id();
    let up = std::cell::RefCell::new(up);

    let status = poll(
        "`devnet status` to report ready",
        Duration::from_secs(60),
        || async {
            let output = devnet(&bin, &dir, &["status"]);
            assert!(
                up.borrow_mut().try_wait().unwrap().is_none(),
                "`devnet up` exited: {}",
                std::fs::read_to_string(tmp.path().join("up.err")).unwrap()
            );
            (output.status.code() == Some(0)).then(|| json_line(&output))
        },
        || async {},
    )
    .await;
    assert_eq!(status["state"], "ready");
    assert_eq!(status["running"], true);
    assert_eq!(status["supervisor"]["pid"], up_pid);
    assert_eq!(status["components"]["anvil"]["alive"], true);
    assert_eq!(status["components"]["sequencer"]["alive"], true);
    assert_eq!(
        status["addresses"]["application"],
        addresses::APPLICATION.to_checksum(None)
    );
    let run_id = status["run_id"].as_str().unwrap().to_owned();
    let pids: Vec<u32> = ["anvil", "sequencer"]
        .iter()
        .map(|c| status["components"][c]["process"]["pid"].as_u64().unwrap() as u32)
        .collect();
    assert!(pids.iter().all(|&p| devnet_stack::process::is_running(p)));
    let argv = std::fs::read(format!("/proc/{}/cmdline", pids[1])).unwrap();
    let argv: Vec<&[u8]> = argv.split(|&b| b == 0).take(2).collect();
    assert_eq!(argv, [bin.as_os_str().as_encoded_bytes(), b"sequencer"]);

    let env = devnet(&bin, &dir, &["env"]);
    assert_eq!(env.status.code(), Some(0));
    let exports: BTreeMap<String, String> = String::from_utf8(env.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, value) = line
                .strip_prefix("export ")
                .unwrap()
                .split_once('=')
                .unwrap();
            (name.to_owned(), value.trim_matches('\'').to_owned())
        })
        .collect();
    let absolute = std::path::absolute(&dir).unwrap();
    assert_eq!(exports["CARTESI_WATCHDOG_BLOCKCHAIN_ID"], "31337");
    assert_eq!(
        exports["CARTESI_WATCHDOG_APP_ADDRESS"],
        addresses::APPLICATION.to_checksum(None)
    );
    assert_eq!(
        exports["CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS"],
        addresses::INPUT_BOX.to_checksum(None)
    );
    assert_eq!(
        exports["CARTESI_WATCHDOG_STATE_DIR"],
        absolute.join("watchdog").display().to_string()
    );
    assert_eq!(
        exports["CARTESI_WATCHDOG_CM_SNAPSHOT_DIR"],
        "genesis:devnet"
    );
    assert_eq!(exports["CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK"], "0");
    assert_eq!(exports["CARTESI_WATCHDOG_MACHINE_BACKEND"], "native");
    assert_eq!(
        exports["CARTESI_WATCHDOG_SEQUENCER_URL"],
        status["endpoints"]["sequencer"]
    );
    assert_eq!(
        exports["CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT"],
        status["endpoints"]["l1_rpc"]
    );
    assert!(!exports.contains_key("DEVNET_RUN_ID"));
    // The exported sequencer URL (a front) answers.
    let point = get_json(
        &exports["CARTESI_WATCHDOG_SEQUENCER_URL"],
        "/finalized_state/inclusion_block",
    )
    .await;
    assert_eq!(point["inclusion_block"], 0);
    let as_json = json_line(&devnet(&bin, &dir, &["env", "--format", "json"]));
    assert_eq!(as_json["CARTESI_WATCHDOG_BLOCKCHAIN_ID"], "31337");

    let second = devnet(&bin, &dir, &["up"]);
    assert_eq!(
        second.status.code(),
        Some(3),
        "a second `up` on the same dir is refused"
    );

    let down = devnet(&bin, &dir, &["down"]);
    assert_eq!(
        down.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let report = json_line(&down);
    assert_eq!(report["stopped"], true);
    assert_eq!(report["orphans"], serde_json::json!([]));
    let exit = poll(
        "`devnet up` to exit",
        Duration::from_secs(15),
        || async { up.borrow_mut().try_wait().unwrap() },
        || async {},
    )
    .await;
    assert!(exit.success(), "{exit}");
    let printed = std::fs::read_to_string(tmp.path().join("up.out")).unwrap();
    let lines: Vec<Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert_eq!(lines[0]["state"], "ready");
    assert_eq!(lines[1]["outcome"], "stopped");

    assert!(
        pids.iter().all(|&p| !devnet_stack::process::is_running(p)),
        "children survived"
    );
    assert!(
        pids.iter()
            .all(|&p| !devnet_stack::process::group_exists(p))
    );
    assert!(devnet_stack::process::pids_with_run_id(&run_id).is_empty());
    assert!(!dir.join("devnet.json").exists());
    assert!(!dir.join("sequencer-data").exists());

    let status = devnet(&bin, &dir, &["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(json_line(&status)["state"], "absent");
    assert_eq!(
        devnet(&bin, &dir, &["down"]).status.code(),
        Some(0),
        "down is idempotent"
    );
    assert_eq!(devnet(&bin, &dir, &["env"]).status.code(), Some(3));
}

/// The README's `cargo run --release -p devnet -- demo` needs one binary to run: the package
/// has more than one (`devnet` and `fault-proxy`), so its manifest must name `devnet` the default.
#[test]
fn cargo_run_of_the_package_runs_the_devnet_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bins = std::fs::read_dir(dir.join("src/bin"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "rs"))
        })
        .count();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let default_run = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("default-run"))
        .map(|rest| rest.trim_start_matches([' ', '=']).trim().trim_matches('"'));
    assert!(
        bins < 2 || default_run == Some("devnet"),
        "{bins} binaries in devnet/src/bin and default-run {default_run:?}: `cargo run -p devnet` \
         would not know which to run"
    );
}

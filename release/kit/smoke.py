"""`release/image-test`'s checks: the locally built image, run as operators run it, against a
devnet on the host network.

The image: it runs as a non-root user; `--version` prints what the host binary prints, and
`/opt/watchdog/RELEASE.json` and the OCI labels say the same; it has the emulator exactly when
RELEASE.json says so; its size is reported. A volume: `status` before anything exists exits 1
`operator`. With `devnet up` running: `init`, then `tick` agrees (0); a tick parked in a stalled
sequencer poll holds the lock while a second container's tick on the same volume exits 1
`lock_busy` and writes nothing, then the first agrees; a tampered sequencer state makes the next
tick exit 2 with exactly one `watchdog_event` line; every file in the volume belongs to the
image's user and nobody else may write it.

Each check prints `ok` or `FAIL`; the last line is `N passed, N failed`; the exit code is 1 if
anything failed. The devnet, the containers and the volume go on every way out.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .container import EVENT_PREFIX, STATE_DIR, VOLUME_ROOT, Docker, Run, SmokeError
from .devnet import Devnet, deadline_poll

# The name prefix of this test's containers and volumes.
FAMILY = "watchdog-smoke"
# What a tick may write; a tick that finds the lock busy must leave them as they were.
TICK_FILES = ("head.json", "last_tick.json", "status.prom")


@dataclass
class Checks:
    """Counts and prints check results."""

    passed: int = 0
    failed: int = 0

    def that(self, name: str, ok: bool, detail: object = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok    {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {name}: {detail}", flush=True)
        return ok

    def outcome(self, name: str, run: Run, code: int, outcome: str, reason: str | None = None):
        """`run` exited `code` with summary `outcome` (and `reason`, when given)."""
        summary = run.summary
        ok = run.code == code and summary.get("outcome") == outcome
        return self.that(name, ok and reason in (None, summary.get("reason")), run.brief())


def lock_held(path: Path) -> bool:
    """Whether some process holds a lock on `path` (a read-only probe: /proc/locks)."""
    info = path.stat()
    needle = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino} "
    return any(needle in line for line in Path("/proc/locks").read_text().splitlines())


def image_checks(checks: Checks, docker: Docker, host_binary: Path) -> None:
    """The user, the release info in its three places, the emulator, the size."""
    image = docker.inspect("image", docker.image)
    labels = image["Config"].get("Labels") or {}
    user = str(image["Config"].get("User") or "")
    uid = user.split(":")[0]
    checks.that("the image runs as a numeric non-root user", uid.isdigit() and uid != "0", user)
    who = docker.offline("-u", entrypoint="id")
    checks.that("a container's process is that user", who.stdout.strip() == uid, who.brief())

    host = subprocess.run(
        [str(host_binary), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    inside = docker.offline("--version")
    checks.that(
        "--version in the container prints the host binary's JSON",
        inside.code == 0 and host.startswith("{") and inside.stdout.strip() == host,
        f"container {inside.stdout.strip()!r}, host {host!r}",
    )
    release_file = docker.offline("/opt/watchdog/RELEASE.json", entrypoint="cat")
    release, binary = json.loads(release_file.stdout), json.loads(host)
    checks.that(
        "RELEASE.json holds the binary's release info",
        release.get("binary") == binary,
        f"{release.get('binary')} != {binary}",
    )
    agreeing = {
        "version": (
            release.get("version"),
            binary.get("version"),
            labels.get("org.opencontainers.image.version"),
        ),
        "git commit": (
            release.get("git_commit"),
            binary.get("git_commit"),
            labels.get("org.opencontainers.image.revision"),
        ),
        "source": (release.get("source"), labels.get("org.opencontainers.image.source")),
        "emulator": (release.get("machine_emulator"), labels.get("io.cartesi.machine-emulator")),
        "emulator version": (
            release.get("cartesi_machine_version"),
            labels.get("io.cartesi.machine-emulator.version"),
        ),
    }
    for what, values in agreeing.items():
        checks.that(
            f"RELEASE.json, --version and the OCI labels agree on the {what}",
            None not in values and len(set(values)) == 1,
            values,
        )
    emulator = release.get("machine_emulator")
    loader = docker.offline("-p", entrypoint="ldconfig")
    checks.that(
        f"the dynamic loader finds libcartesi exactly when RELEASE.json says so ({emulator})",
        loader.code == 0 and ("libcartesi" in loader.stdout) == (emulator == "package"),
        loader.brief(),
    )
    size = int(image.get("Size") or 0)
    print(f"image size: {size / 2**20:.1f} MiB ({docker.image}, emulator: {emulator})", flush=True)


def state_checks(checks: Checks, docker: Docker, devnet: Devnet) -> None:
    """The watchdog's commands in containers sharing one volume, against the devnet."""
    env = devnet.watchdog_env()
    volume = docker.volume()
    empty = docker.watchdog(volume, env, "status", "--state-dir", STATE_DIR)
    checks.that(
        "status on an empty volume exits 1, class operator",
        empty.code == 1 and empty.summary.get("class") == "operator",
        empty.brief(),
    )
    init = docker.watchdog(volume, env, "init")
    checks.outcome("init exits 0 initialized", init, 0, "initialized")
    devnet.new_finalized_state(b"image-test: first batch")
    checks.outcome("tick exits 0 agreed", docker.watchdog(volume, env, "tick"), 0, "agreed")

    mountpoint = Path(docker.inspect("volume", volume)["Mountpoint"])
    state = mountpoint / Path(STATE_DIR).relative_to(VOLUME_ROOT)
    lock_checks(checks, docker, devnet, volume, state)

    devnet.set_faults("tamper-state")
    devnet.new_finalized_state(b"image-test: tampered batch")
    tick = docker.watchdog(volume, env, "tick")
    devnet.set_faults()
    checks.outcome(
        "tick under tamper-state exits 2 state_mismatch", tick, 2, "diverged", "state_mismatch"
    )
    kinds = [json.loads(line[len(EVENT_PREFIX) :]).get("kind") for line in tick.events]
    checks.that(
        "exactly one watchdog_event line on stderr, kind state_mismatch",
        kinds == ["state_mismatch"],
        tick.events,
    )
    ownership_checks(checks, docker, mountpoint)


def lock_checks(checks: Checks, docker: Docker, devnet: Devnet, volume: str, state: Path) -> None:
    """A tick parked in a stalled sequencer poll holds the lock; meanwhile a second container's
    tick on the same volume exits 1 lock_busy and writes nothing."""
    env = devnet.watchdog_env()
    devnet.new_finalized_state(b"image-test: batch under a held lock")
    devnet.set_faults("stall")
    first = docker.spawn_watchdog(volume, env, "tick")
    try:
        deadline_poll(
            "the first tick to take the lock",
            lambda: first.poll() is not None or lock_held(state / "run.lock"),
            timeout=60,
        )
        if first.poll() is not None:
            raise SmokeError(f"the first tick ended (exit {first.poll()}) before the second ran")

        def files() -> list[bytes | None]:
            return [(state / f).read_bytes() if (state / f).exists() else None for f in TICK_FILES]

        before = files()
        second = docker.watchdog(volume, env, "tick")
        after = files()
    finally:
        devnet.set_faults()
    out, err = first.communicate(timeout=300)
    checks.outcome(
        "meanwhile a second container's tick exits 1 lock_busy", second, 1, "failed", "lock_busy"
    )
    checks.that(
        "the busy tick has class operator and no event",
        second.summary.get("class") == "operator" and not second.events,
        second.brief(),
    )
    checks.that("the busy tick wrote nothing", before == after, f"{TICK_FILES} changed")
    first_run = Run(first.returncode, out, err)
    checks.outcome("the first tick then exits 0 agreed", first_run, 0, "agreed")


def ownership_checks(checks: Checks, docker: Docker, mountpoint: Path) -> None:
    """Every entry of the volume belongs to the image's user; none is group/other-writable."""
    user = str(docker.inspect("image", docker.image)["Config"].get("User") or "")
    uid, _, gid = user.partition(":")
    wrong_owner, writable = [], []
    entries = [mountpoint, *mountpoint.rglob("*")]
    for path in entries:
        info = path.lstat()
        name = path.relative_to(mountpoint).as_posix()
        if str(info.st_uid) != uid or (gid and str(info.st_gid) != gid):
            wrong_owner.append(f"{name} {info.st_uid}:{info.st_gid}")
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o022:
            writable.append(f"{name} {stat.filemode(info.st_mode)}")
    checks.that(
        f"all {len(entries)} entries in the volume belong to the image's user {user}",
        len(entries) > len(TICK_FILES) and not wrong_owner,
        wrong_owner[:5],
    )
    checks.that("none of them is group- or other-writable", not writable, writable[:5])


def interrupted(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the devnet, the containers and the volume still go."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release/image-test", description=__doc__)
    parser.add_argument("--docker", required=True, help="the docker client")
    parser.add_argument("--image", required=True)
    parser.add_argument("--host-binary", type=Path, required=True)
    parser.add_argument("--devnet", type=Path, required=True, help="the devnet binary")
    parser.add_argument("--work-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupted)

    checks = Checks()
    docker = Docker(args.docker, args.image, f"{FAMILY}-{os.getpid()}")
    started = time.monotonic()
    try:
        docker.remove_leftovers(FAMILY)
        image_checks(checks, docker, args.host_binary)
        with Devnet(args.devnet, args.work_dir / "devnet") as devnet:
            state_checks(checks, docker, devnet)
    except (SmokeError, subprocess.TimeoutExpired, OSError, LookupError, ValueError) as err:
        checks.that("the smoke test ran to its end", False, f"{type(err).__name__}: {err}")
    except KeyboardInterrupt as err:
        checks.that("the smoke test ran to its end", False, f"interrupted ({err})")
    finally:
        docker.clean_up()
    print(f"image smoke test: {time.monotonic() - started:.0f} s", flush=True)
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed or not checks.passed else 0


if __name__ == "__main__":
    sys.exit(main())

"""deploy/cron: the cron.d line parses, and its `flock -n` really skips an overlapping run.

The line is executed as cron would (`/bin/sh -c`), with its absolute paths redirected into a
temporary directory and a stand-in `sequencer-watchdog` on PATH."""

from __future__ import annotations

import re
import shlex
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from support import DEPLOY, run

CRON = DEPLOY / "cron" / "sequencer-watchdog"
ENV_FILE = DEPLOY / "env" / "wallet.env"
FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")

# The stand-in: records its arguments and environment, says it started, then waits (bounded)
# for the test to release it, and exits 2 so that the exit code is seen to pass through.
FAKE = """#!/bin/sh
echo "$*" >> "$WORK/calls"
echo "$CARTESI_WATCHDOG_BLOCKCHAIN_ID" > "$WORK/chain"
: > "$WORK/started"
i=0
while [ ! -e "$WORK/release" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
exit 2
"""


def jobs() -> list[tuple[list[str], str, str]]:
    """The job lines: (five schedule fields, user, command)."""
    out = []
    for raw in CRON.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 6)
        out.append((fields[:5], fields[5], fields[6]))
    return out


def wait_for(path: Path, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while not path.exists():
        if time.monotonic() > end:
            raise AssertionError(f"{path} did not appear within {deadline_s}s")
        time.sleep(0.02)


class CronLine(unittest.TestCase):
    def test_one_well_formed_line(self):
        [(schedule, user, command)] = jobs()
        for field in schedule:
            self.assertRegex(field, FIELD)
        self.assertEqual(schedule, ["*/5", "*", "*", "*", "*"])
        self.assertEqual(user, "sequencer-watchdog")
        self.assertNotIn("%", command, "cron turns % into a newline")

    def test_flock_guards_a_lock_outside_the_state_directory(self):
        [(_, _, command)] = jobs()
        words = shlex.split(command)
        self.assertEqual(words[:2], ["flock", "-n"])
        lock, inner = words[2], words[5]
        self.assertEqual(words[3:5], ["sh", "-c"])
        state = re.search(r"--state-dir (\S+)", inner).group(1)
        self.assertFalse(lock.startswith(state + "/"), "the watchdog locks inside its state dir")
        self.assertNotEqual(Path(lock).name, "run.lock")
        self.assertIn(". /etc/sequencer-watchdog/wallet.env", inner)
        self.assertIn("exec sequencer-watchdog tick", inner)
        syntax = run(["sh", "-n", "-c", inner])
        self.assertEqual(syntax.returncode, 0, syntax.stderr)

    def test_an_overlapping_run_is_skipped_and_exit_codes_pass_through(self):
        [(_, _, command)] = jobs()
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "bin").mkdir()
            fake = work / "bin" / "sequencer-watchdog"
            fake.write_text(FAKE)
            fake.chmod(0o755)
            (work / "etc").mkdir()
            (work / "etc" / "wallet.env").write_text(ENV_FILE.read_text())
            local = (
                command.replace("/etc/sequencer-watchdog/", f"{work}/etc/")
                .replace("/var/lib/sequencer-watchdog/", f"{work}/lib/")
                .replace("/var/log/sequencer-watchdog/", f"{work}/log/")
            )
            self.assertNotIn("/var/", local)
            (work / "lib").mkdir()
            (work / "log").mkdir()
            env = {"PATH": f"{work}/bin:/usr/bin:/bin", "WORK": str(work)}

            first = subprocess.Popen(["/bin/sh", "-c", local], env=env)
            try:
                wait_for(work / "started")
                second = run(["/bin/sh", "-c", local], env=env, timeout=20)
                self.assertEqual(second.returncode, 1, "flock -n must give up at once")
            finally:
                (work / "release").touch()
                code = first.wait(timeout=60)

            self.assertEqual(code, 2)
            calls = (work / "calls").read_text().splitlines()
            self.assertEqual(calls, [f"tick --state-dir {work}/lib/wallet"])
            self.assertEqual((work / "chain").read_text().strip(), "31337")
            self.assertTrue((work / "log" / "wallet.log").exists())

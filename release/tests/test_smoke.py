"""The pieces of release/image-test that need no Docker engine: reading a watchdog run, the lock
probe, the direct input's calldata, the devnet's teardown."""

from __future__ import annotations

import fcntl
import io
import os
import tempfile
import unittest
import unittest.mock
from contextlib import redirect_stdout
from pathlib import Path

from tree import kit

kit()
from kit.container import Run, SmokeError  # noqa: E402
from kit.devnet import Devnet, add_input_calldata  # noqa: E402
from kit.smoke import Checks, lock_held  # noqa: E402

SUMMARY = '{"schema_version":1,"command":"tick","outcome":"diverged","exit_code":2}'


class Runs(unittest.TestCase):
    def test_summary_is_the_one_json_line(self):
        self.assertEqual(Run(2, SUMMARY + "\n", "").summary["outcome"], "diverged")
        self.assertEqual(Run(2, SUMMARY + "\n" + SUMMARY + "\n", "").summary, {})
        self.assertEqual(Run(1, "not json\n", "").summary, {})
        self.assertEqual(Run(1, "[1]\n", "").summary, {})

    def test_events_are_the_prefixed_stderr_lines(self):
        stderr = 'INFO tick\nwatchdog_event {"kind":"state_mismatch"}\nsee watchdog_event x\n'
        events = Run(2, SUMMARY, stderr).events
        self.assertEqual(events, ['watchdog_event {"kind":"state_mismatch"}'])

    def test_an_outcome_check_needs_code_outcome_and_reason(self):
        run = Run(2, '{"outcome":"diverged","reason":"state_mismatch"}\n', "")
        checks = Checks()
        with redirect_stdout(io.StringIO()) as out:
            checks.outcome("a", run, 2, "diverged", "state_mismatch")
            checks.outcome("b", run, 2, "diverged")
            checks.outcome("c", run, 1, "diverged")
            checks.outcome("d", run, 2, "diverged", "lock_busy")
        self.assertEqual((checks.passed, checks.failed), (2, 2))
        self.assertIn("FAIL  c: exit 2", out.getvalue())


class LockProbe(unittest.TestCase):
    def test_sees_a_held_flock_and_its_release(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "run.lock"
            path.touch()
            self.assertFalse(lock_held(path))
            with path.open("rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.assertTrue(lock_held(path))
                fcntl.flock(handle, fcntl.LOCK_UN)
            self.assertFalse(lock_held(path))


class Calldata(unittest.TestCase):
    def test_add_input_is_abi_encoded(self):
        app = "0xEE72fC427e6A8e8c1Be1B2921DBE9F8E4e20253c"
        data = add_input_calldata(app, b"x" * 33)
        words = [data[10 + i : 10 + i + 64] for i in range(0, len(data) - 10, 64)]
        self.assertEqual(data[:10], "0x1789cd63")
        self.assertEqual(words[0], "0" * 24 + app[2:].lower())
        self.assertEqual(int(words[1], 16), 64)  # the offset of the bytes
        self.assertEqual(int(words[2], 16), 33)  # their length
        self.assertEqual(words[3], "78" * 32)
        self.assertEqual(words[4], "78" + "0" * 62)
        self.assertEqual(len(words), 5)


# A stand-in for the devnet binary: `up` reports $UP_LINE and stays up (recording its pid) until
# a signal, `down` is recorded, `env` prints a JSON object.
FAKE_DEVNET = """#!/bin/sh
shift 2
case "$1" in
    up) echo $$ > "$LOG.up"; echo "$UP_LINE"; exec sleep 600 ;;
    down) echo down >> "$LOG" ;;
    env) echo '{"CARTESI_WATCHDOG_STATE_DIR": "/elsewhere", "DEVNET_L1_RPC_URL": "x"}' ;;
esac
"""


class DevnetLifecycle(unittest.TestCase):
    def run_devnet(self, up_line: str) -> tuple[Path, Exception | None, dict]:
        tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))
        binary = tmp / "devnet"
        binary.write_text(FAKE_DEVNET)
        binary.chmod(0o755)
        log = tmp / "calls"
        fake_env = {"LOG": str(log), "UP_LINE": up_line}
        self.enterContext(unittest.mock.patch.dict(os.environ, fake_env))
        error, env = None, {}
        try:
            with Devnet(binary, tmp / "state" / "devnet") as devnet:
                env = devnet.watchdog_env()
        except SmokeError as err:
            error = err
        return log, error, env

    def assert_torn_down(self, log: Path) -> None:
        self.assertEqual(log.read_text().split(), ["down", "down"])  # before and after
        pid = int(Path(f"{log}.up").read_text())
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)

    def test_a_ready_devnet_is_stopped_and_downed_on_the_way_out(self):
        log, error, env = self.run_devnet('{"state":"ready"}')
        self.assertIsNone(error)
        self.assertEqual(env, {"CARTESI_WATCHDOG_STATE_DIR": "/var/lib/sequencer-watchdog/wallet"})
        self.assert_torn_down(log)

    def test_one_that_never_gets_ready_is_torn_down_too(self):
        log, error, _ = self.run_devnet('{"state":"degraded"}')
        self.assertIn("devnet up", str(error))
        self.assert_torn_down(log)

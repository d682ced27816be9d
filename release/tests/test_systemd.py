"""deploy/systemd and the node_exporter drop-in: systemd itself checks the units, and the
publishing command is run for real."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import tempfile
import unittest
from pathlib import Path

from support import DEPLOY, run, tool

SERVICE = DEPLOY / "systemd" / "sequencer-watchdog@.service"
TIMER = DEPLOY / "systemd" / "sequencer-watchdog@.timer"
DROP_IN = DEPLOY / "node_exporter" / "sequencer-watchdog@.service.d" / "textfile.conf"
BINARY = "/usr/local/bin/sequencer-watchdog"


def unit(path: Path) -> configparser.RawConfigParser:
    """A unit file as sections of settings (the last value of a repeated key wins)."""
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",), interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def systemd_analyze(test: unittest.TestCase) -> str:
    return tool(test, "systemd-analyze")


class Units(unittest.TestCase):
    def staged(self, tmp: str) -> Path:
        """The units, drop-in included, with ExecStart pointed at an executable stand-in (verify
        insists that the binary exists)."""
        stage = Path(tmp)
        fake = stage / "sequencer-watchdog"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
        text = SERVICE.read_text(encoding="utf-8")
        self.assertEqual(text.count(BINARY), 1)
        (stage / SERVICE.name).write_text(text.replace(BINARY, str(fake)))
        shutil.copy(TIMER, stage / TIMER.name)
        drop_in_dir = stage / DROP_IN.parent.name
        drop_in_dir.mkdir()
        shutil.copy(DROP_IN, drop_in_dir / DROP_IN.name)
        return stage

    def test_systemd_analyze_verify_is_clean(self):
        analyze = systemd_analyze(self)
        with tempfile.TemporaryDirectory() as tmp:
            stage = self.staged(tmp)
            result = run(
                [
                    analyze,
                    "verify",
                    "sequencer-watchdog@wallet.service",
                    "sequencer-watchdog@wallet.timer",
                ],
                cwd=stage,
                env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        # Unknown keys and bad values are only warnings to systemd: none is allowed here.
        self.assertEqual(result.stderr.strip(), "")

    def test_verify_notices_a_broken_unit(self):
        analyze = systemd_analyze(self)
        with tempfile.TemporaryDirectory() as tmp:
            stage = self.staged(tmp)
            service = stage / SERVICE.name
            text = service.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict")
            service.write_text(text)
            result = run([analyze, "verify", "sequencer-watchdog@wallet.service"], cwd=stage)
        self.assertIn("ProtectSystm", result.stderr)

    def test_security_exposure_is_at_most_2(self):
        analyze = systemd_analyze(self)
        with tempfile.TemporaryDirectory() as tmp:
            stage = self.staged(tmp)
            result = run(
                [
                    analyze,
                    "security",
                    "--offline=yes",
                    "--threshold=20",
                    "--no-pager",
                    "sequencer-watchdog@wallet.service",
                ],
                cwd=stage,
            )
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr)
        self.assertRegex(
            result.stdout,
            r"Overall exposure level for sequencer-watchdog@wallet\.service: (?:[01]\.\d|2\.0) ",
        )

    def test_the_service_is_a_hardened_oneshot_with_its_own_state_directory(self):
        service = unit(SERVICE)["Service"]
        self.assertEqual(service["Type"], "oneshot")
        self.assertNotIn(service["User"], ("root", "0"))
        self.assertEqual(service["StateDirectory"], "sequencer-watchdog/%i")
        self.assertEqual(service["StateDirectoryMode"], "0700")
        self.assertEqual(service["UMask"], "0077")
        self.assertEqual(
            service["ExecStart"], f"{BINARY} tick --state-dir %S/sequencer-watchdog/%i"
        )
        self.assertEqual(service["EnvironmentFile"], "/etc/sequencer-watchdog/%i.env")
        for key, value in {
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "ProtectHome": "yes",
            "PrivateTmp": "yes",
            "PrivateDevices": "yes",
            "CapabilityBoundingSet": "",
            "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        }.items():
            self.assertEqual(service[key], value, key)
        minutes = int(re.fullmatch(r"(\d+)min", service["TimeoutStartSec"]).group(1))
        self.assertGreater(minutes, 30, "the unit must outlive the watchdog's 30-minute deadline")

    def test_the_timer_runs_the_service_every_five_minutes(self):
        timer = unit(TIMER)
        self.assertEqual(timer["Timer"]["OnCalendar"], "*:0/5")
        self.assertEqual(timer["Install"]["WantedBy"], "timers.target")


class TextfilePublishing(unittest.TestCase):
    """The drop-in's ExecStopPost command, run with systemd's specifiers filled in."""

    def command(self, state_root: Path, collector: Path) -> str:
        line = unit(DROP_IN)["Service"]["ExecStopPost"]
        prefix, _, rest = line.partition("/bin/sh -c ")
        self.assertEqual(prefix, "-+", "failures ignored, full privileges")
        script = rest.strip("'")
        script = script.replace("%S", str(state_root)).replace("%i", "wallet")
        return script.replace("/var/lib/prometheus/node-exporter", str(collector))

    def test_publishes_a_world_readable_copy_atomically(self):
        with tempfile.TemporaryDirectory() as tmp:
            state_root, collector = Path(tmp) / "state", Path(tmp) / "collector"
            (state_root / "sequencer-watchdog" / "wallet").mkdir(parents=True)
            collector.mkdir()
            source = state_root / "sequencer-watchdog" / "wallet" / "status.prom"
            source.write_text("cartesi_watchdog_head_block 1\n")
            source.chmod(0o600)
            result = run(["/bin/sh", "-c", self.command(state_root, collector)])
            self.assertEqual(result.returncode, 0, result.stderr)
            published = collector / "sequencer-watchdog-wallet.prom"
            self.assertEqual(published.read_text(), source.read_text())
            self.assertEqual(published.stat().st_mode & 0o777, 0o644)
            self.assertEqual(sorted(p.name for p in collector.iterdir()), [published.name])

    def test_a_run_without_metrics_publishes_nothing_and_fails_quietly(self):
        with tempfile.TemporaryDirectory() as tmp:
            state_root, collector = Path(tmp) / "state", Path(tmp) / "collector"
            collector.mkdir()
            (collector / "sequencer-watchdog-wallet.prom").write_text("old\n")
            result = run(["/bin/sh", "-c", self.command(state_root, collector)])
            self.assertNotEqual(result.returncode, 0)
            self.assertEqual((collector / "sequencer-watchdog-wallet.prom").read_text(), "old\n")
            self.assertEqual(len(list(collector.iterdir())), 1)

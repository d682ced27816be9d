"""shellcheck on every shell script of the kit, and on the shell snippets the examples embed."""

from __future__ import annotations

import re
import shlex
import unittest

from support import DEPLOY, RELEASE, run, tool

SCRIPTS = (
    RELEASE / "check",
    RELEASE / "tools" / "install",
    RELEASE / "engine.sh",
    RELEASE / "base.sh",
    RELEASE / "image",
    RELEASE / "image-test",
    RELEASE / "devnet-images",
)


def embedded_snippets() -> dict[str, str]:
    """Shell code inside the deploy examples: name -> script."""
    snippets = {}
    cron = (DEPLOY / "cron" / "sequencer-watchdog").read_text(encoding="utf-8")
    line = next(
        raw for raw in cron.splitlines() if raw and not raw.startswith("#") and "flock" in raw
    )
    snippets["cron line"] = shlex.split(line.split(None, 6)[6])[5]
    drop_in = (
        DEPLOY / "node_exporter" / "sequencer-watchdog@.service.d" / "textfile.conf"
    ).read_text()
    post = re.search(r"^ExecStopPost=-\+/bin/sh -c '(.*)'$", drop_in, re.M).group(1)
    snippets["textfile drop-in"] = post.replace("%S", "/var/lib").replace("%i", "wallet")
    return snippets


class Shellcheck(unittest.TestCase):
    def test_release_scripts(self):
        shellcheck = tool(self, "shellcheck")
        result = run([shellcheck, "-x", "-P", "SCRIPTDIR", *map(str, SCRIPTS)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_snippets_in_the_examples(self):
        shellcheck = tool(self, "shellcheck")
        for name, script in embedded_snippets().items():
            with self.subTest(name):
                result = run([shellcheck, "-s", "sh", "-e", "SC1091", "-"], input=script + "\n")
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_shellcheck_is_really_checking(self):
        shellcheck = tool(self, "shellcheck")
        result = run([shellcheck, "-s", "sh", "-"], input="rm -rf $DIR/*\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("SC2086", result.stdout)

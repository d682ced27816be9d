"""docs/operations.md and the README's Deploying section: the sections an operator needs, links
that resolve, and only settings the watchdog really reads."""

from __future__ import annotations

import re
import unittest

from support import DEPLOY, REPO, watchdog_env_names

GUIDE = REPO / "docs" / "operations.md"
README = REPO / "README.md"
SECTIONS = (
    "Install",
    "Configure",
    "First init",
    "Reading status",
    "Incident runbook",
    "Upgrading the emulator",
    "Rotating the RPC URL",
    "Scaling to many applications",
)


def section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise AssertionError(f"no section {title!r}")
    return match.group(1)


class Guide(unittest.TestCase):
    def setUp(self) -> None:
        self.text = GUIDE.read_text(encoding="utf-8")

    def test_has_every_section(self):
        headings = re.findall(r"^## (.+)$", self.text, re.M)
        for title in SECTIONS:
            self.assertIn(title, headings)

    def test_the_runbook_goes_status_replay_clear(self):
        runbook = section(self.text, "Incident runbook")
        steps = [runbook.index(f"sequencer-watchdog {c} ") for c in ("status", "replay", "clear")]
        self.assertEqual(steps, sorted(steps))

    def test_every_deploy_file_is_described(self):
        for path in DEPLOY.rglob("*"):
            if path.is_file():
                with self.subTest(path.name):
                    stem = path.name.split("@")[0] if "@" in path.name else path.name
                    self.assertTrue(stem in self.text, f"{path} is not described in {GUIDE.name}")

    def test_links_resolve(self):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", self.text):
            if "://" in target:
                continue
            with self.subTest(target):
                self.assertTrue((GUIDE.parent / target).resolve().exists(), target)

    def test_every_setting_named_is_one_the_watchdog_reads(self):
        known = watchdog_env_names(self)
        texts = [self.text] + [
            p.read_text(encoding="utf-8") for p in DEPLOY.rglob("*") if p.is_file()
        ]
        named = {n for t in texts for n in re.findall(r"\bCARTESI_WATCHDOG_[A-Z0-9_]+", t)}
        self.assertGreater(len(named), 10)
        self.assertEqual(sorted(named - known), [])


class Readme(unittest.TestCase):
    def test_deploying_points_to_the_guide_and_the_release_pipeline(self):
        deploying = section(README.read_text(encoding="utf-8"), "Deploying")
        self.assertIn("release pipeline", deploying)
        self.assertIn("(docs/operations.md)", deploying)
        for target in re.findall(r"\]\(([^)]+)\)", deploying):
            self.assertTrue((REPO / target).exists(), target)

"""release/manifest: the document it writes, and the releases it refuses to describe."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unittest
from pathlib import Path

from support import RELEASE, run, versions
from tree import Tree

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_binary(target_dir: Path, version: str) -> Path:
    """A stand-in `sequencer-watchdog` whose --version prints release info for `version`."""
    path = target_dir / "release" / "sequencer-watchdog"
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "component": "sequencer-watchdog",
        "version": version,
        "release_tag": f"v{version}",
        "git_commit": COMMIT,
        "libcartesi_api_versions": ["0.21"],
        "machine_backends": ["native", "cartesi"],
    }
    path.write_text(f"#!/bin/sh\necho '{json.dumps(info, separators=(',', ':'))}'\n")
    path.chmod(0o755)
    return path


class Manifest(unittest.TestCase):
    def setUp(self) -> None:
        self.tree = Tree()
        self.out = tempfile.TemporaryDirectory(prefix="release-manifest-")
        self.target = self.tree.path("target")

    def tearDown(self) -> None:
        self.tree.__exit__()
        self.out.cleanup()

    def manifest(self, tag: str, **env: str):
        return run(
            [
                str(RELEASE / "manifest"),
                tag,
                "--root",
                str(self.tree.root),
                "--target-dir",
                str(self.target),
                "--out-dir",
                self.out.name,
                "--git-commit",
                COMMIT,
            ],
            env={**os.environ, **env},
        )

    def written(self, tag: str) -> dict:
        return json.loads((Path(self.out.name) / f"release-manifest-{tag}.json").read_text())

    def test_records_the_binary_pins_and_image_labels(self):
        binary = fake_binary(self.target, "0.1.0")
        result = self.manifest("v0.1.0", SOURCE_DATE_EPOCH="1790000000")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.strip(), str(Path(self.out.name) / "release-manifest-v0.1.0.json")
        )
        doc = self.written("v0.1.0")
        pins = versions()

        self.assertEqual(
            (doc["tag"], doc["version"], doc["git_commit"]), ("v0.1.0", "0.1.0", COMMIT)
        )
        self.assertEqual(doc["created_at"], "2026-09-21T14:13:20Z")
        self.assertEqual(doc["pins"], pins)
        self.assertEqual(
            doc["components"]["cartesi-machine-emulator"], pins["CARTESI_MACHINE_VERSION"]
        )
        self.assertEqual(doc["components"]["libcartesi_api_versions"], ["0.21"])
        self.assertEqual(doc["components"]["anvil"], pins["ANVIL_VERSION"])

        [entry] = doc["binaries"]
        self.assertEqual(entry["sha256"], hashlib.sha256(binary.read_bytes()).hexdigest())
        self.assertEqual(entry["size"], binary.stat().st_size)
        self.assertEqual(entry["release_info"]["version"], "0.1.0")
        self.assertEqual(doc["binaries_missing"], [])

        labels = doc["image"]["labels"]
        self.assertEqual(labels["org.opencontainers.image.title"], "sequencer-watchdog")
        self.assertEqual(labels["org.opencontainers.image.version"], "0.1.0")
        self.assertEqual(labels["org.opencontainers.image.revision"], COMMIT)
        self.assertEqual(
            labels["org.opencontainers.image.source"], "https://example.invalid/sequencer-watchdog"
        )
        self.assertEqual(
            labels["io.cartesi.machine-emulator.version"], pins["CARTESI_MACHINE_VERSION"]
        )
        self.assertEqual(doc["image"]["build_args"]["GIT_COMMIT"], COMMIT)
        self.assertEqual(doc["image"]["platforms"], ["linux/amd64", "linux/arm64"])
        self.assertEqual(os.listdir(self.out.name), ["release-manifest-v0.1.0.json"])

    def test_without_a_built_binary_it_says_so(self):
        result = self.manifest("v0.1.0")
        self.assertEqual(result.returncode, 0, result.stderr)
        doc = self.written("v0.1.0")
        self.assertEqual((doc["binaries"], doc["binaries_missing"]), ([], ["sequencer-watchdog"]))
        self.assertIn("no sequencer-watchdog under", result.stderr)

    def test_a_binary_of_another_version_is_refused(self):
        fake_binary(self.target, "0.0.9")
        result = self.manifest("v0.1.0")
        self.assertEqual(result.returncode, 1)
        self.assertIn("reports version '0.0.9'", result.stderr)
        self.assertEqual(os.listdir(self.out.name), [])

    def test_a_tag_that_is_not_the_workspace_version_is_refused(self):
        result = self.manifest("v0.2.0")
        self.assertEqual(result.returncode, 1)
        self.assertIn("does not match the workspace version", result.stderr)
        self.assertEqual(os.listdir(self.out.name), [])

    def test_a_malformed_tag_is_refused(self):
        result = self.manifest("0.1.0")
        self.assertEqual(result.returncode, 1)
        self.assertIn("is not v<semver>", result.stderr)

    def test_pins_that_disagree_are_refused(self):
        self.tree.replace("devnet/pins/src/lib.rs", 'version: "1.7.1"', 'version: "1.7.0"')
        result = self.manifest("v0.1.0")
        self.assertEqual(result.returncode, 1)
        self.assertIn("release/verify found errors", result.stderr)
        self.assertEqual(os.listdir(self.out.name), [])

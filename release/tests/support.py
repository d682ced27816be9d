"""Shared helpers of the release-kit tests: where things are, and the tools they run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "release"
DEPLOY = REPO / "deploy"
TOOLS = REPO / ".cache" / "tools"

# Set by release/check: a missing tool is then a failure, not a skip.
TOOLS_REQUIRED = os.environ.get("RELEASE_TOOLS_REQUIRED") == "1"


def versions() -> dict[str, str]:
    """release/versions.env as a dict (parsed by the kit itself)."""
    import sys

    sys.path.insert(0, str(RELEASE))
    from kit.versions import load

    return dict(load(RELEASE / "versions.env").values)


def tool(test: unittest.TestCase, name: str) -> str:
    """Path of a checking tool: the pinned install under .cache/tools, else PATH. Skips the test
    (or fails it, under release/check) when the tool is missing."""
    pins = versions()
    candidates = {
        "hadolint": [TOOLS / "release-venv" / "bin" / "hadolint"],
        "kubernetes-validate": [TOOLS / "release-venv" / "bin" / "kubernetes-validate"],
        "promtool": [TOOLS / f"promtool-{pins['PROMETHEUS_DEBIAN_VERSION']}" / "promtool"],
        "shellcheck": [TOOLS / f"shellcheck-{pins['SHELLCHECK_DEBIAN_VERSION']}" / "shellcheck"],
    }.get(name, [])
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (run release/tools/install)"
    if TOOLS_REQUIRED:
        test.fail(message)
    test.skipTest(message)
    raise AssertionError("unreachable")


def yaml_module(test: unittest.TestCase):
    """The PyYAML module, or a skip (a failure under release/check)."""
    try:
        import yaml
    except ImportError:
        if TOOLS_REQUIRED:
            test.fail("PyYAML is missing: run the tests with .cache/tools/release-venv/bin/python")
        test.skipTest("PyYAML is not installed")
    return yaml


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    """Runs a command, capturing text output, never raising on its exit code."""
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


def watchdog_env_names(test: unittest.TestCase) -> set[str]:
    """Every environment variable the watchdog reads (the constants of watchdog/src/env.rs)."""
    path = REPO / "watchdog" / "src" / "env.rs"
    if not path.is_file():
        test.skipTest(f"{path} does not exist")
    text = path.read_text(encoding="utf-8")
    found = re.findall(r'pub const [A-Z0-9_]+: &str = "([A-Z][A-Z0-9_]*)";', text)
    # Constants ending in `_` are prefixes (PREFIX, RETRY_PREFIX, …), not variables.
    names = {name for name in found if not name.endswith("_")}
    test.assertIn("CARTESI_WATCHDOG_STATE_DIR", names, f"no env constants found in {path}")
    return names


def spec_path() -> Path | None:
    """spec/watchdog.md of the shared folder beside the repository, if present."""
    override = os.environ.get("WATCHDOG_SPEC")
    for candidate in filter(
        None,
        [
            Path(override) if override else None,
            REPO.parent / "shared" / "spec" / "watchdog.md",
            Path("/work/shared/spec/watchdog.md"),
        ],
    ):
        if candidate.is_file():
            return candidate
    return None


def spec_metric_families(test: unittest.TestCase) -> dict[str, tuple[str, str, str]]:
    """The status.prom families of the watchdog spec, in order:
    name -> (type, extra label description, HELP text)."""
    path = spec_path()
    if path is None:
        test.skipTest("spec/watchdog.md not found beside the repository (set WATCHDOG_SPEC)")
    text = path.read_text(encoding="utf-8")
    section = text.split("### 8.3 status.prom", 1)[-1].split("\n## ", 1)[0]
    families: dict[str, tuple[str, str, str]] = {}
    for row in re.findall(r"^\| `(cartesi_watchdog_[a-z_]+)` \|(.*)\|\s*$", section, re.M):
        cells = [c.strip() for c in row[1].split("|")]
        families[row[0]] = (cells[0], cells[1], cells[2])
    test.assertTrue(families, f"no metric families found in {path}")
    return families


def exported_metric_families(test: unittest.TestCase) -> set[str]:
    """The status.prom families the binary writes, read from its renderer
    (watchdog/src/state/prom.rs): the spec's, plus the finality series and the reference
    watchdog's names."""
    text = (REPO / "watchdog" / "src" / "state" / "prom.rs").read_text(encoding="utf-8")
    names = set(re.findall(r'"(cartesi_watchdog_[a-z_]+)"', text))
    test.assertIn("cartesi_watchdog_status", names, "no metric families found in prom.rs")
    return names

"""A throw-away copy of the parts of the repository that release/verify and release/manifest
read, for tests that break one thing and watch the check notice."""

from __future__ import annotations

import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from support import REPO

# Files copied verbatim (when they exist).
FILES = (
    "Cargo.toml",
    "Cargo.lock",
    "Dockerfile",
    ".dockerignore",
    "README.md",
    "docs/operations.md",
    "release/versions.env",
    "release/tools/requirements.txt",
    "devnet/pins/src/lib.rs",
    "watchdog/src/release.rs",
)


class Tree:
    """A temporary tree; use as a context manager."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="release-tree-")
        self.root = Path(self._dir.name)
        for name in FILES:
            source = REPO / name
            if source.exists():
                target = self.root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        with (REPO / "Cargo.toml").open("rb") as handle:
            members = tomllib.load(handle)["workspace"]["members"]
        for member in members:
            target = self.root / member / "Cargo.toml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / member / "Cargo.toml", target)

    def __enter__(self) -> "Tree":
        return self

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()

    def path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        self.path(name).parent.mkdir(parents=True, exist_ok=True)
        self.path(name).write_text(text, encoding="utf-8")

    def replace(self, name: str, old: str, new: str, count: int = 1) -> None:
        """Replaces text in a file, failing loudly if the text is not there."""
        text = self.read(name)
        if old not in text:
            raise AssertionError(f"{old!r} not found in {name}")
        self.write(name, text.replace(old, new, count))


def kit():
    """The release kit package (release/kit), importable from the tests."""
    release = str(REPO / "release")
    if release not in sys.path:
        sys.path.insert(0, release)
    import kit as package

    return package

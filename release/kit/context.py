"""The Docker build context: which paths `.dockerignore` lets through.

Follows Docker's rules: patterns are matched against slash-separated paths relative to the
context root, after cleaning (no leading or trailing `/`); `*` and `?` never cross a `/`, `**`
matches any number of directories; a pattern that matches a directory also matches everything
inside it; `!` re-includes; the last matching pattern wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Pattern:
    """One `.dockerignore` line."""

    text: str
    regex: re.Pattern[str]
    exclude: bool
    line: int


def _translate(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def _clean(path: str) -> str:
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    return "/".join(parts)


class Context:
    """The patterns of one `.dockerignore` (none if the file does not exist)."""

    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns

    @classmethod
    def load(cls, path: Path) -> "Context":
        """Reads `.dockerignore`; a missing file means everything is in the context."""
        if not path.exists():
            return cls([])
        patterns = []
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            exclude = not text.startswith("!")
            cleaned = _clean(text if exclude else text[1:])
            patterns.append(Pattern(text, _translate(cleaned), exclude, number))
        return cls(patterns)

    def includes(self, path: str) -> bool:
        """True if `path` (relative to the context root) is sent to the builder."""
        cleaned = _clean(path)
        parts = cleaned.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for pattern in self.patterns:
            if any(pattern.regex.match(c) for c in candidates):
                excluded = pattern.exclude
        return not excluded

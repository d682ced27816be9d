#!/usr/bin/env python3
"""Runs the release-kit tests (release/tests/test_*.py) and ends with one line
`N passed, N failed, N skipped`. Exit 0 only if nothing failed.

    .cache/tools/release-venv/bin/python release/tests/run.py [-v] [name filters…]
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


class CountingResult(unittest.TextTestResult):
    """Counts passes as well as failures and skips."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.passed += 1


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
    verbosity = 2 if "-v" in argv else 1
    filters = [a for a in argv if not a.startswith("-")]
    sys.path.insert(0, str(HERE))
    suite = unittest.defaultTestLoader.discover(
        str(HERE), pattern="test_*.py", top_level_dir=str(HERE)
    )
    if filters:
        selected = unittest.TestSuite()
        stack = [suite]
        while stack:
            for item in stack.pop():
                if isinstance(item, unittest.TestSuite):
                    stack.append(item)
                elif any(f in item.id() for f in filters):
                    selected.addTest(item)
        suite = selected
    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=CountingResult)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"{result.passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

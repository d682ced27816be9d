"""Release tooling of sequencer-watchdog: version pins, Dockerfile checks, release manifests.

The entry points are the scripts `release/verify` and `release/manifest`; this package holds
their logic so that the tests in `release/tests/` can call it directly. Standard library only.
"""

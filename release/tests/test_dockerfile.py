"""The Dockerfile: hadolint finds nothing, and its shell steps do what they claim.

No Docker engine runs here, so the steps that matter are executed directly in bash with the
image's absolute paths redirected into a temporary directory."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unittest
from pathlib import Path

from support import REPO, run, tool, versions
from tree import kit

kit()
from kit import dockerfile as df  # noqa: E402

DOCKERFILE = REPO / "Dockerfile"


def parsed() -> df.Dockerfile:
    return df.parse(DOCKERFILE.read_text(encoding="utf-8"))


def arg_values(stage: df.Stage, dockerfile: df.Dockerfile) -> dict[str, str]:
    """The values the stage's ARGs take when the build passes none."""
    values = {k: v for k, v in dockerfile.global_args.items() if v is not None}
    for instruction in stage.instructions:
        if instruction.keyword == "ARG":
            name, default = df.split_arg(instruction.args)
            if default is not None:
                values[name] = default
    return values


def run_step(command: str, env: dict[str, str], replacements: dict[str, str]):
    # A RUN's own flags (`--mount=…`) come before its shell command.
    while command.startswith("--"):
        command = command.split(None, 1)[1]
    for old, new in replacements.items():
        command = command.replace(old, new)
    return run(["bash", "-o", "pipefail", "-c", command], env={"PATH": os.environ["PATH"], **env})


class Lint(unittest.TestCase):
    def test_hadolint_finds_nothing(self):
        hadolint = tool(self, "hadolint")
        result = run([hadolint, "--no-color", str(DOCKERFILE)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout.strip(), "")

    def test_hadolint_is_really_checking(self):
        hadolint = tool(self, "hadolint")
        text = DOCKERFILE.read_text(encoding="utf-8").replace("# hadolint ignore=DL3008\n", "")
        result = run([hadolint, "--no-color", "-"], input=text)
        self.assertEqual(result.returncode, 1)
        self.assertIn("DL3008", result.stdout)


class Steps(unittest.TestCase):
    def test_release_json_holds_the_binary_info_and_the_pins(self):
        dockerfile = parsed()
        runtime = dockerfile.stage("runtime")
        step = next(i for i in runtime.instructions if "RELEASE.json" in i.args)
        values = arg_values(runtime, dockerfile)
        info = {"component": "sequencer-watchdog", "version": "0.1.0", "git_commit": "unknown"}
        with tempfile.TemporaryDirectory() as tmp:
            fake = Path(tmp) / "sequencer-watchdog"
            fake.write_text(f"#!/bin/sh\necho '{json.dumps(info, separators=(',', ':'))}'\n")
            fake.chmod(0o755)
            result = run_step(
                step.args,
                {**values, "TARGETARCH": "arm64"},
                {"/usr/local/bin/sequencer-watchdog": str(fake), "/opt/watchdog": f"{tmp}/opt"},
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            release = Path(tmp) / "opt" / "RELEASE.json"
            self.assertEqual(release.stat().st_mode & 0o777, 0o444)
            doc = json.loads(release.read_text())
        pins = versions()
        self.assertEqual(doc["binary"], info)
        self.assertEqual(doc["cartesi_machine_version"], pins["CARTESI_MACHINE_VERSION"])
        self.assertEqual(doc["rust_version"], pins["RUST_VERSION"])
        self.assertEqual(doc["debian_suite"], pins["DEBIAN_SUITE"])
        self.assertEqual(doc["target_arch"], "arm64")
        self.assertEqual(doc["version"], "0.1.0")
        self.assertEqual(doc["machine_emulator"], "package")

    def test_release_json_step_fails_when_the_binary_reports_nothing(self):
        dockerfile = parsed()
        runtime = dockerfile.stage("runtime")
        step = next(i for i in runtime.instructions if "RELEASE.json" in i.args)
        with tempfile.TemporaryDirectory() as tmp:
            result = run_step(
                step.args,
                arg_values(runtime, dockerfile),
                {"/usr/local/bin/sequencer-watchdog": "true", "/opt/watchdog": f"{tmp}/opt"},
            )
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("printed no release info", result.stderr)
            self.assertFalse((Path(tmp) / "opt" / "RELEASE.json").exists())

    def emulator_step(self) -> tuple[df.Instruction, dict[str, str]]:
        dockerfile = parsed()
        stage = dockerfile.stage("emulator-package")
        step = next(i for i in stage.instructions if "sha256sum --check" in i.args)
        return step, arg_values(stage, dockerfile)

    def fake_download(self, tmp: str, content: bytes) -> dict[str, str]:
        """Replaces curl by a stand-in that writes `content` where curl would."""
        bin_dir = Path(tmp) / "bin"
        bin_dir.mkdir()
        payload = Path(tmp) / "payload"
        payload.write_bytes(content)
        curl = bin_dir / "curl"
        curl.write_text(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do\n"
            '  if [ "$1" = --output ]; then cp "$PAYLOAD" "$2"; fi\n'
            '  last="$1"; shift\ndone\necho "$last" > "$PAYLOAD.url"\n'
        )
        curl.chmod(0o755)
        return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PAYLOAD": str(payload)}

    def test_emulator_package_must_match_its_pin(self):
        step, values = self.emulator_step()
        content = b"a package that is not the pinned one"
        with tempfile.TemporaryDirectory() as tmp:
            env = self.fake_download(tmp, content)
            replacements = {"/package": f"{tmp}/package"}
            # The pinned hash does not match this content: the step fails.
            result = run_step(step.args, {**values, **env, "TARGETARCH": "amd64"}, replacements)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("FAILED", result.stdout + result.stderr)
            url = Path(env["PAYLOAD"] + ".url").read_text().strip()
            pins = versions()
            self.assertEqual(
                url,
                "https://github.com/cartesi/machine-emulator/releases/download/"
                f"v{pins['CARTESI_MACHINE_VERSION']}/machine-emulator_amd64.deb",
            )
            # The same content with its own hash as the arm64 pin passes for arm64.
            digest = hashlib.sha256(content).hexdigest()
            ok = run_step(
                step.args,
                {
                    **values,
                    **env,
                    "TARGETARCH": "arm64",
                    "CARTESI_MACHINE_DEB_SHA256_ARM64": digest,
                },
                replacements,
            )
            self.assertEqual(ok.returncode, 0, ok.stderr)

    def test_emulator_package_refuses_unpinned_architectures(self):
        step, values = self.emulator_step()
        with tempfile.TemporaryDirectory() as tmp:
            env = self.fake_download(tmp, b"x")
            result = run_step(
                step.args,
                {**values, **env, "TARGETARCH": "riscv64"},
                {"/package": f"{tmp}/package"},
            )
            self.assertEqual(result.returncode, 1)
            self.assertIn("unsupported TARGETARCH 'riscv64'", result.stderr)


class RuntimePackages(unittest.TestCase):
    """The runtime stage's package step installs the emulator exactly when MACHINE_EMULATOR is
    `package`, and refuses an image whose libcartesi presence disagrees with it."""

    def run_install(self, emulator: str, ldconfig_lists: str):
        dockerfile = parsed()
        runtime = dockerfile.stage("runtime")
        step = next(i for i in runtime.instructions if "apt-get install" in i.args)
        values = {**arg_values(runtime, dockerfile), "MACHINE_EMULATOR": emulator}
        with tempfile.TemporaryDirectory() as tmp:
            bin_dir = Path(tmp) / "bin"
            bin_dir.mkdir()
            (bin_dir / "apt-get").write_text('#!/bin/sh\necho "$*" >> "$APT_LOG"\n')
            (bin_dir / "ldconfig").write_text(f"#!/bin/sh\nprintf '%s' '{ldconfig_lists}'\n")
            for tool in bin_dir.iterdir():
                tool.chmod(0o755)
            log = Path(tmp) / "apt.log"
            env = {**values, "PATH": f"{bin_dir}:{os.environ['PATH']}", "APT_LOG": str(log)}
            result = run_step(step.args, env, {"/var/lib/apt/lists": f"{tmp}/lists"})
            calls = log.read_text().splitlines() if log.exists() else []
        return result, calls

    def test_package_installs_the_mounted_emulator_package(self):
        libcartesi = "\tlibcartesi-0.21.so (libc6,x86-64) => /usr/lib/libcartesi-0.21.so\n"
        result, calls = self.run_install("package", libcartesi)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            calls[-1],
            "install -y --no-install-recommends ca-certificates /package/machine-emulator.deb",
        )

    def test_none_installs_only_the_certificates(self):
        result, calls = self.run_install("none", "")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(calls, ["update", "install -y --no-install-recommends ca-certificates"])

    def test_libcartesi_must_match_the_choice(self):
        for emulator, listed, found in (
            ("package", "", "none"),
            ("none", "\tlibcartesi.so => /usr/lib/libcartesi.so\n", "package"),
        ):
            with self.subTest(emulator):
                result, _ = self.run_install(emulator, listed)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(
                    f"MACHINE_EMULATOR={emulator}, but the image has emulator: {found}",
                    result.stderr,
                )

